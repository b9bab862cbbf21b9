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
// - captureDecodingCUDAGraph returns a bool, never throws; captured graphs make steps faster.
// Stage delays (sleeps, ms): TRTBENCH_DOUBLE_PREFILL_MS (6), TRTBENCH_DOUBLE_STEP_MS (4),
// TRTBENCH_DOUBLE_GRAPH_STEP_MS (1), host work outside the stages TRTBENCH_DOUBLE_HOST_MS (1).
// Failures: TRTBENCH_DOUBLE_FAIL, a comma list of load, graph_capture, generate (returns
// false), generate_throw, retokenize (counts one token more than the prompt has).
#include "runtime/llmInferenceRuntime.h"

#include "common/logger.h"

#include "double_state.h"

#include <cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

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

LLMInferenceRuntime::LLMInferenceRuntime(std::string const& engineDir, std::string const& /*multimodalEngineDir*/,
    std::unordered_map<std::string, std::string> const& /*loraWeightsMap*/, cudaStream_t stream,
    ContextCacheConfig const& /*contextCacheConfig*/, std::string const& /*checkpointDir*/)
    : mState(std::make_unique<State>())
{
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
    for (char const* f :
        {"config.json", "llm.engine", "embedding.safetensors", "tokenizer.json", "processed_chat_template.json"})
    {
        std::ifstream probe(engineDir + "/" + f);
        if (!probe)
        {
            throw std::runtime_error("Failed to open " + engineDir + "/" + f);
        }
    }
    mState->roles = templateRoles(readText(engineDir + "/processed_chat_template.json"));
    std::string const cfgPath = engineDir + "/config.json";
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
    std::ifstream eng(engineDir + "/llm.engine", std::ios::binary | std::ios::ate);
    int64_t const weights = static_cast<int64_t>(eng.tellg());

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

    int64_t length = std::min<int64_t>(request.maxGenerateLength, mState->capacity - longest);
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
    // updated, so its isFinished is false even when it is the last token.
    int32_t generationRound = 0;
    auto emit = [&](int32_t step, bool afterFinishUpdate) {
        for (int32_t b = 0; b < batch; ++b)
        {
            int32_t const tok = static_cast<int32_t>((response.inputTokenCounts[b] + 7 * b + step) % mState->vocab);
            response.outputIds[b].push_back(tok);
            if (request.onTokenGenerated)
            {
                bool const finished = afterFinishUpdate && step + 1 == length;
                (*request.onTokenGenerated)(TokenCallbackInfo{tok, b, generationRound, finished});
            }
        }
    };
    bool const profile = getProfilingEnabled();
    // llm_prefill (runBaseModelPrefill's TIME_STAGE scope) closes after the stream sync, the
    // D2H copy of the sampled tokens and the prefill token's callbacks: the stage time includes
    // that host tail, so the callbacks are timed inside it here too.
    {
        auto const t0 = Clock::now();
        sleepMs(envMs("TRTBENCH_DOUBLE_PREFILL_MS", 6.0));
        emit(0, false);
        if (profile)
        {
            gTimer.record(metrics::StageNames::kLLM_PREFILL,
                std::chrono::duration<float, std::milli>(Clock::now() - t0).count());
        }
    }
    double const stepMs = mState->graphsCaptured ? envMs("TRTBENCH_DOUBLE_GRAPH_STEP_MS", 1.0)
                                                 : envMs("TRTBENCH_DOUBLE_STEP_MS", 4.0);
    for (int32_t step = 1; step < length; ++step)
    {
        // llm_generation (VanillaDecoder::decodeStep's scope): the step and its sync; the
        // callbacks come after the scope closed, then the round counter moves on.
        float const ms = sleepMs(stepMs);
        if (profile)
        {
            gTimer.record(metrics::StageNames::kLLM_GENERATION, ms);
        }
        emit(step, true);
        generationRound += 1;
        sleepMs(hostMs); // per-step host work (decode bookkeeping) outside the stage
    }
    FinishReason const why = ignoreEos ? FinishReason::kLength : FinishReason::kEndId;
    response.finishReasons.assign(batch, why);
    return true;
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
