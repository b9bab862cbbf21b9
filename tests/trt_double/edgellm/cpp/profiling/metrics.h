// trtbench CPU test double: the stage names of Edge-LLM 0.10.0 cpp/profiling/metrics.h that
// the shim reads.
#pragma once

#include <cstdint>
#include <string>

namespace trt_edgellm
{
bool getProfilingEnabled() noexcept;
void setProfilingEnabled(bool enabled) noexcept;

namespace metrics
{
namespace StageNames
{
inline std::string const kLLM_PREFILL = "llm_prefill";
inline std::string const kLLM_GENERATION = "llm_generation";
// 0.10.0 cpp/profiling/metrics.h l.49-55: the speculative strategies' stages.
inline std::string const kSPEC_DECODE_DRAFT_PREFILL = "spec_decode_draft_prefill";
inline std::string const kSPEC_DECODE_DRAFT_PROPOSAL = "spec_decode_draft_proposal";
inline std::string const kSPEC_DECODE_BASE_VERIFICATION = "spec_decode_base_verification";
inline std::string const kSPEC_DECODE_DRAFT_ACCEPT = "spec_decode_draft_accept";
} // namespace StageNames

//! 0.10.0 cpp/profiling/metrics.h l.180-199: counts accumulate over the runtime's life, and
//! only while profiling is enabled (recordRun returns early otherwise).
class SpecDecodeGenerationMetrics
{
public:
    int64_t totalRuns{0};
    int64_t totalIterations{0};
    int64_t totalGeneratedTokens{0};
    void recordRun(int64_t iterations, int64_t generatedTokens) noexcept
    {
        if (!getProfilingEnabled())
        {
            return;
        }
        totalRuns++;
        totalIterations += iterations;
        totalGeneratedTokens += generatedTokens;
    }
};
} // namespace metrics
} // namespace trt_edgellm
