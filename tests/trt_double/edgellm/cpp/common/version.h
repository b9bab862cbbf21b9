// trtbench CPU test double of Edge-LLM's cpp/common/version.h. The "+trtbench-double" suffix
// lets tests know they run against the double and lets nothing mistake it for the real SDK.
#pragma once

namespace trt_edgellm
{
namespace version
{
inline constexpr char const* kRUNTIME_VERSION = "0.10.0+trtbench-double";
} // namespace version
} // namespace trt_edgellm
