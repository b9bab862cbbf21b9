// trtbench's C entry points over MLPerf LoadGen (feature `mlperf`): a system under test
// and a query sample library whose work is done by C callbacks, TestSettings built from a
// flat struct (LoadGen's mlperf.conf, an optional mlperf.conf / user.conf, then explicit
// overrides), and the completion calls. Our own code; LoadGen itself is compiled from the
// pinned sources scripts/loadgen-src.sh fetches. Plain C types only cross this header.
#ifndef TRTBENCH_LOADGEN_SHIM_H
#define TRTBENCH_LOADGEN_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uintptr_t id;
  size_t index;
} tb_lg_sample;

// Called on LoadGen's issue thread with the samples of one query; must return quickly.
typedef void (*tb_lg_issue_fn)(void* ctx, const tb_lg_sample* samples, size_t n);
typedef void (*tb_lg_flush_fn)(void* ctx);

// scenario: 0 SingleStream, 1 MultiStream, 2 Server, 3 Offline.
// mode: 0 performance only, 1 accuracy only.
// Overrides: a negative value leaves what the configuration files set.
typedef struct {
  int scenario;
  int mode;
  const char* model;        // the model name mlperf.conf / user.conf keys are looked up under
  const char* mlperf_conf;  // NULL: LoadGen's built-in mlperf.conf only
  const char* user_conf;    // NULL: none
  const char* outdir;       // where LoadGen writes mlperf_log_*
  size_t total_sample_count;
  size_t performance_sample_count;
  double min_duration_ms;
  double max_duration_ms;
  double min_query_count;
  double max_query_count;
  double target_qps;         // Server: target QPS; Offline: expected QPS
  double target_latency_ms;  // SingleStream / MultiStream: expected latency; Server: target latency
  double ttft_ms;            // Server TTFT constraint (token latencies)
  double tpot_ms;            // Server TPOT constraint (token latencies)
  double samples_per_query;  // MultiStream
  int use_token_latencies;   // 1: on before the config files (they may turn it off); 0: off after them
} tb_lg_config;

// Runs one LoadGen test; blocks until LoadGen has finished and written its logs.
// Returns 0, or -1 with a message in err (a configuration file that does not parse).
int tb_lg_run(const tb_lg_config* cfg, void* ctx, tb_lg_issue_fn issue, tb_lg_flush_fn flush,
              char* err, size_t err_len);

// The first token of sample `id` (FirstTokenComplete); LoadGen copies `data`.
void tb_lg_first_token(uintptr_t id, const uint8_t* data, size_t size);

// Sample `id` done with `n_tokens` output tokens (QuerySamplesComplete); LoadGen copies
// `data` (logged in accuracy mode).
void tb_lg_complete(uintptr_t id, const uint8_t* data, size_t size, int64_t n_tokens);

#ifdef __cplusplus
}
#endif

#endif
