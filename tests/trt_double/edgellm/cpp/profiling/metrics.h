// trtbench CPU test double: the stage names of Edge-LLM 0.10.0 cpp/profiling/metrics.h that
// the shim reads.
#pragma once

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
} // namespace StageNames
} // namespace metrics
} // namespace trt_edgellm
