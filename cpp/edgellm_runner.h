// Plain C++ over TensorRT Edge-LLM's C++ runtime (trt_edgellm::rt::LLMInferenceRuntime).
// No Edge-LLM, TensorRT or CUDA type appears in this header (pimpl), so the cxx adapter
// compiles without any SDK. Edge-LLM ships no installable headers: this is the one file
// pair that can only be compiled against an Edge-LLM source tree.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trtbench
{

struct EdgeLlmOptions
{
    std::string engineDir;  //!< Directory with llm.engine + config.json + tokenizer files.
    std::string pluginPath; //!< Absolute path of libNvInfer_edgellm_plugin.so (default is relative).
    uintptr_t stream{0};    //!< cudaStream_t / CUstream owned by the caller, on `device`.
    int device{0};          //!< CUDA device, set with cudaSetDevice before anything else.
    bool ignoreEos{true};   //!< Generate exactly maxGenerateLength tokens (EDGELLM_IGNORE_EOS).
    bool verboseLog{false}; //!< Edge-LLM's logger at INFO (stdout) instead of WARNING.
    //! A speculative engine directory (base_config.json, spec_base.engine, ...): construct
    //! the runtime with a SpecDecodeDraftingConfig of the four knobs below.
    bool speculative{false};
    int32_t draftingTopK{1};
    int32_t draftingStep{1};
    int32_t verifySize{2};
    int32_t dflashBlockSize{0}; //!< 0: the runtime infers it from the DFlash engine config.
};

struct EdgeLlmRequest
{
    std::vector<std::string> prompts; //!< One user text per sequence, sent without chat template.
    float temperature{0.0F};
    float topP{1.0F};
    int64_t topK{1};
    int64_t maxGenerateLength{1};
    bool profile{true}; //!< Record the runtime's CUDA-event stage times for this request.
    //! NVTX range (default domain) around the whole request, for Nsight Systems; empty: none.
    //! Inside it the runner always marks "prefill" (request start → first token on the host)
    //! and "decode" (→ the request's end).
    std::string nvtxRange;
    //! On a speculative runtime: run this request with the vanilla decoder (the twin).
    bool disableSpecDecode{false};
};

struct EdgeLlmResult
{
    std::vector<std::vector<int32_t>> outputIds;
    std::vector<int32_t> inputTokenCounts; //!< As the runtime tokenized the prompts.
    std::vector<std::string> finishReasons;
    std::vector<float> prefillMs;    //!< One per llm_prefill stage run (CUDA events).
    std::vector<float> generationMs; //!< One per llm_generation stage run (decode step).
    //! Host steady-clock time from just before handleRequest to the first callback of each
    //! token ordinal (0 = the token sampled after prefill, i = any slot's i-th token), in ns.
    std::vector<int64_t> hostTokenNs;
    int64_t hostE2eNs{0}; //!< Host steady-clock time of the whole handleRequest call.
    //! Speculative stages, one entry per scope run (spec_decode_draft_prefill, _draft_proposal,
    //! _base_verification, _draft_accept); empty for a vanilla request.
    std::vector<float> draftPrefillMs;
    std::vector<float> draftProposalMs;
    std::vector<float> baseVerificationMs;
    std::vector<float> draftAcceptMs;
    //! This request's share of getSpecDecodeGenerationMetrics() (the counters accumulate over
    //! the runtime's life, so the delta across handleRequest), summed over the batch; both 0
    //! when the request did not speculate or profiling was off.
    int64_t specIterations{0};
    int64_t specGeneratedTokens{0};
};

class EdgeLlmRunner
{
public:
    //! Loads the plugin library, then constructs the runtime. Throws std::runtime_error.
    explicit EdgeLlmRunner(EdgeLlmOptions const& options);
    ~EdgeLlmRunner();
    EdgeLlmRunner(EdgeLlmRunner const&) = delete;
    EdgeLlmRunner& operator=(EdgeLlmRunner const&) = delete;

    //! Captures the decode-step CUDA graphs (one per batch size). False when any capture
    //! failed; the runtime then falls back to plain enqueueV3.
    bool captureDecodeGraphs();

    //! getSpeculativeDecodingStrategyName(): "vanilla" without a draft, else "eagle", "mtp", ...
    std::string strategyName() const;

    //! Runs one batch request to completion. Throws std::runtime_error on failure.
    EdgeLlmResult generate(EdgeLlmRequest const& request);

private:
    struct Impl;
    std::unique_ptr<Impl> mImpl;
};

//! Edge-LLM runtime version the shim was compiled against (trt_edgellm::version).
std::string edgeLlmVersion();

} // namespace trtbench
