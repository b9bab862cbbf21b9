// See loadgen_shim.h. The SUT and QSL forward to C callbacks; every exception stops at
// tb_lg_run's boundary.
#include "loadgen_shim.h"

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "loadgen.h"
#include "query_sample_library.h"
#include "system_under_test.h"
#include "test_settings.h"

namespace {

class CallbackSut : public mlperf::SystemUnderTest {
 public:
  CallbackSut(void* ctx, tb_lg_issue_fn issue, tb_lg_flush_fn flush)
      : ctx_(ctx), issue_(issue), flush_(flush) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    std::vector<tb_lg_sample> out(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) {
      out[i].id = samples[i].id;
      out[i].index = samples[i].index;
    }
    issue_(ctx_, out.data(), out.size());
  }
  void FlushQueries() override { flush_(ctx_); }

 private:
  std::string name_ = "trtbench";
  void* ctx_;
  tb_lg_issue_fn issue_;
  tb_lg_flush_fn flush_;
};

// Prompts are token ids already in memory: loading and unloading have nothing to do.
class InMemoryQsl : public mlperf::QuerySampleLibrary {
 public:
  InMemoryQsl(size_t total, size_t perf) : total_(total), perf_(perf) {}
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return total_; }
  size_t PerformanceSampleCount() override { return perf_; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "trtbench-prompts";
  size_t total_;
  size_t perf_;
};

const char* scenario_name(mlperf::TestScenario s) {
  switch (s) {
    case mlperf::TestScenario::SingleStream: return "SingleStream";
    case mlperf::TestScenario::MultiStream: return "MultiStream";
    case mlperf::TestScenario::Server: return "Server";
    case mlperf::TestScenario::Offline: return "Offline";
  }
  return "SingleStream";
}

void set_err(char* err, size_t len, const std::string& msg) {
  if (err == nullptr || len == 0) return;
  std::strncpy(err, msg.c_str(), len - 1);
  err[len - 1] = '\0';
}

uint64_t ns(double ms) { return static_cast<uint64_t>(ms * 1e6); }

// Applies the overrides that are set (>= 0) on top of what the configuration files gave.
void apply_overrides(const tb_lg_config& c, mlperf::TestSettings& s) {
  if (c.min_duration_ms >= 0) s.min_duration_ms = static_cast<uint64_t>(c.min_duration_ms);
  if (c.max_duration_ms >= 0) s.max_duration_ms = static_cast<uint64_t>(c.max_duration_ms);
  if (c.min_query_count >= 0) s.min_query_count = static_cast<uint64_t>(c.min_query_count);
  if (c.max_query_count >= 0) s.max_query_count = static_cast<uint64_t>(c.max_query_count);
  if (c.target_qps >= 0) {
    s.server_target_qps = c.target_qps;
    s.offline_expected_qps = c.target_qps;
  }
  if (c.target_latency_ms >= 0) {
    s.single_stream_expected_latency_ns = c.target_latency_ms * 1e6;
    s.multi_stream_expected_latency_ns = c.target_latency_ms * 1e6;
    s.server_target_latency_ns = ns(c.target_latency_ms);
  }
  // Off only when asked (after the files); on is the default set before them.
  if (c.use_token_latencies == 0) s.use_token_latencies = false;
  if (c.ttft_ms >= 0) s.server_ttft_latency = ns(c.ttft_ms);
  if (c.tpot_ms >= 0) s.server_tpot_latency = ns(c.tpot_ms);
  if (c.samples_per_query >= 0)
    s.multi_stream_samples_per_query = static_cast<uint64_t>(c.samples_per_query);
}

int run(const tb_lg_config& c, void* ctx, tb_lg_issue_fn issue, tb_lg_flush_fn flush,
        char* err, size_t err_len) {
  mlperf::TestSettings s;
  switch (c.scenario) {
    case 0: s.scenario = mlperf::TestScenario::SingleStream; break;
    case 1: s.scenario = mlperf::TestScenario::MultiStream; break;
    case 2: s.scenario = mlperf::TestScenario::Server; break;
    case 3: s.scenario = mlperf::TestScenario::Offline; break;
    default: set_err(err, err_len, "unknown scenario"); return -1;
  }
  s.mode = c.mode == 1 ? mlperf::TestMode::AccuracyOnly : mlperf::TestMode::PerformanceOnly;
  const std::string model = c.model ? c.model : "";
  const std::string scen = scenario_name(s.scenario);
  // Token latencies on before the files: FromConfig reads the Server ttft/tpot keys only
  // when they are on, and a user.conf may still turn them off.
  if (c.use_token_latencies != 0) s.use_token_latencies = true;
  // LoadGen's own mlperf.conf (compiled in), as every run starts from it.
  s.FromConfig("", model, scen, 0);
  if (c.mlperf_conf != nullptr && s.FromConfig(c.mlperf_conf, model, scen, 2) != 0) {
    set_err(err, err_len, std::string(c.mlperf_conf) + ": cannot be read as a LoadGen config (key = value lines)");
    return -1;
  }
  if (c.user_conf != nullptr && s.FromConfig(c.user_conf, model, scen, 1) != 0) {
    set_err(err, err_len, std::string(c.user_conf) + ": cannot be read as a LoadGen config (key = value lines)");
    return -1;
  }
  // The mode flag wins over a `mode` key of the files.
  s.mode = c.mode == 1 ? mlperf::TestMode::AccuracyOnly : mlperf::TestMode::PerformanceOnly;
  apply_overrides(c, s);

  mlperf::LogSettings log;
  log.log_output.outdir = c.outdir ? c.outdir : ".";
  log.enable_trace = false;
  CallbackSut sut(ctx, issue, flush);
  InMemoryQsl qsl(c.total_sample_count, c.performance_sample_count);
  // No audit.config: an empty name means none is looked for in the working directory.
  mlperf::StartTest(&sut, &qsl, s, log, "");
  return 0;
}

}  // namespace

extern "C" int tb_lg_run(const tb_lg_config* cfg, void* ctx, tb_lg_issue_fn issue,
                         tb_lg_flush_fn flush, char* err, size_t err_len) {
  try {
    return run(*cfg, ctx, issue, flush, err, err_len);
  } catch (const std::exception& e) {
    set_err(err, err_len, std::string("LoadGen: ") + e.what());
  } catch (...) {
    set_err(err, err_len, "LoadGen: unknown exception");
  }
  return -1;
}

extern "C" void tb_lg_first_token(uintptr_t id, const uint8_t* data, size_t size) {
  mlperf::QuerySampleResponse r(id, reinterpret_cast<uintptr_t>(data), size);
  mlperf::FirstTokenComplete(&r, 1);
}

extern "C" void tb_lg_complete(uintptr_t id, const uint8_t* data, size_t size, int64_t n_tokens) {
  mlperf::QuerySampleResponse r(id, reinterpret_cast<uintptr_t>(data), size, n_tokens);
  mlperf::QuerySamplesComplete(&r, 1);
}
