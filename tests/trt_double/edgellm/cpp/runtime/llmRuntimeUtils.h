// trtbench CPU test double of TensorRT Edge-LLM 0.10's request/response types. Written for
// trtbench (not copied from Edge-LLM); the names, namespaces and the members cpp/
// edgellm_runner.cpp uses match Edge-LLM 0.10.0 cpp/runtime/llmRuntimeUtils.h. Like upstream,
// temperature/topP/topK/maxGenerateLength have no default initializer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace trt_edgellm
{
namespace rt
{

struct Message
{
    struct MessageContent
    {
        std::string type;
        std::string content;
    };
    std::string role;
    std::vector<MessageContent> contents;
};

enum class FinishReason : uint8_t;

struct TokenCallbackInfo
{
    int32_t tokenId;
    int32_t batchIdx;
    int32_t generationStep;
    bool isFinished;
};

using TokenCallback = std::function<void(TokenCallbackInfo const&)>;

struct LLMGenerationRequest
{
    struct Request
    {
        std::vector<Message> messages;
        std::vector<std::string> stopStrings;
    };
    std::vector<Request> requests;
    float temperature;
    float topP;
    int64_t topK;
    int64_t maxGenerateLength;
    std::string loraWeightsName{""};
    bool applyChatTemplate{true};
    bool addGenerationPrompt{true};
    bool enableThinking{false};
    //! 0.10.0 l.148: run this request with the vanilla decoder on a speculative runtime.
    bool disableSpecDecode{false};
    std::optional<TokenCallback> onTokenGenerated;
};

struct LLMGenerationResponse
{
    std::vector<std::vector<int32_t>> outputIds;
    std::vector<std::string> outputTexts;
    std::vector<FinishReason> finishReasons;
    std::vector<int32_t> inputTokenCounts;
};

} // namespace rt
} // namespace trt_edgellm
