// SADA estimator kernels: one fused per-batch update plus the end-of-epoch strength map.
//
// Loaded by sada_dali/estimator/_cuda_backend.py through cupy.RawModule (NVRTC, `--fmad=false`);
// the header is inlined there so CuPy's kernel cache keys on its content. No CUDA headers are
// needed: float16 conversions use the PTX `cvt` instructions directly. CuPy appends `-ftz=true`
// after our options, so subnormal float32 values are flushed to zero here (NumPy keeps them).
//
// Every kernel is `extern "C"` with a fixed name (sada_dali/estimator/_kernels.py: KERNEL_NAMES):
// no name expressions, so CuPy's on-disk kernel cache serves them on every CuPy version.
#include "sada_device.cuh"

// One warp per batch row: softmax, KL to the stored previous distribution (Eq. 5), ring-buffer
// write, window variance (Eq. 6), EMA (Eq. 7) and the new stored log-probabilities, in one pass
// over the classes after the max and sum-exp passes of sada_row_prologue (sada_device.cuh), which
// counts in counters[0] the rows skipped for non-finite logits and in counters[1] the rows skipped
// for an index outside [0, N).
template <typename T, typename I, typename S>
__device__ __forceinline__ void sada_update_rows(
    const T* __restrict__ logits, const I* __restrict__ indices, int batch, int num_classes, long long num_samples,
    int window, float beta, int mean_mode, S* __restrict__ log_prev, float* __restrict__ ring,
    float* __restrict__ variance, int* __restrict__ seen, int* __restrict__ owner, sada_u64* __restrict__ counters,
    const long long* __restrict__ first) {
    sada_row<T> r;
    if (!sada_row_prologue<T, I>(logits, indices, batch, num_classes, num_samples, owner, counters, first, &r)) return;
    const int lane = threadIdx.x & 31;
    const long long idx = r.idx;
    const T* x = r.x;
    const float row_max = r.row_max, log_z = r.log_z;

    int n = 0;  // appearances so far
    if (lane == 0) n = seen[idx];
    n = __shfl_sync(SADA_FULL_MASK, n, 0);
    S* q = log_prev + (size_t)idx * num_classes;
    float kl = 0.0f;
    for (int c = lane; c < num_classes; c += 32) {
        const float log_p = sada_log_softmax(sada_to_float(x[c]), row_max, log_z);
        if (n > 0) kl = kl + sada_kl_term(expf(log_p), log_p, sada_to_float(q[c]));
        sada_store(&q[c], sada_clamp_log(log_p));
    }
    kl = sada_warp_sum(kl);
    if (lane == 0) {
        float* d = ring + (size_t)idx * window;
        if (n > 0) d[(n - 1) % window] = fabsf(kl);
        const int held = min(n, window);  // values of d held after this appearance
        seen[idx] = n + 1;
        if (held >= 2) variance[idx] = sada_ema(variance[idx], sada_window_variance(d, held, mean_mode), beta);
        owner[idx] = -1;
    }
}

SADA_CLAIM_KERNEL(sada_claim_i32, int)
SADA_CLAIM_KERNEL(sada_claim_i64, long long)

#define SADA_UPDATE_KERNEL(NAME, T, I, S)                                                                           \
    extern "C" __global__ void __launch_bounds__(256) NAME(                                                         \
        const T* __restrict__ logits, const I* __restrict__ indices, int batch, int num_classes,                    \
        long long num_samples, int window, float beta, int mean_mode, S* __restrict__ log_prev,                     \
        float* __restrict__ ring, float* __restrict__ variance, int* __restrict__ seen, int* __restrict__ owner,    \
        sada_u64* __restrict__ counters, const long long* __restrict__ first) {                                     \
        sada_update_rows<T, I, S>(logits, indices, batch, num_classes, num_samples, window, beta, mean_mode,       \
                                  log_prev, ring, variance, seen, owner, counters, first);                         \
    }
// sada_update_<logits>_<indices>_<stored log-probabilities>
SADA_UPDATE_KERNEL(sada_update_f32_i32_f32, float, int, float)
SADA_UPDATE_KERNEL(sada_update_f32_i32_f16, float, int, sada_f16)
SADA_UPDATE_KERNEL(sada_update_f32_i64_f32, float, long long, float)
SADA_UPDATE_KERNEL(sada_update_f32_i64_f16, float, long long, sada_f16)
SADA_UPDATE_KERNEL(sada_update_f16_i32_f32, sada_f16, int, float)
SADA_UPDATE_KERNEL(sada_update_f16_i32_f16, sada_f16, int, sada_f16)
SADA_UPDATE_KERNEL(sada_update_f16_i64_f32, sada_f16, long long, float)
SADA_UPDATE_KERNEL(sada_update_f16_i64_f16, sada_f16, long long, sada_f16)

// Min and max of the valid variances (seen >= 3), as float bits: non-negative floats order like
// their unsigned bit patterns (`+ 0.0f` turns a -0.0 from a hand-made state into +0.0, which
// would otherwise order above every positive value). minmax must hold {+inf bits, 0} on entry.
extern "C" __global__ void __launch_bounds__(256) sada_minmax(const float* __restrict__ variance, const int* __restrict__ seen,
                                                   long long n, unsigned int* minmax) {
    __shared__ unsigned int s_lo[32], s_hi[32];
    unsigned int lo = 0x7f800000u, hi = 0u;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += stride) {
        if (seen[i] >= 3) {
            const unsigned int b = __float_as_uint(variance[i] + 0.0f);
            lo = min(lo, b);
            hi = max(hi, b);
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        lo = min(lo, __shfl_xor_sync(SADA_FULL_MASK, lo, o));
        hi = max(hi, __shfl_xor_sync(SADA_FULL_MASK, hi, o));
    }
    const int warp = threadIdx.x >> 5;
    if ((threadIdx.x & 31) == 0) {
        s_lo[warp] = lo;
        s_hi[warp] = hi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); ++w) {
            lo = min(lo, s_lo[w]);
            hi = max(hi, s_hi[w]);
        }
        atomicMin(&minmax[0], lo);
        atomicMax(&minmax[1], hi);
    }
}

// Strengths for one epoch: the min-max map of valid variances, the warm-up strength elsewhere
// (and everywhere when there is no spread, including when no sample is valid).
extern "C" __global__ void __launch_bounds__(256) sada_strengths(const float* __restrict__ variance, const int* __restrict__ seen,
                                                      long long n, const unsigned int* __restrict__ minmax,
                                                      sada_u64 seed, sada_u64 epoch, int use_constant, float constant,
                                                      float* __restrict__ out) {
    const float v_min = __uint_as_float(minmax[0]);
    const float v_max = __uint_as_float(minmax[1]);
    const bool spread = v_max > v_min;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = (spread && seen[i] >= 3) ? sada_strength(variance[i], v_min, v_max)
                                          : sada_warmup_strength(seed, epoch, (sada_u64)i, use_constant, constant);
    }
}
