//! Engines, sessions and generations as C handles, over `trtbench::backends::open` and the
//! `engine::Engine` / `engine::Session` traits.
//!
//! Thread-safety of the handles in this file: an engine, its sessions and their
//! generations are used from one thread at a time (the library's engines and sessions are
//! not `Send`): open, use and free them on the same thread, or serialise every call on
//! them yourself (a mutex) and keep them on that thread. Different engines may run on
//! different threads.

use std::ffi::{c_char, c_void};
use std::rc::Rc;

use trtbench::engine::{Engine, Generation, Request, Session, SessionConfig, Token, TokenEvent};

use crate::{c_string, copy_out, guard, status, str_arg, Failure, TrtbenchStatus};

/// An opened engine directory (weights loaded once). Freed by trtbench_engine_free; its
/// sessions keep it alive until they are freed too.
pub struct TrtbenchEngine {
    engine: Rc<Box<dyn Engine>>,
}

/// A session sized for a batch and a sequence length (KV cache and buffers).
pub struct TrtbenchSession {
    // Declared first, so dropped first: it borrows the engine below.
    session: Box<dyn Session + 'static>,
    _engine: Rc<Box<dyn Engine>>,
}

/// One generation's tokens and phase times.
pub struct TrtbenchGeneration {
    generation: Generation,
}

/// Called once per generated token, as it becomes available: `seq` is its sequence in the
/// batch, `index` its position among the generated tokens (0 = the first, at TTFT),
/// `token` its id and `at_ms` the time since the request started (host monotonic clock).
pub type TrtbenchTokenFn =
    Option<unsafe extern "C" fn(user: *mut c_void, seq: u32, index: u32, token: i32, at_ms: f64)>;

/// Phase times of one generation, in milliseconds (trtbench_generation_times).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TrtbenchTimes {
    /// The prompt batch's forward pass.
    pub prefill_ms: f64,
    /// Request start -> first tokens available.
    pub ttft_ms: f64,
    /// Request start -> last token.
    pub e2e_ms: f64,
    /// Decode steps (output tokens - 1); their times: trtbench_generation_step_ms.
    pub steps: usize,
    /// Whether the engine measured device stage times (GPU engines: CUDA events).
    pub has_device: bool,
    /// Device time of the prefill stage (0 without device times).
    pub device_prefill_ms: f64,
    /// Device decode steps; their times: trtbench_generation_device_step_ms.
    pub device_steps: usize,
}

fn ms(d: std::time::Duration) -> f64 {
    trtbench::units::ms(d)
}

/// # Safety
/// `p` is NULL or a live handle of type `T` made by this library.
unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: NULL or a live handle (caller's promise); as_ref checks NULL.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::invalid(format!("{what}: NULL")))
}

/// Opens an engine directory of any backend (llama.cpp GGUF; Edge-LLM with the
/// `tensorrt` feature), or a GGUF file, as `trtbench run` does. NULL on failure.
/// Thread-safety: any thread; the engine then stays on it (see the handles' rules).
///
/// # Safety
/// `dir` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn trtbench_engine_open(dir: *const c_char) -> *mut TrtbenchEngine {
    guard(
        |_| std::ptr::null_mut(),
        || {
            // SAFETY: forwarded from this function's contract.
            let dir = unsafe { str_arg(dir, "dir") }?;
            let engine = trtbench::backends::open(std::path::Path::new(dir))?;
            Ok(Box::into_raw(Box::new(TrtbenchEngine {
                engine: Rc::new(engine),
            })))
        },
    )
}

/// Releases an engine handle; the engine itself goes when its last session is freed.
/// NULL is allowed. Thread-safety: the engine's thread.
///
/// # Safety
/// `engine` is NULL or a handle from trtbench_engine_open, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn trtbench_engine_free(engine: *mut TrtbenchEngine) {
    // SAFETY: the handle is NULL or from Box::into_raw in trtbench_engine_open, freed once.
    unsafe { crate::free_boxed(engine) }
}

/// Tokenizes `text` with the engine's own tokenizer, no special tokens, with the model's
/// beginning-of-sequence token first when `add_bos` and the model has one. Writes up to
/// `cap` ids to `out` and the full count to `*len` (`out` NULL, `cap` 0: count only).
/// Thread-safety: the engine's thread.
///
/// # Safety
/// `engine` is a live handle; `text` a NUL-terminated string; `out` NULL or valid for
/// `cap` writes; `len` valid for one write.
#[no_mangle]
pub unsafe extern "C" fn trtbench_tokenize(
    engine: *const TrtbenchEngine,
    text: *const c_char,
    add_bos: bool,
    out: *mut i32,
    cap: usize,
    len: *mut usize,
) -> TrtbenchStatus {
    status(|| {
        // SAFETY: forwarded from this function's contract.
        let (engine, text) = unsafe { (handle(engine, "engine")?, str_arg(text, "text")?) };
        let mut tokens: Vec<Token> = Vec::new();
        if add_bos {
            tokens.extend(engine.engine.bos());
        }
        tokens.extend(engine.engine.tokenize(text)?);
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(&tokens, out, cap, len) }
    })
}

/// The text of `n` token ids, as the engine's tokenizer writes it. NULL on failure;
/// release the string with trtbench_string_free. Thread-safety: the engine's thread.
///
/// # Safety
/// `engine` is a live handle; `tokens` valid for `n` reads (NULL when `n` is 0).
#[no_mangle]
pub unsafe extern "C" fn trtbench_detokenize(
    engine: *const TrtbenchEngine,
    tokens: *const i32,
    n: usize,
) -> *mut c_char {
    guard(
        |_| std::ptr::null_mut(),
        || {
            // SAFETY: forwarded from this function's contract.
            let engine = unsafe { handle(engine, "engine") }?;
            // SAFETY: forwarded from this function's contract.
            let tokens = unsafe { slice(tokens, n, "tokens") }?;
            Ok(c_string(engine.engine.detokenize(tokens)?))
        },
    )
}

/// # Safety
/// `p` is valid for `n` reads, or `n` is 0.
unsafe fn slice<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T], Failure> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::invalid(format!("{what}: NULL with {n} elements")));
    }
    // SAFETY: non-NULL and valid for `n` reads (caller's promise), not written during the call.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Makes a session for up to `max_batch` sequences of `max_seq` tokens each (prompt +
/// generated), on `threads` CPU threads (0: the backend's default, every core), greedy.
/// NULL on failure (e.g. the KV cache does not fit). Thread-safety: the engine's thread.
///
/// # Safety
/// `engine` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn trtbench_session_new(
    engine: *const TrtbenchEngine,
    max_batch: u32,
    max_seq: u32,
    threads: u32,
) -> *mut TrtbenchSession {
    guard(
        |_| std::ptr::null_mut(),
        || {
            // SAFETY: forwarded from this function's contract.
            let engine = unsafe { handle(engine, "engine") }?;
            let mut cfg = SessionConfig::new(max_batch, max_seq);
            cfg.threads = (threads > 0).then_some(threads);
            let owner = Rc::clone(&engine.engine);
            let session = owner.session(&cfg)?;
            // SAFETY: the session borrows the engine inside `owner`'s Rc, whose heap
            // address never moves; the handle keeps that Rc and drops the session first
            // (field order), so the borrow never outlives the engine.
            let session: Box<dyn Session + 'static> = unsafe { std::mem::transmute(session) };
            Ok(Box::into_raw(Box::new(TrtbenchSession {
                session,
                _engine: owner,
            })))
        },
    )
}

/// Releases a session (and its engine, when the engine handle is already freed). NULL is
/// allowed. Thread-safety: the engine's thread.
///
/// # Safety
/// `session` is NULL or a handle from trtbench_session_new, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn trtbench_session_free(session: *mut TrtbenchSession) {
    // SAFETY: the handle is NULL or from Box::into_raw in trtbench_session_new, freed once.
    unsafe { crate::free_boxed(session) }
}

/// Generates exactly `output_len` tokens for each of `n_prompts` prompts (prompt `i` is
/// `prompts[i]`, `prompt_lens[i]` ids; put the BOS first if the model wants one: see
/// trtbench_tokenize), greedily, calling `on_token(user, ...)` for every token as it
/// becomes available (`on_token` may be NULL). The same `Session::generate` the
/// benchmarks time. NULL on failure. Thread-safety: the engine's thread.
///
/// # Safety
/// `session` is a live handle; `prompts` and `prompt_lens` valid for `n_prompts` reads and
/// each `prompts[i]` for `prompt_lens[i]` reads; `on_token` safe to call with `user`.
#[no_mangle]
pub unsafe extern "C" fn trtbench_generate(
    session: *mut TrtbenchSession,
    prompts: *const *const i32,
    prompt_lens: *const usize,
    n_prompts: usize,
    output_len: u32,
    on_token: TrtbenchTokenFn,
    user: *mut c_void,
) -> *mut TrtbenchGeneration {
    guard(
        |_| std::ptr::null_mut(),
        || {
            // SAFETY: a live, exclusively used handle (this function's contract).
            let session =
                unsafe { session.as_mut() }.ok_or_else(|| Failure::invalid("session: NULL"))?;
            // SAFETY: forwarded from this function's contract.
            let (ptrs, lens) = unsafe {
                (
                    slice(prompts, n_prompts, "prompts")?,
                    slice(prompt_lens, n_prompts, "prompt_lens")?,
                )
            };
            let mut batch = Vec::with_capacity(n_prompts);
            for (i, (p, n)) in ptrs.iter().zip(lens).enumerate() {
                // SAFETY: forwarded from this function's contract.
                batch.push(unsafe { slice(*p, *n, &format!("prompts[{i}]")) }?.to_vec());
            }
            let mut call = |ev: TokenEvent| {
                if let Some(f) = on_token {
                    // SAFETY: the caller promised `on_token` is safe to call with `user`.
                    unsafe { f(user, ev.seq as u32, ev.index, ev.token, ms(ev.at)) };
                }
            };
            let req = Request {
                prompts: &batch,
                output_len,
            };
            let generation = session.session.generate(&req, &mut call)?;
            Ok(Box::into_raw(Box::new(TrtbenchGeneration { generation })))
        },
    )
}

/// Fills `*out` with the generation's phase times. Thread-safety: the engine's thread.
///
/// # Safety
/// `generation` is a live handle; `out` valid for one write.
#[no_mangle]
pub unsafe extern "C" fn trtbench_generation_times(
    generation: *const TrtbenchGeneration,
    out: *mut TrtbenchTimes,
) -> TrtbenchStatus {
    status(|| {
        // SAFETY: forwarded from this function's contract.
        let g = &unsafe { handle(generation, "generation") }?.generation;
        // SAFETY: valid for one write (this function's contract); as_mut checks NULL.
        let out = unsafe { out.as_mut() }.ok_or_else(|| Failure::invalid("out: NULL"))?;
        let t = &g.times;
        *out = TrtbenchTimes {
            prefill_ms: ms(t.prefill),
            ttft_ms: ms(t.ttft),
            e2e_ms: ms(t.e2e),
            steps: t.steps.len(),
            has_device: g.device.is_some(),
            device_prefill_ms: g.device.as_ref().map_or(0.0, |d| ms(d.prefill)),
            device_steps: g.device.as_ref().map_or(0, |d| d.steps.len()),
        };
        Ok(())
    })
}

/// Each decode step's time (the gap between consecutive tokens of the batch, ms): up to
/// `cap` values to `out`, the count to `*len`. Thread-safety: the engine's thread.
///
/// # Safety
/// `generation` is a live handle; `out` NULL or valid for `cap` writes; `len` valid for
/// one write.
#[no_mangle]
pub unsafe extern "C" fn trtbench_generation_step_ms(
    generation: *const TrtbenchGeneration,
    out: *mut f64,
    cap: usize,
    len: *mut usize,
) -> TrtbenchStatus {
    status(|| {
        // SAFETY: forwarded from this function's contract.
        let g = &unsafe { handle(generation, "generation") }?.generation;
        let steps: Vec<f64> = g.times.steps.iter().map(|d| ms(*d)).collect();
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(&steps, out, cap, len) }
    })
}

/// Each decode step's device time (ms; GPU engines, else none), as
/// trtbench_generation_step_ms. Thread-safety: the engine's thread.
///
/// # Safety
/// As trtbench_generation_step_ms.
#[no_mangle]
pub unsafe extern "C" fn trtbench_generation_device_step_ms(
    generation: *const TrtbenchGeneration,
    out: *mut f64,
    cap: usize,
    len: *mut usize,
) -> TrtbenchStatus {
    status(|| {
        // SAFETY: forwarded from this function's contract.
        let g = &unsafe { handle(generation, "generation") }?.generation;
        let steps: Vec<f64> = g
            .device
            .iter()
            .flat_map(|d| &d.steps)
            .map(|d| ms(*d))
            .collect();
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(&steps, out, cap, len) }
    })
}

/// The generated token ids of sequence `seq`: up to `cap` to `out`, the count to `*len`.
/// Thread-safety: the engine's thread.
///
/// # Safety
/// `generation` is a live handle; `out` NULL or valid for `cap` writes; `len` valid for
/// one write.
#[no_mangle]
pub unsafe extern "C" fn trtbench_generation_tokens(
    generation: *const TrtbenchGeneration,
    seq: usize,
    out: *mut i32,
    cap: usize,
    len: *mut usize,
) -> TrtbenchStatus {
    status(|| {
        // SAFETY: forwarded from this function's contract.
        let g = &unsafe { handle(generation, "generation") }?.generation;
        let tokens = g.tokens.get(seq).ok_or_else(|| {
            Failure::invalid(format!(
                "seq: {seq} is not below the batch, {}",
                g.tokens.len()
            ))
        })?;
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(tokens, out, cap, len) }
    })
}

/// Releases a generation. NULL is allowed. Thread-safety: any thread (it owns plain data).
///
/// # Safety
/// `generation` is NULL or a handle from trtbench_generate, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn trtbench_generation_free(generation: *mut TrtbenchGeneration) {
    // SAFETY: the handle is NULL or from Box::into_raw in trtbench_generate, freed once.
    unsafe { crate::free_boxed(generation) }
}
