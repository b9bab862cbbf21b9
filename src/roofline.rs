//! The machine's speed of light and the formulas that compare a run against it: memory
//! bandwidth by a STREAM-style triad over every thread, a compute peak by an f32
//! multiply-add loop over every thread at the widest vector width ggml uses here (AVX2 with
//! FMA on x86-64 where the CPU has them, NEON FMA on aarch64), or by an int8 loop where the
//! CPU has one (aarch64 dotprod `sdot` and i8mm `smmla`, what ggml's quantized kernels run
//! there), and the bytes and FLOPs one decode step or one prefill must move or compute.
//! Plain numbers in and out; knows no engine or record (`bench::roofline` maps a point onto
//! these). Depends on `platform` (the cache size) only. The formulas and their sources
//! are in docs/ARCHITECTURE.md, "Speed of light".

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Bytes one triad element moves as STREAM counts them: read `b[i]` and `c[i]`, write
/// `a[i]`, 8 bytes each (stream.c, `bytes[3] = 3 * sizeof(STREAM_TYPE) * STREAM_ARRAY_SIZE`).
/// The write-allocate read of `a[i]` that a write-back cache adds is not counted, as in
/// STREAM, so the hardware moves up to 4/3 of what is reported.
pub const TRIAD_BYTES_PER_ELEMENT: u64 = 24;

/// Smallest triad working set (all three arrays): 256 MiB.
pub const MIN_TRIAD_BYTES: u64 = 256 << 20;

/// Timed repetitions of the triad; the best one counts (STREAM reports the best of
/// `NTIMES` = 10 and discards the first; ours is a warm-up).
pub const TRIAD_REPS: u32 = 6;

/// Triad working set for a machine whose last-level cache holds `llc_bytes`: four times the
/// cache (STREAM's rule: each array at least 4× the sum of all last-level caches), and at
/// least [`MIN_TRIAD_BYTES`].
pub fn triad_bytes(llc_bytes: Option<u64>) -> u64 {
    llc_bytes
        .map(|c| 3 * 4 * c)
        .unwrap_or(0)
        .max(MIN_TRIAD_BYTES)
}

/// The machine's measured peaks, recorded once per run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Machine {
    /// Best triad bandwidth, STREAM's byte count (24 bytes per element, no write-allocate).
    pub bandwidth_gb_per_s: f64,
    /// Bytes of the three triad arrays together.
    pub triad_bytes: u64,
    pub triad_reps: u32,
    /// Last-level cache the working set was sized against, when sysfs gives it.
    pub llc_bytes: Option<u64>,
    pub threads: usize,
    /// Best multiply-add rate over every thread, in operations per second: f32 FMA, or the
    /// int8 dot product where the CPU has one and it is faster ([`compute_peak`]); `None`
    /// when not measured.
    pub compute_flop_per_s: Option<f64>,
    /// What the compute figure is: the instructions the probe ran.
    pub compute_method: String,
}

/// Measures bandwidth and compute on `threads` threads (every core when `None`).
pub fn measure(threads: Option<usize>) -> Machine {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let llc = crate::platform::last_level_cache_bytes(std::path::Path::new("/"));
    let bytes = triad_bytes(llc);
    let best = triad(bytes, threads, TRIAD_REPS);
    let elements = bytes / TRIAD_BYTES_PER_ELEMENT;
    let round = Duration::from_millis(150);
    let (flop, compute_method) = compute_peak(
        fma_peak(threads, round, 3),
        int8_peak(threads, round, 3),
        threads,
    );
    Machine {
        bandwidth_gb_per_s: gb_per_s(elements * TRIAD_BYTES_PER_ELEMENT, best),
        triad_bytes: bytes,
        triad_reps: TRIAD_REPS,
        llc_bytes: llc,
        threads,
        compute_flop_per_s: Some(flop),
        compute_method,
    }
}

/// Bytes per second in GB/s (10^9, as STREAM reports MB/s in 10^6).
pub fn gb_per_s(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

/// Best time of `reps` timed triads (after one warm-up) over a working set of `bytes`
/// (three f64 arrays), split into one contiguous chunk per thread. Each thread allocates
/// and first-touches its own chunk, so on a NUMA machine its pages are local, as with
/// STREAM's OpenMP initialisation. All threads start together at a barrier; a repetition
/// lasts from the start barrier to the end barrier.
pub fn triad(bytes: u64, threads: usize, reps: u32) -> Duration {
    let threads = threads.max(1);
    let per_thread = (bytes / TRIAD_BYTES_PER_ELEMENT) as usize / threads;
    let start = Barrier::new(threads + 1);
    let end = Barrier::new(threads + 1);
    let mut best = Duration::MAX;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let (mut a, b, c) = (
                    vec![1.0f64; per_thread],
                    vec![2.0f64; per_thread],
                    vec![0.5f64; per_thread],
                );
                for _ in 0..=reps {
                    start.wait();
                    triad_kernel(&mut a, &b, &c, black_box(3.0));
                    end.wait();
                }
                black_box(&a);
            });
        }
        for rep in 0..=reps {
            start.wait();
            let t = Instant::now();
            end.wait();
            if rep > 0 {
                best = best.min(t.elapsed());
            }
        }
    });
    best
}

/// STREAM's triad: `a[i] = b[i] + s * c[i]`.
pub fn triad_kernel(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
        *a = b + s * c;
    }
}

/// Floating-point operations of one [`fma_kernel`] iteration.
pub const FMA_FLOPS_PER_ITER: u64 = 64 * 2;

/// `iters` rounds of `v = v * x + y` on 64 independent f32 lanes (enough independent
/// chains to hide the multiply-add latency at any vector width up to 512 bits), with the
/// widest instructions [`fma_isa`] names: the peak must be the one the engine's kernels
/// can reach, or a prefill that uses FMA shows above 100% of it. On x86-64 the compiler's
/// baseline is SSE2 without FMA, a quarter of what an AVX2-FMA core does (ggml's CPU
/// kernels are built with AVX2 and FMA wherever the CPU has them), so those run through
/// explicit intrinsics, whatever the optimisation level; on aarch64 NEON `fmla` through
/// intrinsics too (at opt-level 1 the compiler does not vectorise the portable loop).
pub fn fma_kernel(iters: u64, x: f32, y: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        return simd::fma_avx2(iters, x, y);
    }
    #[cfg(target_arch = "aarch64")]
    {
        neon::fma_neon(iters, x, y)
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        let mut acc = [[1.0f32; 16]; 4];
        for _ in 0..iters {
            for lane in acc.iter_mut() {
                for v in lane.iter_mut() {
                    *v = *v * x + y;
                }
            }
        }
        acc.iter().flatten().sum()
    }
}

/// The instructions [`fma_kernel`] runs on this machine.
pub fn fma_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        return "fused multiply-add, AVX2 + FMA (256-bit)";
    }
    if cfg!(target_arch = "aarch64") {
        "fused multiply-add, NEON fmla (128-bit)"
    } else {
        "multiply + add, the compiler's baseline vector width"
    }
}

/// Operations of one [`dot_kernel`] iteration: 16 `sdot`s, each 4 lanes × 4 int8
/// multiply-accumulates, 2 operations per multiply-accumulate (counted like a FLOP).
pub const DOT_OPS_PER_ITER: u64 = 16 * 4 * 4 * 2;

/// `iters` rounds of 16 independent int8 dot products (`sdot`, Armv8.2-A dotprod) of
/// `a`·`b` into i32 lanes: the instruction ggml's quantized matrix products (q4_0, q4_1,
/// q8_0, k-quants against q8 activations) run on a CPU with dotprod, four times the
/// multiply-accumulates of an f32 `fmla` per instruction. The sum of every lane; `None`
/// where the CPU (or the architecture) has no dotprod.
pub fn dot_kernel(iters: u64, a: i8, b: i8) -> Option<i64> {
    #[cfg(target_arch = "aarch64")]
    if neon::has_dotprod() {
        return Some(neon::dot_sdot(iters, a, b));
    }
    let _ = (iters, a, b);
    None
}

/// The instructions [`dot_kernel`] runs on this machine, when it runs.
pub fn dot_isa() -> Option<&'static str> {
    dot_kernel(1, 0, 0).map(|_| "int8 dot product, NEON sdot (128-bit, dotprod)")
}

/// Operations of one [`mmla_kernel`] iteration: 16 `smmla`s, each a 2×8 by 8×2 int8 matrix
/// product into 4 i32 lanes (32 multiply-accumulates), 2 operations per multiply-accumulate.
pub const MMLA_OPS_PER_ITER: u64 = 16 * 4 * 8 * 2;

/// `iters` rounds of 16 independent int8 matrix multiply-accumulates (`smmla`, the i8mm
/// extension: Neoverse-V3AE in Jetson Thor): what ggml's quantized matrix products run where
/// it was built with MATMUL_INT8, twice the multiply-accumulates of `sdot` per instruction.
/// The sum of every lane; `None` where the CPU (or the architecture) has no i8mm.
pub fn mmla_kernel(iters: u64, a: i8, b: i8) -> Option<i64> {
    #[cfg(target_arch = "aarch64")]
    if neon::has_i8mm() {
        return Some(neon::mmla_smmla(iters, a, b));
    }
    let _ = (iters, a, b);
    None
}

/// The instructions [`mmla_kernel`] runs on this machine, when it runs.
pub fn mmla_isa() -> Option<&'static str> {
    mmla_kernel(1, 0, 0).map(|_| "int8 matrix multiply-accumulate, NEON smmla (128-bit, i8mm)")
}

/// The x86-64 probe: AVX2 + FMA intrinsics, chosen at run time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // Reason: SIMD intrinsics, called only where the CPU reports them.
mod simd {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps,
    };

    pub fn has_avx2_fma() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// [`super::fma_kernel`]'s arithmetic on 8 registers of 8 lanes: 8 independent chains,
    /// enough for two FMA pipes of 4 cycles' latency.
    pub fn fma_avx2(iters: u64, x: f32, y: f32) -> f32 {
        assert!(has_avx2_fma(), "fma_avx2 without AVX2 and FMA");
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { kernel(iters, x, y) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel(iters: u64, x: f32, y: f32) -> f32 {
        let (xv, yv) = (_mm256_set1_ps(x), _mm256_set1_ps(y));
        let one = _mm256_set1_ps(1.0);
        let (mut a0, mut a1, mut a2, mut a3) = (one, one, one, one);
        let (mut a4, mut a5, mut a6, mut a7) = (one, one, one, one);
        for _ in 0..iters {
            a0 = _mm256_fmadd_ps(a0, xv, yv);
            a1 = _mm256_fmadd_ps(a1, xv, yv);
            a2 = _mm256_fmadd_ps(a2, xv, yv);
            a3 = _mm256_fmadd_ps(a3, xv, yv);
            a4 = _mm256_fmadd_ps(a4, xv, yv);
            a5 = _mm256_fmadd_ps(a5, xv, yv);
            a6 = _mm256_fmadd_ps(a6, xv, yv);
            a7 = _mm256_fmadd_ps(a7, xv, yv);
        }
        let s: __m256 = _mm256_add_ps(
            _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
            _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)),
        );
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), s);
        lanes.iter().sum()
    }
}

/// The aarch64 probes: NEON `fmla` (every aarch64 CPU has NEON) and `sdot` where the CPU
/// reports dotprod (Cortex-A78AE in Jetson Orin, Neoverse-V3AE in Jetson Thor).
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)] // Reason: SIMD intrinsics and `sdot` by inline assembly (Rust's
                      // `vdotq_s32` is unstable), run only where the CPU reports the feature.
mod neon {
    use std::arch::aarch64::{
        float32x4_t, int32x4_t, vaddq_f32, vaddvq_f32, vaddvq_s32, vdupq_n_f32, vdupq_n_s32,
        vdupq_n_s8, vfmaq_f32,
    };

    pub fn has_dotprod() -> bool {
        std::arch::is_aarch64_feature_detected!("dotprod")
    }

    pub fn has_i8mm() -> bool {
        std::arch::is_aarch64_feature_detected!("i8mm")
    }

    /// [`super::fma_kernel`]'s arithmetic on 16 registers of 4 lanes: 16 independent
    /// chains, enough for four FMA pipes of 4 cycles' latency (Neoverse V-class).
    pub fn fma_neon(iters: u64, x: f32, y: f32) -> f32 {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { fma(iters, x, y) }
    }

    #[target_feature(enable = "neon")]
    unsafe fn fma(iters: u64, x: f32, y: f32) -> f32 {
        let (xv, yv) = (vdupq_n_f32(x), vdupq_n_f32(y));
        let mut acc: [float32x4_t; 16] = [vdupq_n_f32(1.0); 16];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                // vfmaq_f32(a, b, c) is a + b·c: v·x + y is (y, v, x).
                *a = vfmaq_f32(yv, *a, xv);
            }
        }
        let s = acc.iter().fold(vdupq_n_f32(0.0), |s, a| vaddq_f32(s, *a));
        vaddvq_f32(s)
    }

    /// [`super::dot_kernel`] on 16 accumulators.
    pub fn dot_sdot(iters: u64, a: i8, b: i8) -> i64 {
        assert!(has_dotprod(), "dot_sdot without dotprod");
        // SAFETY: the CPU has dotprod (checked just above).
        unsafe { dot(iters, a, b) }
    }

    #[target_feature(enable = "neon,dotprod")]
    unsafe fn dot(iters: u64, a: i8, b: i8) -> i64 {
        let (av, bv) = (vdupq_n_s8(a), vdupq_n_s8(b));
        let mut acc: [int32x4_t; 16] = [vdupq_n_s32(0); 16];
        for _ in 0..iters {
            for s in acc.chunks_exact_mut(4) {
                // SAFETY: `sdot` reads and writes only the named registers.
                unsafe {
                    std::arch::asm!(
                        "sdot {s0:v}.4s, {a:v}.16b, {b:v}.16b",
                        "sdot {s1:v}.4s, {a:v}.16b, {b:v}.16b",
                        "sdot {s2:v}.4s, {a:v}.16b, {b:v}.16b",
                        "sdot {s3:v}.4s, {a:v}.16b, {b:v}.16b",
                        s0 = inout(vreg) s[0],
                        s1 = inout(vreg) s[1],
                        s2 = inout(vreg) s[2],
                        s3 = inout(vreg) s[3],
                        a = in(vreg) av,
                        b = in(vreg) bv,
                        options(pure, nomem, nostack),
                    );
                }
            }
        }
        // Each lane stays far below i32::MAX for the iteration counts the probe uses;
        // summed in i64.
        acc.iter().map(|v| i64::from(vaddvq_s32(*v))).sum()
    }

    /// [`super::mmla_kernel`] on 16 accumulators.
    pub fn mmla_smmla(iters: u64, a: i8, b: i8) -> i64 {
        assert!(has_i8mm(), "mmla_smmla without i8mm");
        // SAFETY: the CPU has i8mm (checked just above).
        unsafe { mmla(iters, a, b) }
    }

    #[target_feature(enable = "neon,i8mm")]
    unsafe fn mmla(iters: u64, a: i8, b: i8) -> i64 {
        let (av, bv) = (vdupq_n_s8(a), vdupq_n_s8(b));
        let mut acc: [int32x4_t; 16] = [vdupq_n_s32(0); 16];
        for _ in 0..iters {
            for s in acc.chunks_exact_mut(4) {
                // SAFETY: `smmla` reads and writes only the named registers.
                unsafe {
                    std::arch::asm!(
                        "smmla {s0:v}.4s, {a:v}.16b, {b:v}.16b",
                        "smmla {s1:v}.4s, {a:v}.16b, {b:v}.16b",
                        "smmla {s2:v}.4s, {a:v}.16b, {b:v}.16b",
                        "smmla {s3:v}.4s, {a:v}.16b, {b:v}.16b",
                        s0 = inout(vreg) s[0],
                        s1 = inout(vreg) s[1],
                        s2 = inout(vreg) s[2],
                        s3 = inout(vreg) s[3],
                        a = in(vreg) av,
                        b = in(vreg) bv,
                        options(pure, nomem, nostack),
                    );
                }
            }
        }
        acc.iter().map(|v| i64::from(vaddvq_s32(*v))).sum()
    }
}

/// Best rate of `reps` timed rounds of `kernel` on every thread at once, each round lasting
/// about `round`; `ops_per_iter` operations per kernel iteration.
fn peak(threads: usize, round: Duration, reps: u32, ops_per_iter: u64, kernel: fn(u64)) -> f64 {
    let threads = threads.max(1);
    // Calibrate one thread's iterations to the round length.
    let probe = 200_000u64;
    let t = Instant::now();
    kernel(black_box(probe));
    let per_iter = t.elapsed().as_secs_f64().max(1e-9) / probe as f64;
    let iters = ((round.as_secs_f64() / per_iter) as u64).max(1000);
    let mut best = 0.0f64;
    for _ in 0..reps {
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| kernel(black_box(iters)));
            }
        });
        let ops = (iters * ops_per_iter * threads as u64) as f64;
        best = best.max(ops / t.elapsed().as_secs_f64());
    }
    best
}

/// Best f32 FLOP/s of `reps` timed rounds of [`fma_kernel`] on every thread at once, each
/// round lasting about `round`.
pub fn fma_peak(threads: usize, round: Duration, reps: u32) -> f64 {
    peak(threads, round, reps, FMA_FLOPS_PER_ITER, |n| {
        black_box(fma_kernel(n, 0.999_999, 1e-7));
    })
}

/// Best int8 operations per second (2 per multiply-accumulate) on every thread at once, of
/// the fastest int8 instruction the CPU has ([`dot_kernel`], [`mmla_kernel`]), with its
/// name; `None` where it has neither.
pub fn int8_peak(threads: usize, round: Duration, reps: u32) -> Option<(f64, &'static str)> {
    let dot = dot_isa().map(|isa| {
        let r = peak(threads, round, reps, DOT_OPS_PER_ITER, |n| {
            black_box(dot_kernel(n, 1, -1));
        });
        (r, isa)
    });
    let mmla = mmla_isa().map(|isa| {
        let r = peak(threads, round, reps, MMLA_OPS_PER_ITER, |n| {
            black_box(mmla_kernel(n, 1, -1));
        });
        (r, isa)
    });
    match (dot, mmla) {
        (Some(d), Some(m)) => Some(if m.0 > d.0 { m } else { d }),
        (d, m) => d.or(m),
    }
}

/// The compute peak a prefill is compared with, and what it is: the f32 multiply-add rate,
/// or the int8 rate ([`int8_peak`]) where the CPU has an int8 instruction and it is the
/// higher (ggml's quantized matrix products run on it there, so an f32 peak would put a
/// prefill above 100%).
pub fn compute_peak(fma: f64, int8: Option<(f64, &str)>, threads: usize) -> (f64, String) {
    let lanes = format!("64 independent lanes per thread, {threads} threads");
    match int8 {
        Some((r, isa)) if r > fma => (
            r,
            format!(
                "{isa}, 2 operations per int8 multiply-accumulate, {lanes} (f32 {}: {:.1} \
                 GFLOP/s)",
                fma_isa(),
                fma / 1e9
            ),
        ),
        _ => (fma, format!("f32 {}, {lanes}", fma_isa())),
    }
}

/// Mean number of tokens in context over the decode steps of a generation: step k
/// (k = 1 … osl − 1) attends to `depth + isl + k` tokens, whose mean is
/// `depth + isl + osl / 2`.
pub fn mean_decode_context(depth: u32, isl: u32, osl: u32) -> f64 {
    f64::from(depth) + f64::from(isl) + f64::from(osl) / 2.0
}

/// Bytes one decode step must read: every weight once (shared by the batch) plus each
/// sequence's KV cache at the mean context length.
pub fn decode_bytes_per_step(
    weights_bytes: u64,
    kv_bytes_per_token: f64,
    batch: u32,
    mean_context: f64,
) -> f64 {
    weights_bytes as f64 + f64::from(batch) * kv_bytes_per_token * mean_context
}

/// The shapes a prefill's FLOP count needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefillShape {
    /// Parameters multiplied by every prompt token (all but the token-embedding table).
    pub matmul_params: u64,
    /// Parameters multiplied once per sequence (the output projection: logits are taken for
    /// the last prompt token only).
    pub head_params: u64,
    pub layers: u32,
    pub heads: u32,
    pub head_dim: u32,
    pub depth: u32,
    pub isl: u32,
    pub batch: u32,
}

/// FLOPs of one prefill: 2 per parameter per token (Kaplan et al. 2020, table 1), plus the
/// attention scores and weighted sum, 2 × 2 × heads × head_dim per (query, key) pair, over
/// the causal pairs: query j (0-based among `isl`) sees `depth + j + 1` keys, so the pairs
/// per sequence are `isl × depth + isl (isl + 1) / 2`.
pub fn prefill_flops(s: &PrefillShape) -> f64 {
    let isl = f64::from(s.isl);
    let b = f64::from(s.batch);
    let dense = 2.0 * s.matmul_params as f64 * isl * b + 2.0 * s.head_params as f64 * b;
    let pairs = isl * f64::from(s.depth) + isl * (isl + 1.0) / 2.0;
    let attn = 4.0 * f64::from(s.layers) * f64::from(s.heads) * f64::from(s.head_dim) * pairs * b;
    dense + attn
}

/// `achieved` as a percentage of `peak`.
pub fn pct(achieved: f64, peak: f64) -> Option<f64> {
    (peak > 0.0 && achieved.is_finite()).then(|| 100.0 * achieved / peak)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triad_computes_stream_values() {
        let (mut a, b, c) = (vec![0.0; 5], vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![2.0; 5]);
        triad_kernel(&mut a, &b, &c, 3.0);
        assert_eq!(a, vec![7.0, 8.0, 9.0, 10.0, 11.0]);
        // A small triad runs and takes time (a zero would make the bandwidth infinite).
        let t = triad(24 * 4096, 2, 2);
        assert!(t > Duration::ZERO && t < Duration::from_secs(5), "{t:?}");
    }

    #[test]
    fn working_set_is_four_caches_and_at_least_256_mib() {
        assert_eq!(triad_bytes(None), 256 << 20);
        assert_eq!(triad_bytes(Some(8 << 20)), 256 << 20); // 96 MiB < 256 MiB
        assert_eq!(triad_bytes(Some(64 << 20)), 768 << 20); // each array 4 × 64 MiB
        assert!((gb_per_s(3_000_000_000, Duration::from_millis(500)) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn fma_kernel_does_the_arithmetic() {
        // v ← v·1 + 1, 10 times, from 1: 11 on each of 64 lanes.
        assert_eq!(fma_kernel(10, 1.0, 1.0), 64.0 * 11.0);
        assert!(fma_peak(1, Duration::from_millis(5), 1) > 0.0);
        assert_eq!(fma_kernel(3, 2.0, 0.5), 64.0 * 11.5);
        if cfg!(target_arch = "aarch64") {
            assert!(fma_isa().contains("NEON"), "{}", fma_isa());
        }
    }

    #[test]
    fn int8_kernels_do_the_arithmetic_where_the_cpu_has_them() {
        // 10 iterations × 16 sdot × 4 lanes × 4 products of 3·(−2): −15360.
        let dot = dot_kernel(10, 3, -2);
        // 10 iterations × 16 smmla × 4 lanes × 8 products of 3·(−2): −30720.
        let mmla = mmla_kernel(10, 3, -2);
        #[cfg(target_arch = "aarch64")]
        {
            assert_eq!(
                dot.is_some(),
                std::arch::is_aarch64_feature_detected!("dotprod")
            );
            assert_eq!(
                mmla.is_some(),
                std::arch::is_aarch64_feature_detected!("i8mm")
            );
        }
        if let Some(sum) = dot {
            assert_eq!(sum, -15360);
            assert!(dot_isa().unwrap().contains("sdot"));
        }
        if let Some(sum) = mmla {
            assert_eq!(sum, -30720);
            assert!(mmla_isa().unwrap().contains("smmla"));
        }
        let peak = int8_peak(1, Duration::from_millis(5), 1);
        assert_eq!(peak.is_some(), dot.is_some() || mmla.is_some());
        assert!(peak.is_none_or(|(r, _)| r > 0.0));
        // scripts/check-aarch64.sh sets these under CPU models that have the instructions,
        // so a probe that does not run fails instead of taking the `None` branch.
        if std::env::var_os("TRTBENCH_EXPECT_DOTPROD").is_some() {
            assert_eq!(dot, Some(-15360), "dotprod probe did not run");
        }
        if std::env::var_os("TRTBENCH_EXPECT_I8MM").is_some() {
            assert_eq!(mmla, Some(-30720), "i8mm probe did not run");
        }
    }

    #[test]
    fn compute_peak_takes_the_faster_instruction() {
        let (p, m) = compute_peak(10e9, None, 2);
        assert_eq!(p, 10e9);
        assert!(m.starts_with("f32 ") && m.ends_with("2 threads"), "{m}");
        let (p, m) = compute_peak(10e9, Some((35e9, "int8 dot product, NEON sdot")), 2);
        assert_eq!(p, 35e9);
        assert!(
            m.starts_with("int8 dot") && m.contains("10.0 GFLOP/s"),
            "{m}"
        );
        // An int8 rate below the f32 one (no reason on real hardware) is not taken.
        assert_eq!(compute_peak(10e9, Some((5e9, "x")), 1).0, 10e9);
    }

    #[test]
    fn decode_bytes_smollm2() {
        // SmolLM2-135M q4_1: weights 85.8 MB (llama.cpp model size of the default engine is
        // of that order), KV 23040 B/token in f16 (engine.rs test), batch 2, depth 0,
        // isl 128, osl 33: mean context 128 + 16.5 = 144.5 tokens.
        let ctx = mean_decode_context(0, 128, 33);
        assert_eq!(ctx, 144.5);
        let b = decode_bytes_per_step(85_800_000, 23040.0, 2, ctx);
        assert_eq!(b, 85_800_000.0 + 2.0 * 23040.0 * 144.5);
        assert_eq!(mean_decode_context(512, 1, 33), 529.5);
        assert_eq!(pct(50.0, 200.0), Some(25.0));
        assert_eq!(pct(50.0, 0.0), None);
    }

    #[test]
    fn prefill_flops_count_causal_pairs() {
        let s = PrefillShape {
            matmul_params: 100,
            head_params: 10,
            layers: 2,
            heads: 3,
            head_dim: 4,
            depth: 0,
            isl: 3,
            batch: 1,
        };
        // dense 2·100·3 + 2·10 = 620; pairs 1+2+3 = 6; attention 4·2·3·4·6 = 576.
        assert_eq!(prefill_flops(&s), 620.0 + 576.0);
        // At depth 5 each of the 3 queries sees 5 more keys: pairs 6 + 15 = 21; batch 2.
        let d = PrefillShape {
            depth: 5,
            batch: 2,
            ..s
        };
        assert_eq!(prefill_flops(&d), 2.0 * (620.0 + 4.0 * 24.0 * 21.0));
    }

    #[test]
    fn llc_from_a_fake_sysfs() {
        let root = tempfile::tempdir().unwrap();
        let cache = |cpu: u32, idx: u32, level: u32, ty: &str, size: &str, shared: &str| {
            let d = root
                .path()
                .join(format!("sys/devices/system/cpu/cpu{cpu}/cache/index{idx}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(d.join("type"), format!("{ty}\n")).unwrap();
            std::fs::write(d.join("size"), format!("{size}\n")).unwrap();
            std::fs::write(d.join("shared_cpu_list"), format!("{shared}\n")).unwrap();
        };
        // Two core complexes of two cores, one 16 MiB L3 each (layout of this machine's
        // /sys/devices/system/cpu/cpu0/cache, doubled).
        for cpu in 0..4u32 {
            cache(cpu, 0, 1, "Data", "32K", &cpu.to_string());
            cache(cpu, 1, 1, "Instruction", "64K", &cpu.to_string());
            cache(cpu, 2, 2, "Unified", "512K", &cpu.to_string());
            let l3 = if cpu < 2 { "0-1" } else { "2-3" };
            cache(cpu, 3, 3, "Unified", "16384K", l3);
        }
        std::fs::create_dir_all(root.path().join("sys/devices/system/cpu/cpufreq")).unwrap();
        assert_eq!(
            crate::platform::last_level_cache_bytes(root.path()),
            Some(2 * 16 * 1024 * 1024)
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(crate::platform::last_level_cache_bytes(empty.path()), None);
    }
}
