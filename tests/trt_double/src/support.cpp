// The Edge-LLM double's timer, profiling switch, plugin loader and failure switches.
#include "common/trtUtils.h"
#include "double_state.h"
#include "profiling/timer.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

namespace
{
std::atomic<bool> gProfiling{false};
std::atomic<bool> gPluginLoaded{false};
} // namespace

namespace trtbench_double
{
bool failing(char const* what)
{
    char const* v = std::getenv("TRTBENCH_DOUBLE_FAIL");
    if (v == nullptr)
    {
        return false;
    }
    std::stringstream list(v);
    std::string item;
    while (std::getline(list, item, ','))
    {
        if (item == what)
        {
            return true;
        }
    }
    return false;
}

bool pluginLoaded()
{
    return gPluginLoaded.load();
}
} // namespace trtbench_double

namespace trt_edgellm
{
bool getProfilingEnabled() noexcept
{
    return gProfiling.load();
}

void setProfilingEnabled(bool enabled) noexcept
{
    gProfiling.store(enabled);
}

void DlDeleter::operator()(void* handle) const noexcept
{
    if (handle)
    {
        dlclose(handle);
    }
}

std::unique_ptr<void, DlDeleter> loadEdgellmPluginLib() noexcept
{
    char const* path = std::getenv("EDGELLM_PLUGIN_PATH");
    if (path == nullptr)
    {
        path = "build/libNvInfer_edgellm_plugin.so";
    }
    void* h = dlopen(path, RTLD_LAZY | RTLD_NODELETE);
    if (h == nullptr)
    {
        char const* err = dlerror();
        std::fprintf(stderr, "[double] cannot load %s: %s\n", path, err ? err : "?");
        return {nullptr, DlDeleter{}};
    }
    // The real plugin registers itself with TensorRT on load; the double's exports a marker.
    if (dlsym(h, "trtbench_double_plugin_marker") == nullptr)
    {
        std::fprintf(stderr, "[double] %s is not the double's plugin library\n", path);
        dlclose(h);
        return {nullptr, DlDeleter{}};
    }
    gPluginLoaded.store(true);
    return {h, DlDeleter{}};
}

namespace timer
{
void Timer::reset() noexcept
{
    mData.clear();
}

std::optional<StageTimingData> Timer::getTimingData(std::string const& stageId) const
{
    auto it = mData.find(stageId);
    if (it == mData.end())
    {
        return std::nullopt;
    }
    return it->second;
}

void Timer::record(std::string const& stageId, float ms)
{
    mData[stageId].gpuTimesMs.push_back(ms);
}
} // namespace timer
} // namespace trt_edgellm

//! Double only, for tests: whether the process-wide profiling switch is on. Edge-LLM has no
//! such symbol; tests look it up with dlsym so that a build against the real SDK still links.
extern "C" int trtbench_double_profiling_enabled()
{
    return trt_edgellm::getProfilingEnabled() ? 1 : 0;
}
