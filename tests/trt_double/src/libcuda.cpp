// The double of the CUDA driver library (libcuda.so.1): the driver entry points cudarc calls
// for src/cuda.rs (device, primary context, streams, timing events, memory info) and the two
// the Edge-LLM double uses (cuMemAlloc/cuMemFree), on the CPU. It is found only through the
// LD_LIBRARY_PATH that scripts/test-trt-double.sh sets for the tests; nothing else loads it.
// Events record the host steady clock, so an elapsed time is the host time between records.
// Knobs: TRTBENCH_DOUBLE_TOTAL_MIB (8192), TRTBENCH_DOUBLE_SM ("8.7"),
// TRTBENCH_DOUBLE_INTEGRATED (0), TRTBENCH_DOUBLE_FAIL=no_device (cuInit finds no GPU, as in a
// container started without the NVIDIA runtime). Only CUresult values that exist in the driver
// API (cuda.h) may be returned: cudarc maps them onto a Rust enum.
// Types are declared here, not taken from cuda.h, so the exported names are exactly the
// driver's symbol names (cuda.h maps several to *_v2 with macros).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace
{
using CUresult = int;
constexpr CUresult kSUCCESS = 0;
constexpr CUresult kINVALID_VALUE = 1;
constexpr CUresult kOUT_OF_MEMORY = 2;
constexpr CUresult kNOT_INITIALIZED = 3;
constexpr CUresult kNO_DEVICE = 100;
constexpr CUresult kINVALID_DEVICE = 101;
constexpr CUresult kINVALID_CONTEXT = 201;

struct Event
{
    std::chrono::steady_clock::time_point at{};
    bool recorded{false};
};

struct Stream
{
    int unused{0};
};

int gPrimaryContext = 0; // its address is the one context handle
std::atomic<bool> gInit{false};
std::atomic<uint64_t> gAllocated{0};
thread_local void* tCurrent = nullptr;

bool failing(char const* what)
{
    char const* v = std::getenv("TRTBENCH_DOUBLE_FAIL");
    return v != nullptr && std::string(",") .append(v).append(",").find(std::string(",") + what + ",") != std::string::npos;
}

uint64_t totalBytes()
{
    char const* v = std::getenv("TRTBENCH_DOUBLE_TOTAL_MIB");
    return (v ? std::strtoull(v, nullptr, 10) : 8192ULL) << 20;
}

int sm(bool major)
{
    char const* v = std::getenv("TRTBENCH_DOUBLE_SM");
    std::string s = v ? v : "8.7";
    auto dot = s.find('.');
    return major ? std::atoi(s.substr(0, dot).c_str()) : (dot == std::string::npos ? 0 : std::atoi(s.substr(dot + 1).c_str()));
}
} // namespace

extern "C"
{
CUresult cuInit(unsigned int)
{
    if (failing("no_device"))
    {
        return kNO_DEVICE;
    }
    gInit = true;
    return kSUCCESS;
}

CUresult cuDriverGetVersion(int* v)
{
    *v = 13050;
    return kSUCCESS;
}

CUresult cuDeviceGetCount(int* n)
{
    *n = 1;
    return gInit ? kSUCCESS : kNOT_INITIALIZED;
}

CUresult cuDeviceGet(int* dev, int ordinal)
{
    if (!gInit)
    {
        return kNOT_INITIALIZED;
    }
    if (ordinal != 0)
    {
        return kINVALID_DEVICE;
    }
    *dev = 0;
    return kSUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, int attrib, int dev)
{
    if (dev != 0)
    {
        return kINVALID_DEVICE;
    }
    char const* integrated = std::getenv("TRTBENCH_DOUBLE_INTEGRATED");
    switch (attrib)
    {
    case 18: *value = integrated && std::strcmp(integrated, "1") == 0; break;
    case 75: *value = sm(true); break;
    case 76: *value = sm(false); break;
    default: *value = 0; break; // includes MEMORY_POOLS_SUPPORTED (115): no async allocation
    }
    return kSUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, int dev)
{
    if (dev != 0 || len <= 0)
    {
        return kINVALID_VALUE;
    }
    std::strncpy(name, "trtbench CPU double", static_cast<size_t>(len) - 1);
    name[len - 1] = '\0';
    return kSUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, int)
{
    *bytes = totalBytes();
    return kSUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(void** ctx, int dev)
{
    if (dev != 0)
    {
        return kINVALID_DEVICE;
    }
    *ctx = &gPrimaryContext;
    return kSUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(int)
{
    return kSUCCESS;
}

CUresult cuCtxSetCurrent(void* ctx)
{
    tCurrent = ctx;
    return kSUCCESS;
}

CUresult cuCtxGetCurrent(void** ctx)
{
    *ctx = tCurrent;
    return kSUCCESS;
}

CUresult cuCtxSynchronize()
{
    return tCurrent ? kSUCCESS : kINVALID_CONTEXT;
}

CUresult cuMemGetInfo_v2(size_t* free, size_t* total)
{
    if (tCurrent == nullptr)
    {
        return kINVALID_CONTEXT;
    }
    *total = totalBytes();
    *free = *total - gAllocated.load();
    return kSUCCESS;
}

CUresult cuMemAlloc_v2(uint64_t* ptr, size_t bytes)
{
    if (tCurrent == nullptr)
    {
        return kINVALID_CONTEXT;
    }
    if (gAllocated.load() + bytes > totalBytes())
    {
        return kOUT_OF_MEMORY;
    }
    gAllocated += bytes;
    // The pointer is never dereferenced; it carries the size so cuMemFree can return it.
    auto* block = new uint64_t(bytes);
    *ptr = reinterpret_cast<uint64_t>(block);
    return kSUCCESS;
}

CUresult cuMemFree_v2(uint64_t ptr)
{
    auto* block = reinterpret_cast<uint64_t*>(ptr);
    gAllocated -= *block;
    delete block;
    return kSUCCESS;
}

CUresult cuStreamCreate(void** stream, unsigned int)
{
    if (tCurrent == nullptr)
    {
        return kINVALID_CONTEXT;
    }
    *stream = new Stream();
    return kSUCCESS;
}

CUresult cuStreamDestroy_v2(void* stream)
{
    delete static_cast<Stream*>(stream);
    return kSUCCESS;
}

CUresult cuStreamSynchronize(void*)
{
    return kSUCCESS;
}

CUresult cuStreamWaitEvent(void*, void*, unsigned int)
{
    return kSUCCESS;
}

CUresult cuEventCreate(void** event, unsigned int)
{
    *event = new Event();
    return kSUCCESS;
}

CUresult cuEventDestroy_v2(void* event)
{
    delete static_cast<Event*>(event);
    return kSUCCESS;
}

CUresult cuEventRecord(void* event, void*)
{
    auto* e = static_cast<Event*>(event);
    e->at = std::chrono::steady_clock::now();
    e->recorded = true;
    return kSUCCESS;
}

CUresult cuEventSynchronize(void*)
{
    return kSUCCESS;
}

CUresult cuEventQuery(void*)
{
    return kSUCCESS;
}

CUresult cuEventElapsedTime(float* ms, void* start, void* end)
{
    auto* a = static_cast<Event*>(start);
    auto* b = static_cast<Event*>(end);
    if (!a->recorded || !b->recorded)
    {
        return kINVALID_VALUE;
    }
    *ms = std::chrono::duration<float, std::milli>(b->at - a->at).count();
    return kSUCCESS;
}

CUresult cuEventElapsedTime_v2(float* ms, void* start, void* end)
{
    return cuEventElapsedTime(ms, start, end);
}

CUresult cuGetErrorName(CUresult error, char const** str)
{
    switch (error)
    {
    case kSUCCESS: *str = "CUDA_SUCCESS"; break;
    case kINVALID_VALUE: *str = "CUDA_ERROR_INVALID_VALUE"; break;
    case kOUT_OF_MEMORY: *str = "CUDA_ERROR_OUT_OF_MEMORY"; break;
    case kNOT_INITIALIZED: *str = "CUDA_ERROR_NOT_INITIALIZED"; break;
    case kNO_DEVICE: *str = "CUDA_ERROR_NO_DEVICE"; break;
    case kINVALID_DEVICE: *str = "CUDA_ERROR_INVALID_DEVICE"; break;
    case kINVALID_CONTEXT: *str = "CUDA_ERROR_INVALID_CONTEXT"; break;
    default: *str = "CUDA_ERROR_UNKNOWN"; break;
    }
    return kSUCCESS;
}

CUresult cuGetErrorString(CUresult error, char const** str)
{
    return cuGetErrorName(error, str);
}
} // extern "C"
