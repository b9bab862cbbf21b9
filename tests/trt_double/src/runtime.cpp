// The CPU test double of Edge-LLM's LLMInferenceRuntime. Behaviour modelled on Edge-LLM
// 0.10.0 (written for trtbench, no upstream code):
// - the constructor needs config.json, llm.engine, embedding.safetensors, tokenizer.json and
//   processed_chat_template.json in the engine directory, the plugin library loaded, and a
//   current CUDA context; it reserves weights + the whole KV pool with cuMemAlloc (the libcuda
//   double counts it, so free memory drops like on a GPU) and throws std::runtime_error;
// - handleRequest returns false for a batch over max_batch_size or a request left empty by
//   roles the chat template lacks, and throws EDGELLM_INPUT_TOO_LONG for a prompt over
//   max_input_len; it "tokenizes" by whitespace without BOS (the fixture tokenizer is a
//   whitespace WordLevel vocabulary), honours EDGELLM_IGNORE_EOS unless 0/false (otherwise
//   every sequence ends with EOS after 2 tokens) and logs its INFO line, clamps the length to the KV capacity, calls onTokenGenerated once per
//   token after each step with upstream's round numbers (prefill and first decode token both
//   round 0), and records llm_prefill / llm_generation stage times when profiling is enabled
//   (llm_prefill includes the prefill token's callbacks, as upstream's scope does);
// - captureDecodingCUDAGraph returns a bool, never throws; captured graphs make steps faster;
// - speculative mode (the constructor with a SpecDecodeDraftingConfig): the flat directory
//   llm_build leaves (base_config.json, draft_config.json, spec_base.engine, spec_draft.engine;
//   d2t.safetensors is optional, as upstream loads it only when present), drafting knobs
//   checked positive, strategy name from draft_config.json's spec_decode_type, KV capacity
//   min(base, draft) with a 100-token reserve, greedy forced (EAGLE with non-greedy sampling
//   and disableSpecDecode select the vanilla decoder), several tokens per callback round, the
//   spec_decode_* stages, and getSpecDecodeGenerationMetrics counted only while profiling.
//   The draft is known: in decode round k it proposes draftingStep tokens of which the first
//   k mod (draftingStep + 1) equal the base's (TRTBENCH_DOUBLE_SPEC_ACCEPT, a comma list of
//   accepted counts per round, repeating, overrides that pattern), so round k emits that many
//   plus the base's own token, clamped to the tokens still to generate. Tokens are the same
//   as vanilla decoding's: speculation changes when tokens arrive, never which.
// Stage delays (sleeps, ms): TRTBENCH_DOUBLE_PREFILL_MS (6), TRTBENCH_DOUBLE_STEP_MS (4),
// TRTBENCH_DOUBLE_GRAPH_STEP_MS (1), host work outside the stages TRTBENCH_DOUBLE_HOST_MS (1);
// speculative: draft prefill TRTBENCH_DOUBLE_DRAFT_PREFILL_MS (2), each draft step (proposal and
// accept catch-up alike) TRTBENCH_DOUBLE_DRAFT_STEP_MS (1), verification _STEP_MS / _GRAPH_STEP_MS.
// Failures: TRTBENCH_DOUBLE_FAIL, a comma list of load, graph_capture, generate (returns
// false), generate_throw, retokenize (counts one token more than the prompt has).
#include "runtime/llmInferenceRuntime.h"

#include "common/logger.h"

#include "double_state.h"

#include <cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace trt_edgellm
{
namespace rt
{
namespace
{

using Clock = std::chrono::steady_clock;

double envMs(char const* name, double dflt)
{
    char const* v = std::getenv(name);
    return v && *v ? std::atof(v) : dflt;
}

float sleepMs(double ms)
{
    auto const t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
    return std::chrono::duration<float, std::milli>(Clock::now() - t0).count();
}

std::string readText(std::string const& path)
{
    std::ifstream f(path);
    if (!f)
    {
        throw std::runtime_error("Failed to open " + path);
    }
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

int64_t jsonInt(std::string const& json, std::string const& key, std::string const& path)
{
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"" + key + "\"\\s*:\\s*(-?[0-9]+)")))
    {
        throw std::runtime_error(path + ": missing required field " + key);
    }
    return std::stoll(m[1].str());
}

std::string jsonStr(std::string const& json, std::string const& key)
{
    std::smatch m;
    return std::regex_search(json, m, std::regex("\"" + key + "\"\\s*:\\s*\"([^\"]*)\"")) ? m[1].str() : "";
}

int32_t countWords(std::string const& text)
{
    std::istringstream in(text);
    std::string w;
    int32_t n = 0;
    while (in >> w)
    {
        ++n;
    }
    return n;
}

} // namespace

struct LLMInferenceRuntime::State
{
    int64_t maxBatch{0};
    int64_t maxInputLen{0};
    int64_t capacity{0};
    int64_t vocab{0};
    bool graphsCaptured{false};
    CUdeviceptr reservation{0};
    //! Role names of processed_chat_template.json: a message of any other role is dropped.
    std::set<std::string> roles;
    //! Speculative runtime: the drafting knobs and draft_config.json's spec_decode_type.
    bool speculative{false};
    SpecDecodeDraftingConfig drafting{};
    std::string specType{"none"};
    std::string strategy{"vanilla"};
    int64_t draftCapacity{0};
    metrics::SpecDecodeGenerationMetrics specMetrics{};
};

namespace
{
//! The role names under "roles" in the chat template (every `"name": {` after it).
std::set<std::string> templateRoles(std::string const& json)
{
    std::set<std::string> out;
    auto const at = json.find("\"roles\"");
    if (at == std::string::npos)
    {
        return out;
    }
    std::string const rest = json.substr(at + 7);
    std::regex const key("\"([A-Za-z_]+)\"\\s*:\\s*\\{");
    for (auto it = std::sregex_iterator(rest.begin(), rest.end(), key); it != std::sregex_iterator(); ++it)
    {
        out.insert((*it)[1].str());
    }
    return out;
}

//! EDGELLM_IGNORE_EOS as 0.10.0 reads it: set and neither "0" nor "false".
bool ignoreEosSet()
{
    char const* v = std::getenv("EDGELLM_IGNORE_EOS");
    return v != nullptr && std::string(v) != "0" && std::string(v) != "false";
}
} // namespace

namespace
{
//! decoderRegistry.h speculativeDecoderName() → each decoder's name() (eagleDecoder.h l.47,
//! mtpDecoder.h, dflashDecoder.h, dsparkDecoder.h, gemma4MTPDecoder.h).
std::string strategyName(std::string const& specType)
{
    if (specType == "eagle3")
    {
        return "eagle";
    }
    if (specType == "mtp" || specType == "dflash" || specType == "dspark" || specType == "gemma4_mtp")
    {
        return specType;
    }
    throw std::runtime_error("parseEngineConfig: invalid spec_decode_type '" + specType
        + "'. Allowed values: none, mtp, eagle3, dflash, dspark, gemma4_mtp.");
}

//! samplingUtils.cpp shouldUseNonGreedySampling (l.25-39).
bool nonGreedy(float temperature, int64_t topK, float topP)
{
    if (temperature >= 0.0F && temperature < 1e-3F)
    {
        return false;
    }
    if (topK == 1)
    {
        return false;
    }
    return topK > 1 || topP < 1.0F - 1e-6F || (temperature > 1e-3F && std::fabs(temperature - 1.0F) > 1e-3F);
}
} // namespace

LLMInferenceRuntime::LLMInferenceRuntime(std::string const& engineDir, std::string const& multimodalEngineDir,
    std::unordered_map<std::string, std::string> const& loraWeightsMap, cudaStream_t stream,
    ContextCacheConfig const& contextCacheConfig, std::string const& checkpointDir)
    : mState(std::make_unique<State>())
{
    (void) multimodalEngineDir;
    (void) loraWeightsMap;
    (void) contextCacheConfig;
    (void) checkpointDir;
    init(engineDir, stream);
}

LLMInferenceRuntime::LLMInferenceRuntime(std::string const& engineDir, std::string const& multimodalEngineDir,
    std::unordered_map<std::string, std::string> const& loraWeightsMap, SpecDecodeDraftingConfig const& draftingConfig,
    cudaStream_t stream, ContextCacheConfig const& contextCacheConfig, std::string const& checkpointDir,
    std::string const& draftCheckpointDir)
    : mState(std::make_unique<State>())
{
    (void) multimodalEngineDir;
    (void) loraWeightsMap;
    (void) contextCacheConfig;
    (void) checkpointDir;
    (void) draftCheckpointDir;
    mState->speculative = true;
    mState->drafting = draftingConfig;
    init(engineDir, stream);
}

void LLMInferenceRuntime::init(std::string const& engineDir, cudaStream_t stream)
{
    bool const spec = mState->speculative;
    if (trtbench_double::failing("load"))
    {
        throw std::runtime_error("trtbench double: injected load failure (TRTBENCH_DOUBLE_FAIL=load)");
    }
    if (!trtbench_double::pluginLoaded())
    {
        throw std::runtime_error("plugin library not loaded: the engine's plugins are not registered");
    }
    if (stream == nullptr)
    {
        throw std::runtime_error("trtbench double: expected the caller's stream, got the legacy default stream");
    }
    // llmInferenceRuntime.cpp l.179-219: with a drafting config the base is base_config.json +
    // spec_base.engine and the draft draft_config.json (+ spec_draft.engine, decoderUtils.cpp l.39).
    std::string const configName = spec ? "base_config.json" : "config.json";
    std::string const engineName = spec ? "spec_base.engine" : "llm.engine";
    std::vector<std::string> files{configName, "embedding.safetensors", "tokenizer.json", "processed_chat_template.json"};
    if (spec)
    {
        files.insert(files.end(), {"draft_config.json", "spec_base.engine", "spec_draft.engine"});
    }
    else
    {
        files.push_back("llm.engine");
    }
    for (auto const& f : files)
    {
        std::ifstream probe(engineDir + "/" + f);
        if (!probe)
        {
            throw std::runtime_error("Failed to open " + engineDir + "/" + f);
        }
    }
    mState->roles = templateRoles(readText(engineDir + "/processed_chat_template.json"));
    std::string const cfgPath = engineDir + "/" + configName;
    std::string const cfg = readText(cfgPath);
    mState->maxBatch = jsonInt(cfg, "max_batch_size", cfgPath);
    mState->maxInputLen = jsonInt(cfg, "max_input_len", cfgPath);
    mState->capacity = jsonInt(cfg, "max_kv_cache_capacity", cfgPath);
    mState->vocab = jsonInt(cfg, "vocab_size", cfgPath);
    int64_t const pages = jsonInt(cfg, "max_kv_pool_pages", cfgPath);
    std::string const dtype = jsonStr(cfg, "kv_cache_dtype");
    int64_t const elem = (dtype == "fp8" || dtype == "int8") ? 1 : 2;
    int64_t const kvBytes = 2 * jsonInt(cfg, "num_hidden_layers", cfgPath) * pages * 128
        * jsonInt(cfg, "num_key_value_heads", cfgPath) * jsonInt(cfg, "head_dim", cfgPath) * elem;
    std::ifstream eng(engineDir + "/" + engineName, std::ios::binary | std::ios::ate);
    int64_t weights = static_cast<int64_t>(eng.tellg());
    if (spec)
    {
        std::string const draftPath = engineDir + "/draft_config.json";
        std::string const draft = readText(draftPath);
        mState->draftCapacity = jsonInt(draft, "max_kv_cache_capacity", draftPath);
        mState->specType = jsonStr(draft, "spec_decode_type");
        std::string const baseType = jsonStr(cfg, "spec_decode_type");
        // deploymentConfig.cpp l.331-333: base and draft must name the same strategy.
        if (baseType != mState->specType)
        {
            throw std::runtime_error("base spec_decode_type '" + baseType + "' does not match draft '"
                + mState->specType + "'");
        }
        mState->strategy = strategyName(mState->specType);
        // deploymentConfig.cpp l.339-351: every drafting knob positive (linear DFlash excepted
        // for verifySize).
        auto const positive = [](int32_t v, char const* name) {
            if (v <= 0)
            {
                throw std::runtime_error(
                    std::string("drafting.") + name + "=" + std::to_string(v) + " must be positive (>= 1).");
            }
        };
        positive(mState->drafting.draftingTopK, "draftingTopK");
        positive(mState->drafting.draftingStep, "draftingStep");
        if (!(mState->specType == "dflash" && mState->drafting.draftingTopK == 1))
        {
            positive(mState->drafting.verifySize, "verifySize");
        }
        std::ifstream deng(engineDir + "/spec_draft.engine", std::ios::binary | std::ios::ate);
        weights += static_cast<int64_t>(deng.tellg());
    }

    CUcontext ctx = nullptr;
    if (cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || ctx == nullptr)
    {
        throw std::runtime_error("CUDA error: no current context (bind the device first)");
    }
    if (cuMemAlloc(&mState->reservation, static_cast<size_t>(kvBytes + weights)) != CUDA_SUCCESS)
    {
        throw std::runtime_error("CUDA error: out of memory reserving weights + KV cache");
    }
}

LLMInferenceRuntime::~LLMInferenceRuntime() noexcept
{
    if (mState && mState->reservation != 0)
    {
        cuMemFree(mState->reservation);
    }
}

bool LLMInferenceRuntime::captureDecodingCUDAGraph(cudaStream_t /*stream*/)
{
    if (trtbench_double::failing("graph_capture"))
    {
        return false;
    }
    mState->graphsCaptured = true;
    return true;
}

bool LLMInferenceRuntime::handleRequest(
    LLMGenerationRequest const& request, LLMGenerationResponse& response, cudaStream_t /*stream*/, bool)
{
    if (trtbench_double::failing("generate_throw"))
    {
        throw std::runtime_error("trtbench double: injected CUDA failure in handleRequest");
    }
    if (trtbench_double::failing("generate"))
    {
        return false;
    }
    auto const batch = static_cast<int32_t>(request.requests.size());
    if (batch < 1 || batch > mState->maxBatch)
    {
        return false;
    }
    double const hostMs = envMs("TRTBENCH_DOUBLE_HOST_MS", 1.0);
    response = LLMGenerationResponse{};
    int32_t longest = 0;
    for (auto const& r : request.requests)
    {
        std::string text;
        for (auto const& m : r.messages)
        {
            if (mState->roles.count(m.role) == 0)
            {
                // Tokenizer::applyChatTemplate: LOG_WARNING("Unknown role") and the message
                // is left out of the formatted request.
                std::fprintf(stderr, "[WARNING] Unknown role: %s\n", m.role.c_str());
                continue;
            }
            for (auto const& c : m.contents)
            {
                text += c.content;
            }
        }
        // Tokenizer::encode(text, addBos = false): no BOS, whatever tokenizer_config.json says.
        int32_t n = countWords(text) + (trtbench_double::failing("retokenize") ? 1 : 0);
        if (n == 0)
        {
            std::fprintf(stderr, "[ERROR] Failed to tokenize input text for request %zu in batch\n",
                response.inputTokenCounts.size());
            return false;
        }
        longest = std::max(longest, n);
        response.inputTokenCounts.push_back(n);
    }
    // 0.10.0 throws (not returns false) for an input over the engine's max_input_len, with a
    // marker its server maps to HTTP 413.
    for (int32_t n : response.inputTokenCounts)
    {
        if (n > mState->maxInputLen)
        {
            throw std::runtime_error("EDGELLM_INPUT_TOO_LONG: input length " + std::to_string(n)
                + " exceeds engine max_input_len " + std::to_string(mState->maxInputLen)
                + " (rebuild engine with a larger --maxInputLen)");
        }
    }
    sleepMs(hostMs); // tokenization and setup: host work outside every stage

    // DecoderRegistry::select (decoderRegistry.cpp l.38-45, l.91-98): the vanilla decoder for
    // disableSpecDecode, and for EAGLE asked to sample non-greedily; other speculative decoders
    // force greedy (llmInferenceRuntime.cpp l.818-822), which the double's tokens already are.
    bool const useSpec = mState->speculative && !request.disableSpecDecode
        && !(mState->specType == "eagle3" && nonGreedy(request.temperature, request.topK, request.topP));
    // llmInferenceRuntime.cpp l.864-874 and llmRuntimeUtils.cpp l.723-736: a speculative request
    // sees min(base, draft) capacity less a 100-token reserve; the length is cut silently.
    int64_t const capacity = useSpec ? std::min(mState->capacity, mState->draftCapacity) - 100 : mState->capacity;
    int64_t length = std::min<int64_t>(request.maxGenerateLength, std::max<int64_t>(0, capacity - longest));
    if (length <= 0)
    {
        std::fprintf(stderr, "[ERROR] Insufficient KV cache capacity for generation for this request.\n");
        return false;
    }
    bool const ignoreEos = ignoreEosSet();
    if (ignoreEos)
    {
        // Upstream logs this at INFO (stdout) on every request that ignores EOS.
        logger::EdgeLLMLogger::instance().info("EDGELLM_IGNORE_EOS set: ignoring EOS; running to maxGenerateLength.");
    }
    if (!ignoreEos)
    {
        length = std::min<int64_t>(length, 2);
    }
    response.outputIds.assign(batch, {});
    // Token callbacks as 0.10.0 numbers them (runtime/streaming.cpp emitTokenCallbacks passes
    // context.generationRound, llmInferenceRuntime.cpp increments it only after each decode
    // step's callbacks): the prefill token and the first decode token both say round 0, decode
    // step k says round k - 1. The prefill token is emitted before the finish states are
    // updated, so its isFinished is false even when it is the last token. A speculative round
    // emits every token it accepted, each with the round's number (streaming.cpp l.437-441).
    int32_t generationRound = 0;
    int32_t produced = 0;
    auto emit = [&](int32_t count, bool afterFinishUpdate) {
        for (int32_t b = 0; b < batch; ++b)
        {
            for (int32_t i = 0; i < count; ++i)
            {
                int32_t const step = produced + i;
                int32_t const tok
                    = static_cast<int32_t>((response.inputTokenCounts[b] + 7 * b + step) % mState->vocab);
                response.outputIds[b].push_back(tok);
                if (request.onTokenGenerated)
                {
                    bool const finished = afterFinishUpdate && step + 1 == length;
                    (*request.onTokenGenerated)(TokenCallbackInfo{tok, b, generationRound, finished});
                }
            }
        }
        produced += count;
    };
    bool const profile = getProfilingEnabled();
    auto stage = [profile](std::string const& name, double ms) {
        float const took = sleepMs(ms);
        if (profile)
        {
            gTimer.record(name, took);
        }
    };
    // llm_prefill (runBaseModelPrefill's TIME_STAGE scope) closes after the stream sync, the
    // D2H copy of the sampled tokens and the prefill token's callbacks: the stage time includes
    // that host tail, so the callbacks are timed inside it here too.
    {
        auto const t0 = Clock::now();
        sleepMs(envMs("TRTBENCH_DOUBLE_PREFILL_MS", 6.0));
        emit(1, false);
        if (profile)
        {
            gTimer.record(metrics::StageNames::kLLM_PREFILL,
                std::chrono::duration<float, std::milli>(Clock::now() - t0).count());
        }
    }
    double const stepMs = mState->graphsCaptured ? envMs("TRTBENCH_DOUBLE_GRAPH_STEP_MS", 1.0)
                                                 : envMs("TRTBENCH_DOUBLE_STEP_MS", 4.0);
    double const draftMs = envMs("TRTBENCH_DOUBLE_DRAFT_STEP_MS", 1.0);
    while (produced < length)
    {
        int32_t count = 1;
        if (useSpec)
        {
            // EagleDecoder::decodeStep (eagleDecoder.cpp l.210-252): round 0 runs the draft's
            // prefill, later rounds its accept-token catch-up; then the proposal and the base
            // verification, each its own TIME_STAGE scope (l.290, l.377, l.546, l.698).
            if (generationRound == 0)
            {
                stage(metrics::StageNames::kSPEC_DECODE_DRAFT_PREFILL, envMs("TRTBENCH_DOUBLE_DRAFT_PREFILL_MS", 2.0));
            }
            else
            {
                stage(metrics::StageNames::kSPEC_DECODE_DRAFT_ACCEPT, draftMs);
            }
            stage(metrics::StageNames::kSPEC_DECODE_DRAFT_PROPOSAL, draftMs * mState->drafting.draftingStep);
            stage(metrics::StageNames::kSPEC_DECODE_BASE_VERIFICATION, stepMs);
            // clampAcceptLengthsToRemainingGeneration (eagleDecoder.cpp l.641): never past the length.
            count = std::min<int32_t>(acceptedInRound(generationRound) + 1, static_cast<int32_t>(length - produced));
        }
        else
        {
            // llm_generation (VanillaDecoder::decodeStep's scope): the step and its sync; the
            // callbacks come after the scope closed, then the round counter moves on.
            stage(metrics::StageNames::kLLM_GENERATION, stepMs);
        }
        emit(count, true);
        generationRound += 1;
        sleepMs(hostMs); // per-step host work (decode bookkeeping) outside the stage
    }
    // llmInferenceRuntime.cpp l.1298-1316: every slot's generated length (prefill token
    // included) and the request's rounds (BatchResult::actualIterations = generationRound, l.2382),
    // summed over the batch; recorded by a speculative request only.
    if (useSpec)
    {
        mState->specMetrics.recordRun(
            static_cast<int64_t>(batch) * generationRound, static_cast<int64_t>(batch) * produced);
    }
    FinishReason const why = ignoreEos ? FinishReason::kLength : FinishReason::kEndId;
    response.finishReasons.assign(batch, why);
    return true;
}

int32_t LLMInferenceRuntime::acceptedInRound(int32_t round) const
{
    int32_t const depth = mState->drafting.draftingStep;
    char const* pattern = std::getenv("TRTBENCH_DOUBLE_SPEC_ACCEPT");
    if (pattern != nullptr && *pattern != 0)
    {
        std::vector<int32_t> counts;
        std::stringstream in(pattern);
        std::string item;
        while (std::getline(in, item, ','))
        {
            counts.push_back(std::atoi(item.c_str()));
        }
        return std::clamp(counts[static_cast<size_t>(round) % counts.size()], 0, depth);
    }
    return round % (depth + 1);
}

metrics::SpecDecodeGenerationMetrics const& LLMInferenceRuntime::getSpecDecodeGenerationMetrics() const noexcept
{
    return mState->specMetrics;
}

char const* LLMInferenceRuntime::getSpeculativeDecodingStrategyName() const noexcept
{
    return mState->strategy.c_str();
}

char const* finishReasonName(FinishReason r) noexcept
{
    switch (r)
    {
    case FinishReason::kNotFinished: return "not-finished";
    case FinishReason::kEndId: return "end-of-sequence";
    case FinishReason::kLength: return "max-length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
    case FinishReason::kStopWords: return "stop-words";
    }
    return "?";
}

} // namespace rt
} // namespace trt_edgellm
