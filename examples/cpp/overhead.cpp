// The per-token cost of the C callback path, measured interleaved in one process: the same
// greedy generation run alternately without a callback (the library's own generate loop,
// what an in-process Rust caller runs) and with a C callback that records each token.
//
//   overhead ENGINE_DIR_OR_GGUF [--runs N] [--tokens T]
//
// Prints, per variant, the mean time per generated token ((E2E - TTFT) / (T - 1), the
// decode steps, where the callback runs) and the per-run difference with a 95% interval.
#include <trtbench.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Seen {
  std::vector<int32_t> tokens;
  std::vector<double> at_ms;
};

extern "C" void on_token(void *user, uint32_t, uint32_t, int32_t token, double at_ms) {
  auto *s = static_cast<Seen *>(user);
  s->tokens.push_back(token);
  s->at_ms.push_back(at_ms);
}

double tpot(TrtbenchSession *session, const std::vector<int32_t> &ids, uint32_t tokens, bool callback) {
  const int32_t *prompts[] = {ids.data()};
  size_t lens[] = {ids.size()};
  Seen seen;
  seen.tokens.reserve(tokens);
  seen.at_ms.reserve(tokens);
  TrtbenchGeneration *g =
      trtbench_generate(session, prompts, lens, 1, tokens, callback ? on_token : nullptr, &seen);
  if (!g) {
    std::fprintf(stderr, "generate: %s\n", trtbench_last_error());
    std::exit(1);
  }
  TrtbenchTimes t{};
  trtbench_generation_times(g, &t);
  trtbench_generation_free(g);
  return (t.e2e_ms - t.ttft_ms) / (tokens - 1);
}

double mean(const std::vector<double> &v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double sd(const std::vector<double> &v) {
  double m = mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ENGINE_DIR_OR_GGUF [--runs N] [--tokens T]\n", argv[0]);
    return 2;
  }
  int runs = 20;
  uint32_t tokens = 16;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--runs") runs = std::atoi(argv[i + 1]);
    if (a == "--tokens") tokens = static_cast<uint32_t>(std::atoi(argv[i + 1]));
  }
  TrtbenchEngine *engine = trtbench_engine_open(argv[1]);
  if (!engine) {
    std::fprintf(stderr, "open: %s\n", trtbench_last_error());
    return 1;
  }
  const char *prompt = "The robot should move to the";
  size_t n = 0;
  trtbench_tokenize(engine, prompt, true, nullptr, 0, &n);
  std::vector<int32_t> ids(n);
  trtbench_tokenize(engine, prompt, true, ids.data(), ids.size(), &n);
  TrtbenchSession *session = trtbench_session_new(engine, 1, 128, 2);
  if (!session) {
    std::fprintf(stderr, "session: %s\n", trtbench_last_error());
    return 1;
  }
  tpot(session, ids, tokens, true);  // warmup
  std::vector<double> plain, with_cb, diff;
  for (int r = 0; r < runs; r++) {
    // Alternate which goes first, so a drift in machine load falls on both.
    bool cb_first = r % 2 == 1;
    double a = tpot(session, ids, tokens, cb_first);
    double b = tpot(session, ids, tokens, !cb_first);
    double cb = cb_first ? a : b, no = cb_first ? b : a;
    with_cb.push_back(cb);
    plain.push_back(no);
    diff.push_back(cb - no);
  }
  double half = 1.96 * sd(diff) / std::sqrt(static_cast<double>(diff.size()));
  std::printf("C ABI, %d interleaved pairs, %u tokens: per-token decode time without callback %.3f ms, "
              "with a C callback %.3f ms, difference %+.3f ms (95%% CI %+.3f .. %+.3f), ratio %.4f\n",
              runs, tokens, mean(plain), mean(with_cb), mean(diff), mean(diff) - half, mean(diff) + half,
              mean(with_cb) / mean(plain));
  // One invocation of the callback as the library makes it (an indirect call through the
  // function pointer with the same arguments), timed over 10^6 calls: what each token adds,
  // far below the resolution of the decode times above.
  TrtbenchTokenFn volatile fn = on_token;
  Seen sink;
  sink.tokens.reserve(1000000);
  sink.at_ms.reserve(1000000);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000000; i++) fn(&sink, 0, static_cast<uint32_t>(i), i, 1.0);
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / 1e6;
  std::printf("C callback invocation alone: %.1f ns per token (10^6 calls)\n", ns);
  trtbench_session_free(session);
  trtbench_engine_free(engine);
  return 0;
}
