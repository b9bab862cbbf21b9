// Checks the Edge-LLM double against the 0.10.0 behaviours FIDELITY.md lists that trtbench's
// product code cannot reach (it always sets EDGELLM_IGNORE_EOS, refuses over-long prompts
// before the runtime, and never reads finish reasons of a full-length run), plus the token
// callback and stage-scope details the integration tests depend on. Each check fails against
// the double as it was before issue 23. Run by scripts/test-trt-double.sh:
//   double_selftest <fixture engine dir> <plugin library>
#include "common/trtUtils.h"
#include "profiling/metrics.h"
#include "profiling/timer.h"
#include "runtime/llmInferenceRuntime.h"
#include "runtime/streaming.h"

#include <cuda.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <unordered_map>
#include <unistd.h>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace rt = trt_edgellm::rt;

namespace
{

int gFailures = 0;

void check(bool ok, std::string const& what)
{
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok)
    {
        ++gFailures;
    }
}

std::string words(int n)
{
    std::string s;
    for (int i = 0; i < n; ++i)
    {
        s += (i ? " w" : "w") + std::to_string(i % 63 + 1);
    }
    return s;
}

rt::LLMGenerationRequest request(int batch, int words_, int64_t osl, std::string const& role = "user")
{
    rt::LLMGenerationRequest req;
    for (int b = 0; b < batch; ++b)
    {
        rt::LLMGenerationRequest::Request r;
        rt::Message m;
        m.role = role;
        m.contents.push_back(rt::Message::MessageContent{"text", words(words_)});
        r.messages.push_back(m);
        req.requests.push_back(r);
    }
    req.temperature = 0.0F;
    req.topP = 1.0F;
    req.topK = 1;
    req.maxGenerateLength = osl;
    req.applyChatTemplate = false;
    req.addGenerationPrompt = false;
    return req;
}

struct Runtime
{
    std::unique_ptr<rt::LLMInferenceRuntime> rt;
    explicit Runtime(fs::path const& dir)
        : rt(std::make_unique<rt::LLMInferenceRuntime>(dir.string(), std::string{},
            std::unordered_map<std::string, std::string>{}, reinterpret_cast<cudaStream_t>(0x1)))
    {
    }
};

std::string replaced(std::string text, std::string const& from, std::string const& to)
{
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string slurp(fs::path const& p)
{
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

//! The speculative mode (FIDELITY.md, "Speculative decoding"): the vanilla fixture made into
//! the flat directory llm_build leaves for an EAGLE3 pair (base capacity 256, draft 150).
void specChecks(fs::path const& dir, fs::path const& tmp)
{
    fs::path const spec = tmp / "spec";
    fs::create_directories(spec);
    for (auto const& e : fs::directory_iterator(dir))
    {
        fs::copy_file(e.path(), spec / e.path().filename());
    }
    std::string const cfg = replaced(slurp(dir / "config.json"), "\"none\"", "\"eagle3\"");
    std::ofstream(spec / "base_config.json")
        << replaced(replaced(cfg, "\"max_kv_cache_capacity\": 128", "\"max_kv_cache_capacity\": 256"),
               "\"max_kv_pool_pages\": 4", "\"max_kv_pool_pages\": 8");
    std::ofstream(spec / "draft_config.json")
        << replaced(cfg, "\"max_kv_cache_capacity\": 128", "\"max_kv_cache_capacity\": 150");
    fs::rename(spec / "llm.engine", spec / "spec_base.engine");
    fs::remove(spec / "config.json");
    auto make = [&spec](int32_t step) {
        rt::SpecDecodeDraftingConfig d;
        d.draftingTopK = 1;
        d.draftingStep = step;
        d.verifySize = step + 1;
        return std::make_unique<rt::LLMInferenceRuntime>(spec.string(), std::string{},
            std::unordered_map<std::string, std::string>{}, d, reinterpret_cast<cudaStream_t>(0x1));
    };
    try
    {
        make(3);
        check(false, "spec: construction without spec_draft.engine throws");
    }
    catch (std::runtime_error const& e)
    {
        check(std::string(e.what()).find("spec_draft.engine") != std::string::npos,
            "spec: construction without spec_draft.engine throws");
    }
    std::ofstream(spec / "spec_draft.engine") << "draft";
    try
    {
        make(0);
        check(false, "spec: draftingStep 0 throws");
    }
    catch (std::runtime_error const& e)
    {
        check(std::string(e.what()) == "drafting.draftingStep=0 must be positive (>= 1).", "spec: draftingStep 0 throws");
    }
    auto r = make(3);
    check(std::string(r->getSpeculativeDecodingStrategyName()) == "eagle", "spec: an eagle3 pair is named eagle");
    auto const& m = r->getSpecDecodeGenerationMetrics();
    rt::LLMGenerationResponse resp;

    // osl 9, 5-word prompt, 3 draft steps: rounds emit 1, 2, 3, then the 2 left of 4.
    std::vector<int32_t> steps0;
    auto req = request(1, 5, 9);
    req.onTokenGenerated = [&steps0](rt::TokenCallbackInfo const& i) { steps0.push_back(i.generationStep); };
    trt_edgellm::setProfilingEnabled(true);
    trt_edgellm::gTimer.reset();
    check(r->handleRequest(req, resp, reinterpret_cast<cudaStream_t>(0x1)) && resp.outputIds[0].size() == 9,
        "spec: osl 9 runs");
    namespace stages = trt_edgellm::metrics::StageNames;
    auto runs = [](std::string const& s) {
        auto d = trt_edgellm::gTimer.getTimingData(s);
        return d ? d->gpuTimesMs.size() : 0;
    };
    check(runs(stages::kSPEC_DECODE_DRAFT_PREFILL) == 1 && runs(stages::kSPEC_DECODE_DRAFT_PROPOSAL) == 4
            && runs(stages::kSPEC_DECODE_BASE_VERIFICATION) == 4 && runs(stages::kSPEC_DECODE_DRAFT_ACCEPT) == 3
            && runs(stages::kLLM_GENERATION) == 0,
        "spec: stage runs per round");
    check(steps0 == std::vector<int32_t>{0, 0, 1, 1, 2, 2, 2, 3, 3}, "spec: a round's tokens share its generationStep");
    check(m.totalIterations == 4 && m.totalGeneratedTokens == 9, "spec: metrics count rounds and tokens");
    trt_edgellm::setProfilingEnabled(false);
    check(r->handleRequest(req, resp, reinterpret_cast<cudaStream_t>(0x1)) && m.totalIterations == 4
            && m.totalGeneratedTokens == 9,
        "spec: metrics untouched with profiling off");

    // EAGLE asked to sample (temperature 0.8, top-k 50) runs the vanilla decoder, as does
    // disableSpecDecode.
    trt_edgellm::setProfilingEnabled(true);
    for (int twin = 0; twin < 2; ++twin)
    {
        trt_edgellm::gTimer.reset();
        auto v = request(1, 5, 9);
        v.temperature = twin ? 0.0F : 0.8F;
        v.topK = twin ? 1 : 50;
        v.disableSpecDecode = twin == 1;
        check(r->handleRequest(v, resp, reinterpret_cast<cudaStream_t>(0x1)) && runs(stages::kLLM_GENERATION) == 8
                && runs(stages::kSPEC_DECODE_BASE_VERIFICATION) == 0 && m.totalIterations == 4,
            twin ? "spec: disableSpecDecode runs vanilla" : "spec: EAGLE with temperature 0.8 runs vanilla");
    }
    trt_edgellm::setProfilingEnabled(false);

    // Capacity min(256, 150) − 100 = 50: a 5-word prompt gets at most 45 tokens, silently.
    auto lng = request(1, 5, 60);
    check(r->handleRequest(lng, resp, reinterpret_cast<cudaStream_t>(0x1)) && resp.outputIds[0].size() == 45,
        "spec: output clamped to min(base, draft) - 100 - input");
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3)
    {
        std::fprintf(stderr, "usage: %s <fixture engine dir> <plugin library>\n", argv[0]);
        return 2;
    }
    fs::path const tmp = fs::temp_directory_path() / ("trtbench-double-selftest-" + std::to_string(getpid()));
    fs::path const dir = tmp / "engine";
    fs::create_directories(dir);
    for (auto const& e : fs::directory_iterator(argv[1]))
    {
        fs::copy_file(e.path(), dir / e.path().filename());
    }
    setenv("EDGELLM_PLUGIN_PATH", argv[2], 1);
    auto plugin = trt_edgellm::loadEdgellmPluginLib();
    CUcontext ctx = nullptr;
    CUdevice dev = 0;
    if (!plugin || cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&dev, 0) != CUDA_SUCCESS
        || cuDevicePrimaryCtxRetain(&ctx, dev) != CUDA_SUCCESS || cuCtxSetCurrent(ctx) != CUDA_SUCCESS)
    {
        std::fprintf(stderr, "selftest setup failed (plugin or driver double)\n");
        return 2;
    }

    // Finish-reason names (runtime/streaming.cpp finishReasonName).
    check(std::string(rt::finishReasonName(rt::FinishReason::kEndId)) == "end-of-sequence", "kEndId name");
    check(std::string(rt::finishReasonName(rt::FinishReason::kLength)) == "max-length", "kLength name");
    check(std::string(rt::finishReasonName(rt::FinishReason::kNotFinished)) == "not-finished", "kNotFinished name");
    check(std::string(rt::finishReasonName(rt::FinishReason::kStopWords)) == "stop-words", "kStopWords name");

    // embedding.safetensors is loaded at construction.
    fs::rename(dir / "embedding.safetensors", tmp / "embedding.safetensors");
    try
    {
        Runtime r(dir);
        check(false, "construction without embedding.safetensors throws");
    }
    catch (std::runtime_error const& e)
    {
        check(std::string(e.what()).find("embedding.safetensors") != std::string::npos,
            "construction without embedding.safetensors throws naming it");
    }
    fs::rename(tmp / "embedding.safetensors", dir / "embedding.safetensors");

    // A BOS tokenizer: 0.10 encodes with addBos = false.
    std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<s>", "add_bos_token": true})";
    Runtime r(dir);
    rt::LLMGenerationResponse resp;

    // Callbacks: (slot, generationStep, isFinished) as upstream emits them for osl 3.
    setenv("EDGELLM_IGNORE_EOS", "1", 1);
    struct Cb
    {
        int32_t slot;
        int32_t step;
        bool finished;
    };
    std::vector<Cb> cbs;
    auto req = request(2, 5, 3);
    req.onTokenGenerated = [&cbs](rt::TokenCallbackInfo const& i) { cbs.push_back({i.batchIdx, i.generationStep, i.isFinished}); };
    check(r.rt->handleRequest(req, resp, reinterpret_cast<cudaStream_t>(0x1)), "osl 3 runs");
    check(resp.inputTokenCounts == std::vector<int32_t>{5, 5}, "no BOS added to a 5-word prompt");
    std::vector<int32_t> steps0;
    std::vector<bool> fin0;
    for (auto const& c : cbs)
    {
        if (c.slot == 0)
        {
            steps0.push_back(c.step);
            fin0.push_back(c.finished);
        }
    }
    check(steps0 == std::vector<int32_t>{0, 0, 1}, "generationStep of slot 0 is 0, 0, 1");
    check(fin0 == std::vector<bool>{false, false, true}, "isFinished only on the last decode token");
    check(resp.finishReasons.size() == 2 && resp.finishReasons[0] == rt::FinishReason::kLength, "ignore-EOS run ends at max length");

    // osl 1: the prefill token's callback comes before the finish states are updated.
    cbs.clear();
    auto one = request(1, 5, 1);
    one.onTokenGenerated = req.onTokenGenerated;
    check(r.rt->handleRequest(one, resp, reinterpret_cast<cudaStream_t>(0x1)) && cbs.size() == 1 && !cbs[0].finished,
        "the prefill token's isFinished is false even at osl 1");

    // EDGELLM_IGNORE_EOS=0 and =false mean unset: the double's sequences end with EOS after 2.
    for (char const* v : {"0", "false"})
    {
        setenv("EDGELLM_IGNORE_EOS", v, 1);
        auto q = request(1, 5, 6);
        check(r.rt->handleRequest(q, resp, reinterpret_cast<cudaStream_t>(0x1)) && resp.outputIds[0].size() == 2
                && resp.finishReasons[0] == rt::FinishReason::kEndId,
            std::string("EDGELLM_IGNORE_EOS=") + v + " does not ignore EOS");
    }
    setenv("EDGELLM_IGNORE_EOS", "1", 1);

    // llm_prefill includes the prefill token's callbacks; llm_generation does not.
    trt_edgellm::setProfilingEnabled(true);
    trt_edgellm::gTimer.reset();
    auto slow = request(1, 5, 2);
    slow.onTokenGenerated = [](rt::TokenCallbackInfo const&) { std::this_thread::sleep_for(std::chrono::milliseconds(30)); };
    check(r.rt->handleRequest(slow, resp, reinterpret_cast<cudaStream_t>(0x1)), "profiled osl 2 runs");
    auto const pre = trt_edgellm::gTimer.getTimingData(trt_edgellm::metrics::StageNames::kLLM_PREFILL);
    auto const gen = trt_edgellm::gTimer.getTimingData(trt_edgellm::metrics::StageNames::kLLM_GENERATION);
    trt_edgellm::setProfilingEnabled(false);
    check(pre && pre->gpuTimesMs.size() == 1 && pre->gpuTimesMs[0] >= 30.0F, "llm_prefill includes the callback");
    check(gen && gen->gpuTimesMs.size() == 1 && gen->gpuTimesMs[0] < 30.0F, "llm_generation excludes the callback");

    // Over max_input_len (64): 0.10 throws with the EDGELLM_INPUT_TOO_LONG marker.
    try
    {
        auto lng = request(1, 65, 2);
        r.rt->handleRequest(lng, resp, reinterpret_cast<cudaStream_t>(0x1));
        check(false, "a 65-token prompt throws");
    }
    catch (std::runtime_error const& e)
    {
        check(std::string(e.what()).rfind("EDGELLM_INPUT_TOO_LONG: input length 65", 0) == 0,
            "a 65-token prompt throws EDGELLM_INPUT_TOO_LONG");
    }

    // A role the chat template lacks is dropped: nothing to tokenize, handleRequest fails.
    auto tool = request(1, 5, 2, "tool");
    check(!r.rt->handleRequest(tool, resp, reinterpret_cast<cudaStream_t>(0x1)), "an unknown role is dropped (false)");

    specChecks(dir, tmp);

    fs::remove_all(tmp);
    std::printf("%d failure(s)\n", gFailures);
    return gFailures == 0 ? 0 : 1;
}
