// Empty CUDA translation unit. Its only purpose is to make CMake treat the shim as a CUDA
// target, so it runs the device-link step (CUDA_RESOLVE_DEVICE_SYMBOLS) over Edge-LLM's
// separably compiled static libraries; without it `__cudaRegisterLinkedBinary_*` symbols stay
// unresolved. Edge-LLM's own Python module does the same (experimental/pybind/device_link_stub.cu).
