// Plain C++ over the TensorRT runtime API: library version and a read-only description of
// a serialized engine (`trtbench inspect`). Knows nothing of cxx or Rust; no TensorRT type
// appears in this header, so the cxx adapter (bridge.cc) compiles without the SDK.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trtbench
{

//! One I/O tensor of an engine. Shapes use -1 for dynamic dimensions.
struct TensorInfo
{
    std::string name;
    bool isInput{false};
    std::string dtype;  //!< Symbolic name ("fp16", "int32", ...), never the enum number.
    std::string location; //!< "device" or "host".
    std::string format;   //!< TensorRT's format description for profile 0.
    std::vector<int64_t> shape;
    //! Per optimization profile: min, opt and max shapes (inputs only; empty for outputs).
    std::vector<std::vector<int64_t>> profileMin;
    std::vector<std::vector<int64_t>> profileOpt;
    std::vector<std::vector<int64_t>> profileMax;
};

//! What `inspect` reports about one engine file.
struct EngineInfo
{
    std::string libraryVersion; //!< Of the libnvinfer loaded at run time, "11.4.0.106".
    std::string headerVersion;  //!< Of the headers the shim was compiled against.
    int32_t nbOptimizationProfiles{0};
    int32_t nbLayers{0};
    int32_t nbAuxStreams{0};
    int64_t deviceMemoryBytes{0}; //!< Max over profiles (getDeviceMemorySizeV2).
    std::vector<int64_t> deviceMemoryPerProfileBytes;
    std::vector<TensorInfo> tensors;
};

//! Version of the TensorRT library loaded at run time.
std::string trtLibraryVersion();

//! Version of the TensorRT headers this shim was compiled against.
std::string trtHeaderVersion();

//! Deserializes `enginePath` and describes it. When `pluginPath` is non-empty the plugin
//! library is loaded first (Edge-LLM engines need theirs). Throws std::runtime_error whose
//! message carries TensorRT's last logged errors.
EngineInfo inspectEngine(std::string const& enginePath, std::string const& pluginPath, int device);

} // namespace trtbench
