// The double of libnvinfer: the version entry points and createInferRuntime_INTERNAL, compiled
// against the real TensorRT 11.4 headers. There is no TensorRT on a CPU, so the runtime
// factory logs an error through the caller's ILogger and returns null, as TensorRT does when
// it cannot start: `trtbench inspect` must turn that into an error carrying the logged text.
#include <NvInferRuntime.h>

extern "C"
{
int32_t getInferLibMajorVersion() noexcept
{
    return NV_TENSORRT_MAJOR;
}

int32_t getInferLibMinorVersion() noexcept
{
    return NV_TENSORRT_MINOR;
}

int32_t getInferLibPatchVersion() noexcept
{
    return NV_TENSORRT_PATCH;
}

int32_t getInferLibBuildVersion() noexcept
{
    return NV_TENSORRT_BUILD;
}

void* createInferRuntime_INTERNAL(void* logger, int32_t /*version*/) noexcept
{
    if (logger != nullptr)
    {
        static_cast<nvinfer1::ILogger*>(logger)->log(nvinfer1::ILogger::Severity::kERROR,
            "trtbench double: no TensorRT runtime on this machine (CPU test double)");
    }
    return nullptr;
}
} // extern "C"
