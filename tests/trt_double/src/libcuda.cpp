// The double of the CUDA driver library (libcuda.so.1): the driver entry points cudarc calls
// for src/cuda.rs (device, primary context, streams, timing events, memory info) and the two
// the Edge-LLM double uses (cuMemAlloc/cuMemFree), on the CPU. It is found only through the
// LD_LIBRARY_PATH that scripts/test-trt-double.sh sets for the tests; nothing else loads it.
// Events record the host steady clock, so an elapsed time is the host time between records.
// Knobs: TRTBENCH_DOUBLE_DEVICES (1), TRTBENCH_DOUBLE_TOTAL_MIB (8192) or
// TRTBENCH_DOUBLE_TOTAL_KIB (wins when set), each a comma list giving device i the i-th entry
// (the last one repeats), TRTBENCH_DOUBLE_SM ("8.7"), TRTBENCH_DOUBLE_INTEGRATED (0),
// TRTBENCH_DOUBLE_FAIL=no_device (cuInit finds no GPU, as in a container started without the
// NVIDIA runtime). Every device has its own primary context and its own allocations, so work
// done on the wrong device shows up in another device's free memory. Only CUresult values that exist in the driver
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

constexpr int kMAX_DEVICES = 8;
int gPrimaryContext[kMAX_DEVICES] = {}; // their addresses are the context handles
std::atomic<bool> gInit{false};
std::atomic<uint64_t> gAllocated[kMAX_DEVICES] = {};
thread_local void* tCurrent = nullptr;

int deviceCount()
{
    char const* v = std::getenv("TRTBENCH_DOUBLE_DEVICES");
    int const n = v && *v ? std::atoi(v) : 1;
    return n < 1 ? 1 : (n > kMAX_DEVICES ? kMAX_DEVICES : n);
}

bool validDevice(int dev)
{
    return dev >= 0 && dev < deviceCount();
}

//! The device whose primary context is current on this thread (-1: none).
int currentDevice()
{
    for (int d = 0; d < kMAX_DEVICES; ++d)
    {
        if (tCurrent == &gPrimaryContext[d])
        {
            return d;
        }
    }
    return -1;
}

bool failing(char const* what)
{
    char const* v = std::getenv("TRTBENCH_DOUBLE_FAIL");
    return v != nullptr && std::string(",") .append(v).append(",").find(std::string(",") + what + ",") != std::string::npos;
}

//! Entry `dev` of a comma list (the last entry repeats); `dflt` when the list is unset.
uint64_t listEntry(char const* list, int dev, uint64_t dflt)
{
    if (list == nullptr || *list == '\0')
    {
        return dflt;
    }
    std::string const s(list);
    size_t start = 0;
    for (int i = 0; i < dev; ++i)
    {
        size_t const comma = s.find(',', start);
        if (comma == std::string::npos)
        {
            break;
        }
        start = comma + 1;
    }
    return std::strtoull(s.c_str() + start, nullptr, 10);
}

uint64_t totalBytes(int dev)
{
    if (char const* kib = std::getenv("TRTBENCH_DOUBLE_TOTAL_KIB"))
    {
        return listEntry(kib, dev, 0) << 10;
    }
    return listEntry(std::getenv("TRTBENCH_DOUBLE_TOTAL_MIB"), dev, 8192) << 20;
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
    *n = deviceCount();
    return gInit ? kSUCCESS : kNOT_INITIALIZED;
}

CUresult cuDeviceGet(int* dev, int ordinal)
{
    if (!gInit)
    {
        return kNOT_INITIALIZED;
    }
    if (!validDevice(ordinal))
    {
        return kINVALID_DEVICE;
    }
    *dev = ordinal;
    return kSUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, int attrib, int dev)
{
    if (!validDevice(dev))
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
    if (!validDevice(dev) || len <= 0)
    {
        return kINVALID_VALUE;
    }
    std::string const n = "trtbench CPU double #" + std::to_string(dev);
    std::strncpy(name, n.c_str(), static_cast<size_t>(len) - 1);
    name[len - 1] = '\0';
    return kSUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, int dev)
{
    if (!validDevice(dev))
    {
        return kINVALID_DEVICE;
    }
    *bytes = totalBytes(dev);
    return kSUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(void** ctx, int dev)
{
    if (!validDevice(dev))
    {
        return kINVALID_DEVICE;
    }
    *ctx = &gPrimaryContext[dev];
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

CUresult cuCtxGetDevice(int* dev)
{
    int const d = currentDevice();
    if (d < 0)
    {
        return kINVALID_CONTEXT;
    }
    *dev = d;
    return kSUCCESS;
}

CUresult cuCtxSynchronize()
{
    return tCurrent ? kSUCCESS : kINVALID_CONTEXT;
}

CUresult cuMemGetInfo_v2(size_t* free, size_t* total)
{
    int const d = currentDevice();
    if (d < 0)
    {
        return kINVALID_CONTEXT;
    }
    *total = totalBytes(d);
    *free = *total - gAllocated[d].load();
    return kSUCCESS;
}

CUresult cuMemAlloc_v2(uint64_t* ptr, size_t bytes)
{
    int const d = currentDevice();
    if (d < 0)
    {
        return kINVALID_CONTEXT;
    }
    if (gAllocated[d].load() + bytes > totalBytes(d))
    {
        return kOUT_OF_MEMORY;
    }
    gAllocated[d] += bytes;
    // The pointer is never dereferenced; it carries the size and the device so cuMemFree can
    // return it.
    auto* block = new uint64_t[2]{bytes, static_cast<uint64_t>(d)};
    *ptr = reinterpret_cast<uint64_t>(block);
    return kSUCCESS;
}

CUresult cuMemFree_v2(uint64_t ptr)
{
    auto* block = reinterpret_cast<uint64_t*>(ptr);
    gAllocated[block[1]] -= block[0];
    delete[] block;
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
