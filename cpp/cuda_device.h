// Selects the CUDA device for the calling thread before any TensorRT or Edge-LLM call
// (`--device N`): cudaSetDevice makes device N's primary context current, the one trtbench's
// Rust side binds through the driver API, so allocations, streams and engines all land on N.
// Plain C++ over the CUDA runtime API; included by the TensorRT and Edge-LLM sides.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace trtbench
{

//! cudaSetDevice(device), checked: throws std::runtime_error naming the device and CUDA's
//! error, or when the runtime then reports another current device.
inline void setCudaDevice(int device)
{
    cudaError_t const e = cudaSetDevice(device);
    if (e != cudaSuccess)
    {
        throw std::runtime_error("cudaSetDevice(" + std::to_string(device) + ") failed: " + cudaGetErrorName(e)
            + ": " + cudaGetErrorString(e));
    }
    int current = -1;
    cudaError_t const g = cudaGetDevice(&current);
    if (g != cudaSuccess || current != device)
    {
        throw std::runtime_error("cudaSetDevice(" + std::to_string(device) + ") left device "
            + std::to_string(current) + " current (" + cudaGetErrorString(g) + ")");
    }
}

} // namespace trtbench
