// The double of the CUDA runtime library (libcudart.so.13), on the CPU. The real one from the
// PyPI wheel needs a real driver (it resolves the driver through cuGetProcAddress), so the
// tests load this one instead, through the LD_LIBRARY_PATH that scripts/test-trt-double.sh
// sets; the shim is still built and linked against the real one. It implements what the shim
// and the Edge-LLM double reference: device selection over the libcuda double (cudaSetDevice
// makes that device's primary context current, as the real runtime does), error strings, and
// the fat-binary registration calls that run when a library with device code loads. Kernel
// launches fail: nothing here runs device code. Exported under the real library's symbol
// version (libcudart.so.13, see libcudart.map), which the shim's references carry.
#include <cstddef>
#include <cstdint>

extern "C"
{
// From the libcuda double (the driver API's own names and signatures).
int cuInit(unsigned int flags);
int cuDeviceGetCount(int* count);
int cuDevicePrimaryCtxRetain(void** ctx, int dev);
int cuCtxSetCurrent(void* ctx);
int cuCtxGetDevice(int* dev);

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorInvalidValue = 1;
constexpr cudaError_t cudaErrorNoDevice = 100;
constexpr cudaError_t cudaErrorInvalidDevice = 101;
constexpr cudaError_t cudaErrorNotSupported = 801;

cudaError_t cudaGetDeviceCount(int* count)
{
    if (cuInit(0) != 0)
    {
        return cudaErrorNoDevice;
    }
    return cuDeviceGetCount(count) == 0 ? cudaSuccess : cudaErrorNoDevice;
}

cudaError_t cudaSetDevice(int device)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess)
    {
        return cudaErrorNoDevice;
    }
    void* ctx = nullptr;
    if (device < 0 || device >= n || cuDevicePrimaryCtxRetain(&ctx, device) != 0)
    {
        return cudaErrorInvalidDevice;
    }
    return cuCtxSetCurrent(ctx) == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}

cudaError_t cudaGetDevice(int* device)
{
    if (device == nullptr)
    {
        return cudaErrorInvalidValue;
    }
    // The runtime's current device is the device of the current context; with none current
    // the real runtime reports device 0.
    if (cuCtxGetDevice(device) != 0)
    {
        *device = 0;
    }
    return cudaSuccess;
}

char const* cudaGetErrorName(cudaError_t e)
{
    switch (e)
    {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    default: return "cudaErrorUnknown";
    }
}

char const* cudaGetErrorString(cudaError_t e)
{
    switch (e)
    {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNotSupported: return "operation not supported";
    default: return "unknown error";
    }
}

// Registration of device code, called by the static constructors of any library holding
// kernels (the shim, through its device link). Nothing to register on a CPU.
void** __cudaRegisterFatBinary(void* /*fatCubin*/)
{
    static void* handle = nullptr;
    return &handle;
}

void __cudaRegisterFatBinaryEnd(void** /*handle*/) {}

void __cudaUnregisterFatBinary(void** /*handle*/) {}

void __cudaRegisterFunction(void** /*handle*/, char const* /*hostFun*/, char* /*deviceFun*/,
    char const* /*deviceName*/, int /*threadLimit*/, void* /*tid*/, void* /*bid*/, void* /*bDim*/,
    void* /*gDim*/, int* /*wSize*/)
{
}

void __cudaRegisterVar(void** /*handle*/, char* /*hostVar*/, char* /*deviceAddress*/,
    char const* /*deviceName*/, int /*ext*/, size_t /*size*/, int /*constant*/, int /*global*/)
{
}

// Launch path: never reached in the tests (no kernel is launched); fails if it is.
unsigned __cudaPushCallConfiguration(void* /*grid*/, void* /*block*/, size_t /*shmem*/, void* /*stream*/)
{
    return 0;
}

cudaError_t __cudaPopCallConfiguration(void* /*grid*/, void* /*block*/, size_t* /*shmem*/, void* /*stream*/)
{
    return cudaSuccess;
}

cudaError_t __cudaGetKernel(void** /*kernel*/, void const* /*func*/)
{
    return cudaErrorNotSupported;
}

cudaError_t __cudaLaunchKernel(void const* /*kernel*/, void* /*grid*/, void* /*block*/, void** /*args*/,
    size_t /*shmem*/, void* /*stream*/)
{
    return cudaErrorNotSupported;
}
} // extern "C"
