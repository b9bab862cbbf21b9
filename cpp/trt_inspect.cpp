// Plain C++ over the TensorRT runtime API (NvInferRuntime.h). Written against the TensorRT
// 11.4 headers (shipped by the crates.io crate trtx-sys, TensorRT-Headers/TRT-Enterprise-11.4)
// and kept to calls that exist unchanged since 10.0: createInferRuntime, deserializeCudaEngine
// (blob overload), getNbIOTensors/getIOTensorName/getTensorIOMode/getTensorDataType/
// getTensorShape/getTensorLocation/getTensorFormatDesc, getNbOptimizationProfiles/
// getProfileShape, getDeviceMemorySizeV2/getDeviceMemorySizeForProfileV2 (the V1 sizes were
// removed in 11), getNbLayers, getNbAuxStreams.
#include "trt_inspect.h"
#include "cuda_device.h"
#include "trt_logger.h"

#include <NvInferRuntime.h>
#include <NvInferVersion.h>

#include <dlfcn.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace trtbench
{
namespace
{

std::string dtypeName(nvinfer1::DataType t)
{
    // Named, not numbered: TensorRT 11 shifted several enum values (notes section 2.3).
    switch (t)
    {
    case nvinfer1::DataType::kFLOAT: return "fp32";
    case nvinfer1::DataType::kHALF: return "fp16";
    case nvinfer1::DataType::kINT8: return "int8";
    case nvinfer1::DataType::kINT32: return "int32";
    case nvinfer1::DataType::kBOOL: return "bool";
    case nvinfer1::DataType::kUINT8: return "uint8";
    case nvinfer1::DataType::kFP8: return "fp8";
    case nvinfer1::DataType::kBF16: return "bf16";
    case nvinfer1::DataType::kINT64: return "int64";
    case nvinfer1::DataType::kINT4: return "int4";
#if NV_TENSORRT_MAJOR > 10 || (NV_TENSORRT_MAJOR == 10 && NV_TENSORRT_MINOR >= 8)
    case nvinfer1::DataType::kFP4: return "fp4";
#endif
#if NV_TENSORRT_MAJOR > 10 || (NV_TENSORRT_MAJOR == 10 && NV_TENSORRT_MINOR >= 12)
    case nvinfer1::DataType::kE8M0: return "e8m0";
#endif
    default: break;
    }
    return "unknown(" + std::to_string(static_cast<int32_t>(t)) + ")";
}

std::vector<int64_t> dimsToVec(nvinfer1::Dims const& d)
{
    std::vector<int64_t> v;
    // nbDims is -1 for an invalid query; return an empty shape then.
    for (int32_t i = 0; i < d.nbDims; ++i)
    {
        v.push_back(static_cast<int64_t>(d.d[i]));
    }
    return v;
}

std::vector<char> readFile(std::string const& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
    {
        throw std::runtime_error(path + ": cannot open engine file");
    }
    std::vector<char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (blob.empty())
    {
        throw std::runtime_error(path + ": engine file is empty");
    }
    return blob;
}

} // namespace

std::string trtLibraryVersion()
{
    // Plain C entry points, present in every 10.x and 11.x libnvinfer (NvInferRuntime.h).
    return std::to_string(getInferLibMajorVersion()) + "." + std::to_string(getInferLibMinorVersion()) + "."
        + std::to_string(getInferLibPatchVersion()) + "." + std::to_string(getInferLibBuildVersion());
}

std::string trtHeaderVersion()
{
    // The macros expand through TRT_*_ENTERPRISE since ~10.13; the preprocessor follows that.
    return std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "."
        + std::to_string(NV_TENSORRT_PATCH) + "." + std::to_string(NV_TENSORRT_BUILD);
}

EngineInfo inspectEngine(std::string const& enginePath, std::string const& pluginPath, int device)
{
    setCudaDevice(device);
    CapturingLogger& logger = CapturingLogger::instance();
    uint64_t const mark = logger.mark();

    if (!pluginPath.empty())
    {
        // Plugins register themselves on load (REGISTER_TENSORRT_PLUGIN). RTLD_NODELETE as in
        // Edge-LLM's loadEdgellmPluginLib (cpp/common/trtUtils.h): engines keep using plugin
        // code, so the library must stay mapped for the process lifetime.
        if (dlopen(pluginPath.c_str(), RTLD_LAZY | RTLD_NODELETE) == nullptr)
        {
            char const* err = dlerror();
            throw std::runtime_error("cannot load plugin library " + pluginPath + ": " + (err ? err : "unknown"));
        }
    }

    std::vector<char> const blob = readFile(enginePath);

    std::unique_ptr<nvinfer1::IRuntime> runtime{nvinfer1::createInferRuntime(logger)};
    if (!runtime)
    {
        throw std::runtime_error("createInferRuntime failed" + logger.errorsSince(mark));
    }
    std::unique_ptr<nvinfer1::ICudaEngine> engine{runtime->deserializeCudaEngine(blob.data(), blob.size())};
    if (!engine)
    {
        throw std::runtime_error(enginePath + ": deserializeCudaEngine failed" + logger.errorsSince(mark));
    }

    EngineInfo info;
    info.libraryVersion = trtLibraryVersion();
    info.headerVersion = trtHeaderVersion();
    info.nbOptimizationProfiles = engine->getNbOptimizationProfiles();
    info.nbLayers = engine->getNbLayers();
    info.nbAuxStreams = engine->getNbAuxStreams();
    info.deviceMemoryBytes = engine->getDeviceMemorySizeV2();
    for (int32_t p = 0; p < info.nbOptimizationProfiles; ++p)
    {
        info.deviceMemoryPerProfileBytes.push_back(engine->getDeviceMemorySizeForProfileV2(p));
    }

    int32_t const n = engine->getNbIOTensors();
    for (int32_t i = 0; i < n; ++i)
    {
        char const* name = engine->getIOTensorName(i);
        if (name == nullptr)
        {
            continue;
        }
        TensorInfo t;
        t.name = name;
        t.isInput = engine->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT;
        t.dtype = dtypeName(engine->getTensorDataType(name));
        t.location = engine->getTensorLocation(name) == nvinfer1::TensorLocation::kHOST ? "host" : "device";
        char const* fmt = engine->getTensorFormatDesc(name);
        t.format = fmt ? fmt : "";
        t.shape = dimsToVec(engine->getTensorShape(name));
        if (t.isInput)
        {
            for (int32_t p = 0; p < info.nbOptimizationProfiles; ++p)
            {
                t.profileMin.push_back(dimsToVec(engine->getProfileShape(name, p, nvinfer1::OptProfileSelector::kMIN)));
                t.profileOpt.push_back(dimsToVec(engine->getProfileShape(name, p, nvinfer1::OptProfileSelector::kOPT)));
                t.profileMax.push_back(dimsToVec(engine->getProfileShape(name, p, nvinfer1::OptProfileSelector::kMAX)));
            }
        }
        info.tensors.push_back(std::move(t));
    }
    return info;
}

} // namespace trtbench
