// Separately compiled (-rdc) device code in the double's core archive, like Edge-LLM's
// kernels: device_b.cu calls this across translation units, so the shim's link is correct
// only if CMake's device-link step (CUDA_RESOLVE_DEVICE_SYMBOLS) resolves it. Never launched.
__device__ int trtbenchDoubleScale(int x)
{
    return 3 * x + 1;
}
