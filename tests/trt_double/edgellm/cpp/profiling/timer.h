// trtbench CPU test double of Edge-LLM 0.10.0 cpp/profiling/timer.h: the global stage timer
// (gTimer) with reset()/getTimingData(), and the process-wide profiling switch. The double
// records host-measured stage durations where upstream records CUDA-event pairs.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace trt_edgellm
{
bool getProfilingEnabled() noexcept;
void setProfilingEnabled(bool enabled) noexcept;

namespace timer
{

struct StageTimingData
{
    std::vector<float> gpuTimesMs;
};

class Timer
{
public:
    void reset() noexcept;
    std::optional<StageTimingData> getTimingData(std::string const& stageId) const;
    //! Double only: what TIME_STAGE records upstream.
    void record(std::string const& stageId, float ms);

private:
    std::unordered_map<std::string, StageTimingData> mData;
};

} // namespace timer

inline timer::Timer gTimer;

} // namespace trt_edgellm
