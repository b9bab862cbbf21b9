// trtbench CPU test double: SpecDecodeDraftingConfig as Edge-LLM 0.10.0
// cpp/runtime/config/deploymentConfig.h l.45-64 declares it (the caller-side drafting knobs;
// same member names, types and zero defaults; DSpark's scheduler knobs left out, trtbench
// never sets them).
#pragma once

#include <cstdint>

namespace trt_edgellm
{
namespace rt
{

struct SpecDecodeDraftingConfig
{
    int32_t draftingTopK{0};
    int32_t draftingStep{0};
    int32_t verifySize{0};
    int32_t dflashBlockSize{0};
};

} // namespace rt
} // namespace trt_edgellm
