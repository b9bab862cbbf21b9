// The thin cxx adapter's declarations: only cxx types (rust::String, rust::Vec, rust::Str)
// and the shim's plain types appear here. No TensorRT, CUDA or Edge-LLM header is included,
// so this and bridge.cc compile without any SDK. Every fallible function throws; cxx turns
// the std::exception into a Rust Err carrying what() (and the logger's last errors in it).
#pragma once

#include "rust/cxx.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace trtbench
{
class EdgeLlmRunner;

namespace bridge
{
struct EngineDesc;
struct GenerateIn;
struct GenerateOut;
struct Drafting;

//! Owns one Edge-LLM runtime.
class Runner
{
public:
    explicit Runner(std::unique_ptr<EdgeLlmRunner> inner);
    ~Runner();
    bool capture_decode_graphs();
    rust::String strategy_name() const;
    GenerateOut generate(GenerateIn const& request);

private:
    std::unique_ptr<EdgeLlmRunner> mInner;
};

rust::String trt_library_version();
rust::String trt_header_version();
rust::String edge_llm_version();
EngineDesc inspect_engine(rust::Str path, rust::Str plugin_path, int32_t device);
std::unique_ptr<Runner> open_runner(rust::Str engine_dir, rust::Str plugin_path, std::size_t stream, int32_t device,
    bool ignore_eos, bool verbose_log, Drafting const& drafting);

} // namespace bridge
} // namespace trtbench
