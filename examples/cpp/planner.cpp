// A stand-in for a robot's planner node (a ROS 2 rclcpp node would do the same in its
// constructor and service callback): load the engine once, answer each prompt within a
// latency budget, log TTFT and TPOT per call, through trtbench's C ABI.
//
//   planner ENGINE_DIR_OR_GGUF [--budget-ms MS] [--tokens N] [--check] [PROMPT...]
//
// --check (CI): also asserts what a caller can rely on (text not empty; timings positive
// and ordered; the callback saw every token, in order, at the times the generation
// reports), the error paths (a missing engine, NULL handles, a bad spec field), and a
// 1-point sweep from a TOML spec with a per-point callback and the stop flag.
// Exit 0 on success, 1 on a failed call or check.

#include <trtbench.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Owning wrappers: every handle is freed by its own function, once.
struct EngineFree {
  void operator()(TrtbenchEngine *e) const { trtbench_engine_free(e); }
};
struct SessionFree {
  void operator()(TrtbenchSession *s) const { trtbench_session_free(s); }
};
struct GenerationFree {
  void operator()(TrtbenchGeneration *g) const { trtbench_generation_free(g); }
};
struct StopFree {
  void operator()(TrtbenchStop *s) const { trtbench_stop_free(s); }
};
struct StringFree {
  void operator()(char *s) const { trtbench_string_free(s); }
};
using Engine = std::unique_ptr<TrtbenchEngine, EngineFree>;
using Session = std::unique_ptr<TrtbenchSession, SessionFree>;
using Generation = std::unique_ptr<TrtbenchGeneration, GenerationFree>;
using Stop = std::unique_ptr<TrtbenchStop, StopFree>;
using String = std::unique_ptr<char, StringFree>;

[[noreturn]] void fail(const std::string &what) {
  throw std::runtime_error(what + ": " + trtbench_last_error());
}

void check(bool ok, const std::string &what) {
  if (!ok) throw std::runtime_error("check failed: " + what);
}

void ok(TrtbenchStatus s, const char *what) {
  if (s != TRTBENCH_STATUS_OK) fail(what);
}

// What the per-token callback sees; a planner would stream these to its consumer.
struct Stream {
  std::vector<int32_t> tokens;
  std::vector<double> at_ms;
  std::vector<uint32_t> index;
};

extern "C" void on_token(void *user, uint32_t seq, uint32_t index, int32_t token, double at_ms) {
  auto *s = static_cast<Stream *>(user);
  if (seq != 0) return;  // batch 1 here
  s->tokens.push_back(token);
  s->at_ms.push_back(at_ms);
  s->index.push_back(index);
}

struct Answer {
  std::string text;
  TrtbenchTimes times{};
  std::vector<double> steps;
  Stream stream;
};

class Planner {
 public:
  Planner(const std::string &engine_dir, uint32_t max_tokens)
      : engine_(trtbench_engine_open(engine_dir.c_str())), max_tokens_(max_tokens) {
    if (!engine_) fail("open " + engine_dir);
    // One session for every call: batch 1, room for a 200-token prompt and the answer.
    session_.reset(trtbench_session_new(engine_.get(), 1, 200 + max_tokens, 0));
    if (!session_) fail("session");
  }

  std::vector<int32_t> tokenize(const std::string &text) const {
    size_t n = 0;
    ok(trtbench_tokenize(engine_.get(), text.c_str(), true, nullptr, 0, &n), "tokenize");
    std::vector<int32_t> ids(n);
    ok(trtbench_tokenize(engine_.get(), text.c_str(), true, ids.data(), ids.size(), &n), "tokenize");
    return ids;
  }

  Answer answer(const std::string &prompt) {
    Answer a;
    std::vector<int32_t> ids = tokenize(prompt);
    const int32_t *prompts[] = {ids.data()};
    size_t lens[] = {ids.size()};
    Generation g(trtbench_generate(session_.get(), prompts, lens, 1, max_tokens_, on_token, &a.stream));
    if (!g) fail("generate");
    ok(trtbench_generation_times(g.get(), &a.times), "times");
    a.steps.resize(a.times.steps);
    size_t n = 0;
    ok(trtbench_generation_step_ms(g.get(), a.steps.data(), a.steps.size(), &n), "steps");
    String text(trtbench_detokenize(engine_.get(), a.stream.tokens.data(), a.stream.tokens.size()));
    if (!text) fail("detokenize");
    a.text = text.get();
    check_against_generation(g.get(), a);
    return a;
  }

  const TrtbenchEngine *engine() const { return engine_.get(); }

 private:
  // The tokens the callback saw are the generation's own.
  static void check_against_generation(const TrtbenchGeneration *g, const Answer &a) {
    size_t n = 0;
    ok(trtbench_generation_tokens(g, 0, nullptr, 0, &n), "tokens");
    std::vector<int32_t> ids(n);
    ok(trtbench_generation_tokens(g, 0, ids.data(), ids.size(), &n), "tokens");
    check(ids == a.stream.tokens, "the callback saw the generation's tokens");
  }

  Engine engine_;
  Session session_;
  uint32_t max_tokens_;
};

// What a caller relies on, for one answer.
void check_answer(const Answer &a, uint32_t max_tokens) {
  const TrtbenchTimes &t = a.times;
  const Stream &s = a.stream;
  check(!a.text.empty(), "text is not empty");
  check(s.tokens.size() == max_tokens, "one callback per token");
  check(t.steps == max_tokens - 1 && a.steps.size() == t.steps, "a step per token after the first");
  check(t.prefill_ms > 0 && t.ttft_ms >= t.prefill_ms, "0 < prefill <= TTFT");
  check(t.e2e_ms > t.ttft_ms, "TTFT < E2E");
  double sum = 0;
  for (size_t i = 0; i < s.at_ms.size(); i++) {
    check(s.index[i] == i, "tokens in order");
    if (i > 0) check(s.at_ms[i] > s.at_ms[i - 1], "token times increase");
  }
  for (double d : a.steps) {
    check(d > 0, "every step positive");
    sum += d;
  }
  check(std::fabs(s.at_ms.front() - t.ttft_ms) < 1e-6, "first token at TTFT");
  check(std::fabs(s.at_ms.back() - t.e2e_ms) < 1e-6, "last token at E2E");
  check(std::fabs(sum - (t.e2e_ms - t.ttft_ms)) < 1e-3, "steps add up to E2E - TTFT");
}

void check_errors(const Planner &p) {
  check(trtbench_engine_open("/nonexistent/trtbench-engine") == nullptr, "a missing engine fails");
  check(std::string(trtbench_last_error()).find("/nonexistent/trtbench-engine") != std::string::npos,
        "the error names the path");
  size_t n = 0;
  check(trtbench_tokenize(nullptr, "x", false, nullptr, 0, &n) == TRTBENCH_STATUS_INVALID_ARGUMENT,
        "a NULL engine is an invalid argument");
  check(trtbench_generate(nullptr, nullptr, nullptr, 0, 1, nullptr, nullptr) == nullptr, "NULL session");
  check(std::string(trtbench_last_error()) == "session: NULL", "the error names the argument");
  ok(trtbench_tokenize(p.engine(), "x", false, nullptr, 0, &n), "tokenize");
  check(std::string(trtbench_last_error()).empty(), "a successful call clears the error");
  String r(trtbench_sweep("batch = [1]\nrunz = 3\n", nullptr, TRTBENCH_OUTPUT_NEW, nullptr, nullptr, nullptr));
  check(!r && std::string(trtbench_last_error()).find("runz") != std::string::npos,
        "a bad spec field is named");
}

extern "C" void on_point(void *user, const char *point_json) {
  static_cast<std::vector<std::string> *>(user)->push_back(point_json);
}

// A 1-point sweep from a spec, then the same spec with the stop flag already raised.
void check_sweep(const std::string &engine_dir) {
  std::string spec = "engines = [\"" + engine_dir + "\"]\nbatch = [1]\nisl = [16]\nosl = [4]\n" +
                     "warmup = 0\nruns = 2\nthreads = 2\nsample_ms = 0\n";
  std::vector<std::string> points;
  String r(trtbench_sweep(spec.c_str(), nullptr, TRTBENCH_OUTPUT_NEW, on_point, &points, nullptr));
  if (!r) fail("sweep");
  std::string json = r.get();
  check(points.size() == 1, "one point callback");
  check(points[0].find("\"status\":\"ok\"") != std::string::npos, "the point is ok");
  check(points[0].find("\"ttft_ms\"") != std::string::npos, "the point has TTFT statistics");
  check(json.find("\"interrupted\":false") != std::string::npos, "not interrupted");
  Stop stop(trtbench_stop_new());
  ok(trtbench_stop_request(stop.get()), "stop");
  points.clear();
  r.reset(trtbench_sweep(spec.c_str(), nullptr, TRTBENCH_OUTPUT_NEW, on_point, &points, stop.get()));
  if (!r) fail("sweep with stop");
  check(std::string(r.get()).find("\"interrupted\":true") != std::string::npos, "stopped");
  check(points.empty(), "no point finished after the stop");
  std::printf("sweep: 1 point ok; with the stop flag raised: interrupted, 0 points\n");
}

}  // namespace

int main(int argc, char **argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ENGINE_DIR_OR_GGUF [--budget-ms MS] [--tokens N] [--check] [PROMPT...]\n",
                 argv[0]);
    return 2;
  }
  std::string engine_dir = argv[1];
  double budget_ms = 2000;
  uint32_t tokens = 16;
  bool checks = false;
  std::vector<std::string> prompts;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--budget-ms" && i + 1 < argc) budget_ms = std::atof(argv[++i]);
    else if (a == "--tokens" && i + 1 < argc) tokens = static_cast<uint32_t>(std::atoi(argv[++i]));
    else if (a == "--check") checks = true;
    else prompts.push_back(a);
  }
  if (tokens < 2) tokens = 2;
  if (prompts.empty()) prompts = {"The robot should move to the", "Pick up the red block and"};

  auto t0 = std::chrono::steady_clock::now();
  Planner planner(engine_dir, tokens);
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("trtbench %s: engine loaded in %.0f ms\n", trtbench_version(), load_ms);
  for (const std::string &prompt : prompts) {
    Answer a = planner.answer(prompt);
    const TrtbenchTimes &t = a.times;
    double tpot = (t.e2e_ms - t.ttft_ms) / static_cast<double>(a.stream.tokens.size() - 1);
    bool late = t.e2e_ms > budget_ms;
    std::printf("[%s] %s%s\n  TTFT %.1f ms, TPOT %.2f ms, E2E %.1f ms, %zu tokens\n",
                late ? "over budget" : "in budget", prompt.c_str(), a.text.c_str(), t.ttft_ms, tpot, t.e2e_ms,
                a.stream.tokens.size());
    if (checks) check_answer(a, tokens);
  }
  if (checks) {
    check_errors(planner);
    check_sweep(engine_dir);
    std::printf("checks passed\n");
  }
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "planner: %s\n", e.what());
  return 1;
}
