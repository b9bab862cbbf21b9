// trtbench CPU test double of the plugin loader in Edge-LLM 0.10.0 cpp/common/trtUtils.h:
// DlDeleter and loadEdgellmPluginLib() (dlopen of $EDGELLM_PLUGIN_PATH, default relative
// "build/libNvInfer_edgellm_plugin.so", nullptr on failure).
#pragma once

#include <memory>

namespace trt_edgellm
{

struct DlDeleter
{
    void operator()(void* handle) const noexcept;
};

std::unique_ptr<void, DlDeleter> loadEdgellmPluginLib() noexcept;

} // namespace trt_edgellm
