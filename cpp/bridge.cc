// The thin cxx adapter: converts between cxx types and the shim's plain C++ types, nothing
// else. Exceptions from the shim propagate; cxx's generated wrappers catch std::exception
// and hand Rust an Err with what().
#include "bridge.h"

#include "edgellm_runner.h"
#include "trt_inspect.h"
#include "trtbench/src/backends/trt/ffi.rs.h"

#include <string>
#include <utility>

namespace trtbench
{
namespace bridge
{
namespace
{

rust::Vec<int64_t> toVec(std::vector<int64_t> const& v)
{
    rust::Vec<int64_t> out;
    out.reserve(v.size());
    for (int64_t x : v)
    {
        out.push_back(x);
    }
    return out;
}

//! Profile shapes flattened profile after profile; every profile has the tensor's rank.
rust::Vec<int64_t> flatten(std::vector<std::vector<int64_t>> const& vv)
{
    rust::Vec<int64_t> out;
    for (auto const& v : vv)
    {
        for (int64_t x : v)
        {
            out.push_back(x);
        }
    }
    return out;
}

} // namespace

Runner::Runner(std::unique_ptr<EdgeLlmRunner> inner)
    : mInner(std::move(inner))
{
}

Runner::~Runner() = default;

rust::String Runner::strategy_name() const
{
    return rust::String(mInner->strategyName());
}

bool Runner::capture_decode_graphs()
{
    return mInner->captureDecodeGraphs();
}

GenerateOut Runner::generate(GenerateIn const& request)
{
    EdgeLlmRequest req;
    for (auto const& p : request.prompts)
    {
        req.prompts.emplace_back(std::string(p));
    }
    req.temperature = request.temperature;
    req.topP = request.top_p;
    req.topK = request.top_k;
    req.maxGenerateLength = request.max_generate_length;
    req.profile = request.profile;
    req.nvtxRange = std::string(request.nvtx_range);
    req.disableSpecDecode = request.disable_spec_decode;

    EdgeLlmResult res = mInner->generate(req);

    GenerateOut out;
    for (auto const& ids : res.outputIds)
    {
        out.output_lens.push_back(static_cast<uint32_t>(ids.size()));
        for (int32_t id : ids)
        {
            out.output_ids.push_back(id);
        }
    }
    for (int32_t n : res.inputTokenCounts)
    {
        out.input_token_counts.push_back(n);
    }
    for (auto const& r : res.finishReasons)
    {
        out.finish_reasons.push_back(rust::String(r));
    }
    for (float ms : res.prefillMs)
    {
        out.prefill_ms.push_back(ms);
    }
    for (float ms : res.generationMs)
    {
        out.generation_ms.push_back(ms);
    }
    for (int64_t ns : res.hostTokenNs)
    {
        out.host_token_ns.push_back(ns);
    }
    out.host_e2e_ns = res.hostE2eNs;
    auto copy = [](std::vector<float> const& from, rust::Vec<float>& to) {
        for (float ms : from)
        {
            to.push_back(ms);
        }
    };
    copy(res.draftPrefillMs, out.draft_prefill_ms);
    copy(res.draftProposalMs, out.draft_proposal_ms);
    copy(res.baseVerificationMs, out.base_verification_ms);
    copy(res.draftAcceptMs, out.draft_accept_ms);
    out.spec_iterations = res.specIterations;
    out.spec_generated_tokens = res.specGeneratedTokens;
    return out;
}

rust::String trt_library_version()
{
    return rust::String(trtLibraryVersion());
}

rust::String trt_header_version()
{
    return rust::String(trtHeaderVersion());
}

rust::String edge_llm_version()
{
    return rust::String(edgeLlmVersion());
}

EngineDesc inspect_engine(rust::Str path, rust::Str plugin_path, int32_t device)
{
    EngineInfo info = inspectEngine(std::string(path), std::string(plugin_path), device);
    EngineDesc out;
    out.library_version = rust::String(info.libraryVersion);
    out.header_version = rust::String(info.headerVersion);
    out.nb_profiles = info.nbOptimizationProfiles;
    out.nb_layers = info.nbLayers;
    out.nb_aux_streams = info.nbAuxStreams;
    out.device_memory_bytes = info.deviceMemoryBytes;
    out.device_memory_per_profile_bytes = toVec(info.deviceMemoryPerProfileBytes);
    for (auto const& t : info.tensors)
    {
        TensorDesc d;
        d.name = rust::String(t.name);
        d.is_input = t.isInput;
        d.dtype = rust::String(t.dtype);
        d.location = rust::String(t.location);
        d.format = rust::String(t.format);
        d.shape = toVec(t.shape);
        d.profile_min = flatten(t.profileMin);
        d.profile_opt = flatten(t.profileOpt);
        d.profile_max = flatten(t.profileMax);
        out.tensors.push_back(std::move(d));
    }
    return out;
}

std::unique_ptr<Runner> open_runner(rust::Str engine_dir, rust::Str plugin_path, std::size_t stream, int32_t device,
    bool ignore_eos, bool verbose_log, Drafting const& drafting)
{
    EdgeLlmOptions opts;
    opts.engineDir = std::string(engine_dir);
    opts.pluginPath = std::string(plugin_path);
    opts.stream = static_cast<uintptr_t>(stream);
    opts.device = device;
    opts.ignoreEos = ignore_eos;
    opts.verboseLog = verbose_log;
    opts.speculative = drafting.speculative;
    opts.draftingTopK = drafting.drafting_top_k;
    opts.draftingStep = drafting.drafting_step;
    opts.verifySize = drafting.verify_size;
    opts.dflashBlockSize = drafting.dflash_block_size;
    return std::make_unique<Runner>(std::make_unique<EdgeLlmRunner>(opts));
}

} // namespace bridge
} // namespace trtbench
