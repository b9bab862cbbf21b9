// trtbench CPU test double of Edge-LLM 0.10.0 cpp/common/logger.h: the process-wide
// EdgeLLMLogger singleton (an nvinfer1::ILogger) with setLevel/getLevel. Written for trtbench,
// no upstream code. As upstream: the level starts at kINFO, a message is printed when its
// severity is at or above the level (lower enum value = more severe), WARNING and ERROR go to
// stderr, INFO and VERBOSE to stdout, each line starts with its level in brackets.
#pragma once

#include <NvInferRuntime.h>

#include <cstdio>
#include <string>

namespace trt_edgellm
{
namespace logger
{

class EdgeLLMLogger : public nvinfer1::ILogger
{
public:
    static EdgeLLMLogger& instance() noexcept
    {
        static EdgeLLMLogger* sInstance = new EdgeLLMLogger();
        return *sInstance;
    }

    EdgeLLMLogger(EdgeLLMLogger const&) = delete;
    EdgeLLMLogger& operator=(EdgeLLMLogger const&) = delete;

    void log(nvinfer1::ILogger::Severity severity, char const* msg) noexcept override
    {
        if (severity > mMinLevel)
        {
            return;
        }
        bool const toErr = severity <= nvinfer1::ILogger::Severity::kWARNING;
        std::fprintf(toErr ? stderr : stdout, "[%s] %s\n", levelName(severity), msg);
        std::fflush(toErr ? stderr : stdout);
    }

    void info(std::string const& msg) noexcept
    {
        log(nvinfer1::ILogger::Severity::kINFO, msg.c_str());
    }

    void setLevel(nvinfer1::ILogger::Severity level) noexcept
    {
        mMinLevel = level;
    }

    nvinfer1::ILogger::Severity getLevel() const noexcept
    {
        return mMinLevel;
    }

private:
    EdgeLLMLogger() noexcept = default;
    ~EdgeLLMLogger() noexcept override = default;

    static char const* levelName(nvinfer1::ILogger::Severity s) noexcept
    {
        switch (s)
        {
        case nvinfer1::ILogger::Severity::kINTERNAL_ERROR: return "FATAL";
        case nvinfer1::ILogger::Severity::kERROR: return "ERROR";
        case nvinfer1::ILogger::Severity::kWARNING: return "WARNING";
        case nvinfer1::ILogger::Severity::kINFO: return "INFO";
        case nvinfer1::ILogger::Severity::kVERBOSE: return "DEBUG";
        }
        return "?";
    }

    nvinfer1::ILogger::Severity mMinLevel = nvinfer1::ILogger::Severity::kINFO;
};

} // namespace logger
} // namespace trt_edgellm
