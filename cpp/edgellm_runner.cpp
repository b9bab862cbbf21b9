// Plain C++ over TensorRT Edge-LLM 0.10's runtime. Every call below was read in the 0.10.0
// source tree (paths relative to its root):
//   cpp/runtime/llmInferenceRuntime.h  LLMInferenceRuntime(engineDir, multimodalEngineDir,
//       loraWeightsMap, stream, ContextCacheConfig = {}, checkpointDir = "") (l.103), and the
//       unified speculative one with a SpecDecodeDraftingConfig const& before the stream
//       (l.87-91); both throw std::runtime_error; captureDecodingCUDAGraph(stream) -> bool;
//       handleRequest(request, response, stream) -> bool; getSpecDecodeGenerationMetrics()
//       (l.160) and getSpeculativeDecodingStrategyName() (l.165).
//   cpp/runtime/config/deploymentConfig.h  SpecDecodeDraftingConfig{draftingTopK,
//       draftingStep, verifySize, dflashBlockSize} (l.45-64).
//   cpp/profiling/metrics.h            SpecDecodeGenerationMetrics{totalIterations,
//       totalGeneratedTokens}: cumulative, recordRun skips while profiling is off (l.180-199);
//       kSPEC_DECODE_* stage names (l.49-55). examples/utils/profileFormatter.cpp l.232-241:
//       acceptance = totalGeneratedTokens / totalIterations.
//   cpp/runtime/llmRuntimeUtils.h      LLMGenerationRequest::disableSpecDecode (l.148).
//   cpp/runtime/llmRuntimeUtils.h      LLMGenerationRequest{requests[{messages[{role,
//       contents[{type, content}]}]}], temperature, topP, topK, maxGenerateLength (these four
//       have NO default initializer), applyChatTemplate, addGenerationPrompt};
//       LLMGenerationResponse{outputIds, finishReasons, inputTokenCounts}.
//   cpp/runtime/streaming.h            finishReasonName(FinishReason).
//   cpp/profiling/timer.h              setProfilingEnabled(bool); trt_edgellm::gTimer
//       .reset()/.getTimingData(stageId) -> optional<StageTimingData{gpuTimesMs}>.
//   cpp/profiling/metrics.h            StageNames::kLLM_PREFILL ("llm_prefill"),
//       kLLM_GENERATION ("llm_generation").
//   cpp/common/trtUtils.h              loadEdgellmPluginLib(): dlopen($EDGELLM_PLUGIN_PATH),
//       default relative "build/libNvInfer_edgellm_plugin.so".
//   cpp/runtime/llmInferenceRuntime.cpp  EDGELLM_IGNORE_EOS is read with getenv on every
//       handleRequest; when set the run produces exactly maxGenerateLength tokens.
//   cpp/common/version.h               version::kRUNTIME_VERSION.
//   cpp/runtime/llmRuntimeUtils.h      LLMGenerationRequest::onTokenGenerated, an optional
//       std::function<void(TokenCallbackInfo const&)> called per token after the stream sync
//       of each round (emitTokenCallbacks, runtime/streaming.cpp; after prefill at
//       llmInferenceRuntime.cpp:1846 and after every decode round at :1265). It is the one
//       place a caller sees when tokens reach the host, so host TTFT/ITL come from it.
//       Its generationStep is context.generationRound, which starts at 0 and is incremented
//       only after each decode step's callbacks (:1266): the prefill token and the first
//       decode token both say 0. Rounds are therefore keyed by each slot's token ordinal.
//   cpp/runtime/llmInferenceRuntime.cpp  handleRequest encodes with
//       mTokenizer->encode(text, false) (:791): no BOS is added.
//   cpp/common/logger.h                EdgeLLMLogger::instance().setLevel(Severity): INFO
//       goes to stdout (every request logs "EDGELLM_IGNORE_EOS set" there), so the runner
//       sets WARNING unless the caller asked for Edge-LLM's verbose log.
// NVTX ranges (NVTX3, header-only: CUDA's include/nvtx3, or PyPI nvidia-nvtx) in the default
// domain, pushed and popped on the calling thread: a request's range from the caller, and in
// it "prefill" then "decode". The token callback runs on this thread inside handleRequest
// (emitTokenCallbacks after the stream sync), so the ranges nest. Without a tool attached
// (Nsight Systems sets NVTX_INJECTION64_PATH) each call is a check of a null pointer.
// Edge-LLM's logger (cpp/common/logger.h) prints to stdout/stderr and has no sink hook, so
// failures carry the exception text or a pointer to stderr, not captured log lines.
#include "edgellm_runner.h"
#include "cuda_device.h"

#include "common/logger.h"
#include "common/trtUtils.h"
#include "common/version.h"
#include "profiling/metrics.h"
#include "profiling/timer.h"
#include "runtime/llmInferenceRuntime.h"
#include "runtime/streaming.h"

#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <unordered_map>

namespace trtbench
{

namespace rt = trt_edgellm::rt;

namespace
{

//! Sets an environment variable for one scope and puts the previous value (or its absence)
//! back: EDGELLM_PLUGIN_PATH is read only by loadEdgellmPluginLib, and left set it would
//! leak one engine's plugin into every later engine the process opens (trtbench reads it too).
class ScopedEnv
{
public:
    ScopedEnv(char const* name, std::string const& value)
        : mName(name)
    {
        char const* old = std::getenv(name);
        mHad = old != nullptr;
        if (mHad)
        {
            mOld = old;
        }
        if (setenv(name, value.c_str(), 1) != 0)
        {
            throw std::runtime_error(std::string("setenv(") + name + ") failed");
        }
    }
    ~ScopedEnv()
    {
        if (mHad)
        {
            setenv(mName, mOld.c_str(), 1);
        }
        else
        {
            unsetenv(mName);
        }
    }
    ScopedEnv(ScopedEnv const&) = delete;
    ScopedEnv& operator=(ScopedEnv const&) = delete;

private:
    char const* mName;
    bool mHad{false};
    std::string mOld;
};

//! Turns Edge-LLM's process-wide profiling switch on for one request and off again however
//! the request ends (handleRequest may throw as well as return false).
class ProfilingScope
{
public:
    explicit ProfilingScope(bool enabled)
    {
        trt_edgellm::setProfilingEnabled(enabled);
    }
    ~ProfilingScope()
    {
        trt_edgellm::setProfilingEnabled(false);
    }
    ProfilingScope(ProfilingScope const&) = delete;
    ProfilingScope& operator=(ProfilingScope const&) = delete;
};

//! An NVTX range open from open() to close() or the end of the scope, whichever is first.
class NvtxRange
{
public:
    NvtxRange() = default;
    explicit NvtxRange(std::string const& name)
    {
        open(name);
    }
    ~NvtxRange()
    {
        close();
    }
    NvtxRange(NvtxRange const&) = delete;
    NvtxRange& operator=(NvtxRange const&) = delete;

    //! Opens `name` (nothing when empty), closing the open range first.
    void open(std::string const& name)
    {
        close();
        if (!name.empty())
        {
            nvtxRangePushA(name.c_str());
            mOpen = true;
        }
    }
    void close()
    {
        if (mOpen)
        {
            nvtxRangePop();
            mOpen = false;
        }
    }

private:
    bool mOpen{false};
};

} // namespace

struct EdgeLlmRunner::Impl
{
    cudaStream_t stream{nullptr};
    std::unique_ptr<void, trt_edgellm::DlDeleter> plugin{nullptr, trt_edgellm::DlDeleter{}};
    std::unique_ptr<rt::LLMInferenceRuntime> runtime;
};

namespace
{
//! Every time of one stage in this request (empty when it never ran or profiling was off).
std::vector<float> stageMs(std::string const& stage)
{
    auto data = trt_edgellm::gTimer.getTimingData(stage);
    return data ? data->gpuTimesMs : std::vector<float>{};
}
} // namespace

EdgeLlmRunner::EdgeLlmRunner(EdgeLlmOptions const& options)
    : mImpl(std::make_unique<Impl>())
{
    // Before anything else: the plugin and the runtime allocate on the current device.
    setCudaDevice(options.device);
    // Process-wide: Edge-LLM's INFO lines go to stdout, where they would mix with results.
    trt_edgellm::logger::EdgeLLMLogger::instance().setLevel(
        options.verboseLog ? nvinfer1::ILogger::Severity::kINFO : nvinfer1::ILogger::Severity::kWARNING);
    if (options.pluginPath.empty())
    {
        throw std::runtime_error("Edge-LLM plugin path is empty (its default is a relative path; pass it explicitly)");
    }
    // handleRequest reads EDGELLM_IGNORE_EOS on every request: it stays set.
    if (options.ignoreEos && setenv("EDGELLM_IGNORE_EOS", "1", 1) != 0)
    {
        throw std::runtime_error("setenv(EDGELLM_IGNORE_EOS) failed");
    }
    {
        ScopedEnv const pluginPath("EDGELLM_PLUGIN_PATH", options.pluginPath);
        mImpl->plugin = trt_edgellm::loadEdgellmPluginLib();
    }
    if (!mImpl->plugin)
    {
        throw std::runtime_error("cannot load the Edge-LLM plugin library " + options.pluginPath
            + " (dlopen failed; Edge-LLM logged the reason to stderr)");
    }
    mImpl->stream = reinterpret_cast<cudaStream_t>(options.stream);
    std::unordered_map<std::string, std::string> const noLora;
    // Constructor throws std::runtime_error on a bad engine directory; let it propagate.
    if (options.speculative)
    {
        rt::SpecDecodeDraftingConfig drafting;
        drafting.draftingTopK = options.draftingTopK;
        drafting.draftingStep = options.draftingStep;
        drafting.verifySize = options.verifySize;
        drafting.dflashBlockSize = options.dflashBlockSize;
        mImpl->runtime = std::make_unique<rt::LLMInferenceRuntime>(
            options.engineDir, std::string{}, noLora, drafting, mImpl->stream);
    }
    else
    {
        mImpl->runtime
            = std::make_unique<rt::LLMInferenceRuntime>(options.engineDir, std::string{}, noLora, mImpl->stream);
    }
}

EdgeLlmRunner::~EdgeLlmRunner() = default;

std::string EdgeLlmRunner::strategyName() const
{
    return mImpl->runtime->getSpeculativeDecodingStrategyName();
}

bool EdgeLlmRunner::captureDecodeGraphs()
{
    return mImpl->runtime->captureDecodingCUDAGraph(mImpl->stream);
}

EdgeLlmResult EdgeLlmRunner::generate(EdgeLlmRequest const& request)
{
    NvtxRange const run(request.nvtxRange);
    NvtxRange phase;
    bool decoding = false;
    rt::LLMGenerationRequest req;
    for (auto const& prompt : request.prompts)
    {
        rt::LLMGenerationRequest::Request r;
        rt::Message m;
        m.role = "user";
        m.contents.push_back(rt::Message::MessageContent{"text", prompt});
        r.messages.push_back(std::move(m));
        req.requests.push_back(std::move(r));
    }
    // No defaults exist for these four fields: set every one.
    req.temperature = request.temperature;
    req.topP = request.topP;
    req.topK = request.topK;
    req.maxGenerateLength = request.maxGenerateLength;
    // The prompt is already the exact text to prefill: no template, no assistant header.
    req.applyChatTemplate = false;
    req.addGenerationPrompt = false;
    req.disableSpecDecode = request.disableSpecDecode;

    // Host wall clock: the request starts just before handleRequest (tokenization included,
    // as a caller experiences it). Token i of the request is the i-th callback of any slot
    // (each slot's own ordinal, not generationStep, which repeats 0 for the prefill token and
    // the first decode token); its time is the first slot's callback with that ordinal.
    using Clock = std::chrono::steady_clock;
    std::vector<int64_t> roundNs;
    std::vector<size_t> slotTokens(request.prompts.size(), 0);
    Clock::time_point start;
    req.onTokenGenerated = [&roundNs, &slotTokens, &start, &phase, &decoding](rt::TokenCallbackInfo const& info) {
        auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
        if (!decoding)
        {
            // The first token on the host ends prefill.
            decoding = true;
            phase.open("decode");
        }
        auto const slot = static_cast<size_t>(info.batchIdx < 0 ? 0 : info.batchIdx);
        if (slot >= slotTokens.size())
        {
            slotTokens.resize(slot + 1, 0);
        }
        size_t const ordinal = slotTokens[slot]++;
        if (ordinal >= roundNs.size())
        {
            roundNs.resize(ordinal + 1, -1);
        }
        if (roundNs[ordinal] < 0)
        {
            roundNs[ordinal] = ns;
        }
    };

    ProfilingScope const profiling(request.profile);
    trt_edgellm::gTimer.reset();
    // Cumulative over the runtime's life, counted only while profiling is on: the request's
    // own counts are the difference across it.
    auto const& specMetrics = mImpl->runtime->getSpecDecodeGenerationMetrics();
    int64_t const iterationsBefore = specMetrics.totalIterations;
    int64_t const generatedBefore = specMetrics.totalGeneratedTokens;

    rt::LLMGenerationResponse resp;
    phase.open("prefill");
    start = Clock::now();
    bool const ok = mImpl->runtime->handleRequest(req, resp, mImpl->stream);
    auto const e2eNs = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    phase.close();
    if (!ok)
    {
        throw std::runtime_error("handleRequest returned false (Edge-LLM logged the reason to stderr)");
    }

    EdgeLlmResult out;
    out.hostTokenNs = std::move(roundNs);
    out.hostE2eNs = e2eNs;
    out.specIterations = specMetrics.totalIterations - iterationsBefore;
    out.specGeneratedTokens = specMetrics.totalGeneratedTokens - generatedBefore;
    out.outputIds = resp.outputIds;
    out.inputTokenCounts = resp.inputTokenCounts;
    for (auto r : resp.finishReasons)
    {
        out.finishReasons.emplace_back(rt::finishReasonName(r));
    }
    if (request.profile)
    {
        // getTimingData resolves the pending end events (cudaEventSynchronize) after the
        // request finished: no synchronisation is added inside the decode loop by us.
        namespace stages = trt_edgellm::metrics::StageNames;
        out.prefillMs = stageMs(stages::kLLM_PREFILL);
        out.generationMs = stageMs(stages::kLLM_GENERATION);
        out.draftPrefillMs = stageMs(stages::kSPEC_DECODE_DRAFT_PREFILL);
        out.draftProposalMs = stageMs(stages::kSPEC_DECODE_DRAFT_PROPOSAL);
        out.baseVerificationMs = stageMs(stages::kSPEC_DECODE_BASE_VERIFICATION);
        out.draftAcceptMs = stageMs(stages::kSPEC_DECODE_DRAFT_ACCEPT);
    }
    return out;
}

std::string edgeLlmVersion()
{
    return trt_edgellm::version::kRUNTIME_VERSION;
}

} // namespace trtbench
