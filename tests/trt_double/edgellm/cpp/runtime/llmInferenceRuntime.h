// trtbench CPU test double of Edge-LLM 0.10's LLMInferenceRuntime: the speculative (unified,
// l.87) and vanilla (l.103) constructors, captureDecodingCUDAGraph, handleRequest,
// getSpecDecodeGenerationMetrics and getSpeculativeDecodingStrategyName with upstream's signatures
// (cpp/runtime/llmInferenceRuntime.h), implemented on the CPU with known stage delays
// (tests/trt_double/src/runtime.cpp). Only tests link it.
#pragma once

#include "profiling/metrics.h"
#include "profiling/timer.h"
#include "runtime/config/deploymentConfig.h"
#include "runtime/llmRuntimeUtils.h"
#include "runtime/streaming.h"

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <unordered_map>

namespace trt_edgellm
{
namespace rt
{

struct ContextCacheConfig
{
};

class LLMInferenceRuntime
{
public:
    LLMInferenceRuntime(std::string const& engineDir, std::string const& multimodalEngineDir,
        std::unordered_map<std::string, std::string> const& loraWeightsMap,
        SpecDecodeDraftingConfig const& draftingConfig, cudaStream_t stream,
        ContextCacheConfig const& contextCacheConfig = {}, std::string const& checkpointDir = "",
        std::string const& draftCheckpointDir = "");
    LLMInferenceRuntime(std::string const& engineDir, std::string const& multimodalEngineDir,
        std::unordered_map<std::string, std::string> const& loraWeightsMap, cudaStream_t stream,
        ContextCacheConfig const& contextCacheConfig = {}, std::string const& checkpointDir = "");
    ~LLMInferenceRuntime() noexcept;

    bool captureDecodingCUDAGraph(cudaStream_t stream);

    bool handleRequest(LLMGenerationRequest const& request, LLMGenerationResponse& response, cudaStream_t stream,
        bool outputThinkerEmbeddings = false);

    metrics::SpecDecodeGenerationMetrics const& getSpecDecodeGenerationMetrics() const noexcept;
    //! The speculative decoder's name ("eagle", "mtp", "dflash", ...), "vanilla" without one.
    char const* getSpeculativeDecodingStrategyName() const noexcept;

private:
    void init(std::string const& engineDir, cudaStream_t stream);
    //! Double only: the draft tokens the base accepts in decode round `round`.
    int32_t acceptedInRound(int32_t round) const;
    struct State;
    std::unique_ptr<State> mState;
};

} // namespace rt
} // namespace trt_edgellm
