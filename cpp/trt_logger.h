// A TensorRT ILogger that keeps the last messages of warning severity or worse, so every
// failure the shim reports carries what TensorRT said (TensorRT reports failures through the
// logger and null/false returns, not exceptions). Plain C++; included only by the TensorRT
// side of the shim.
#pragma once

#include <NvInferRuntime.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

namespace trtbench
{

class CapturingLogger : public nvinfer1::ILogger
{
public:
    //! Process-wide instance, never destroyed: TensorRT's plugin registry keeps a pointer to
    //! the first logger it sees (same reasoning as Edge-LLM's EdgeLLMLogger::instance()).
    static CapturingLogger& instance() noexcept
    {
        static CapturingLogger* sInstance = new CapturingLogger();
        return *sInstance;
    }

    void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override
    {
        if (severity > Severity::kWARNING || msg == nullptr)
        {
            return;
        }
        try
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mMessages.emplace_back(++mCount, std::string(severity == Severity::kWARNING ? "warning: " : "error: ") + msg);
            while (mMessages.size() > kKEEP)
            {
                mMessages.pop_front();
            }
        }
        catch (...)
        {
            // Logging must not throw (ILogger::log is noexcept); a lost message is acceptable.
        }
    }

    //! Sequence number of the last message so far; pass it to errorsSince().
    uint64_t mark()
    {
        std::lock_guard<std::mutex> lock(mMutex);
        return mCount;
    }

    //! "; TensorRT said: a | b" for messages logged after `mark`, or "" when there are none.
    std::string errorsSince(uint64_t mark)
    {
        std::lock_guard<std::mutex> lock(mMutex);
        std::string out;
        for (auto const& m : mMessages)
        {
            if (m.first > mark)
            {
                out += out.empty() ? "; TensorRT said: " : " | ";
                out += m.second;
            }
        }
        return out;
    }

private:
    CapturingLogger() = default;
    static constexpr size_t kKEEP = 16;
    std::mutex mMutex;
    std::deque<std::pair<uint64_t, std::string>> mMessages;
    uint64_t mCount{0};
};

} // namespace trtbench
