// trtbench CPU test double: FinishReason and its name, as Edge-LLM 0.10.0
// cpp/runtime/streaming.h declares them (values as upstream).
#pragma once

#include "runtime/llmRuntimeUtils.h"

#include <cstdint>

namespace trt_edgellm
{
namespace rt
{

enum class FinishReason : uint8_t
{
    kNotFinished = 0,
    kEndId = 1,
    kLength = 2,
    kCancelled = 3,
    kError = 4,
    kStopWords = 5,
};

char const* finishReasonName(FinishReason r) noexcept;

} // namespace rt
} // namespace trt_edgellm
