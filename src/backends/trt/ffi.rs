//! The cxx bridge to the C++ shim in `cpp/` (declarations only; `bridge.cc` is the adapter).
//! No TensorRT, CUDA or Edge-LLM type crosses it: strings, integers, flat vectors and one
//! opaque runner. Every fallible call returns `Result`, whose error text carries the C++
//! exception message (with TensorRT's last logged errors for the raw-TensorRT calls).
#![allow(unsafe_code)]
// SAFETY: the items below are checked by cxx against the C++ declarations in cpp/bridge.h;
// cxx generates the only unsafe code (the extern "C" shims) and verifies the signatures.

#[cxx::bridge(namespace = "trtbench::bridge")]
pub(crate) mod sys {
    /// One I/O tensor of an engine; profile shapes are flattened profile after profile.
    struct TensorDesc {
        name: String,
        is_input: bool,
        dtype: String,
        location: String,
        format: String,
        shape: Vec<i64>,
        profile_min: Vec<i64>,
        profile_opt: Vec<i64>,
        profile_max: Vec<i64>,
    }

    struct EngineDesc {
        library_version: String,
        header_version: String,
        nb_profiles: i32,
        nb_layers: i32,
        nb_aux_streams: i32,
        device_memory_bytes: i64,
        device_memory_per_profile_bytes: Vec<i64>,
        tensors: Vec<TensorDesc>,
    }

    struct GenerateIn {
        prompts: Vec<String>,
        temperature: f32,
        top_p: f32,
        top_k: i64,
        max_generate_length: i64,
        profile: bool,
        /// NVTX range around the whole request ("warmup 1/2", "run 3/5"); empty: none.
        nvtx_range: String,
        /// On a speculative runtime: this request runs the vanilla decoder (the twin).
        disable_spec_decode: bool,
    }

    /// How to construct the runtime: `speculative` takes Edge-LLM's unified constructor with
    /// a `SpecDecodeDraftingConfig` of the four knobs; otherwise they are unused.
    struct Drafting {
        speculative: bool,
        drafting_top_k: i32,
        drafting_step: i32,
        verify_size: i32,
        dflash_block_size: i32,
    }

    /// Output token ids flattened sequence after sequence; `output_lens` splits them.
    struct GenerateOut {
        output_ids: Vec<i32>,
        output_lens: Vec<u32>,
        input_token_counts: Vec<i32>,
        finish_reasons: Vec<String>,
        /// Device stage times (CUDA events inside the runtime).
        prefill_ms: Vec<f32>,
        generation_ms: Vec<f32>,
        /// Host steady clock, request start → first token of each round (-1: no token).
        host_token_ns: Vec<i64>,
        /// Host steady clock of the whole request.
        host_e2e_ns: i64,
        /// Speculative stages, one entry per scope run (empty for a vanilla request).
        draft_prefill_ms: Vec<f32>,
        draft_proposal_ms: Vec<f32>,
        base_verification_ms: Vec<f32>,
        draft_accept_ms: Vec<f32>,
        /// This request's delta of getSpecDecodeGenerationMetrics(), summed over the batch.
        spec_iterations: i64,
        spec_generated_tokens: i64,
    }

    unsafe extern "C++" {
        include!("trtbench/cpp/bridge.h");

        type Runner;

        fn trt_library_version() -> String;
        fn trt_header_version() -> String;
        fn edge_llm_version() -> String;
        fn inspect_engine(path: &str, plugin_path: &str, device: i32) -> Result<EngineDesc>;
        fn open_runner(
            engine_dir: &str,
            plugin_path: &str,
            stream: usize,
            device: i32,
            ignore_eos: bool,
            verbose_log: bool,
            drafting: &Drafting,
        ) -> Result<UniquePtr<Runner>>;
        fn strategy_name(self: &Runner) -> String;
        fn capture_decode_graphs(self: Pin<&mut Runner>) -> Result<bool>;
        fn generate(self: Pin<&mut Runner>, request: &GenerateIn) -> Result<GenerateOut>;
    }
}
