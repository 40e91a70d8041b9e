// The arithmetic that defines SADA's per-sample statistics (paper Eqs. 5-7 and the strength map),
// and EntAugment's entropy strength.
//
// Every function here is `__host__ __device__`: the CUDA kernels in sada_stats.cu call them on the
// GPU, and tests/test_kernel_host.py compiles this very header with g++ and checks it against the
// NumPy backend (sada_dali/estimator/_numpy_backend.py), which performs the same float32 operations
// in the same order. Compile with contraction off (`--fmad=false` for NVRTC/nvcc,
// `-ffp-contract=off` for g++) so `a * b + c` is never fused and both sides round identically.
#ifndef SADA_STATS_CUH
#define SADA_STATS_CUH

#ifndef __CUDACC__
#include <math.h>
#define __host__
#define __device__
#define __forceinline__ inline
#endif

// Stored log-probabilities are clamped to this floor (p >= e^-16 ~ 1.1e-7), so the stored state is
// finite in float16 and |KL| per appearance is bounded by 16 nats.
#define SADA_LOG_FLOOR (-16.0f)
#define SADA_FLT_MAX (3.402823466e+38f)
#define SADA_STREAM_WARMUP 4ULL

typedef unsigned long long sada_u64;

// True for finite x (false for +-inf and NaN, since every comparison with NaN is false).
__host__ __device__ __forceinline__ bool sada_is_finite(float x) { return fabsf(x) <= SADA_FLT_MAX; }

// log softmax of one logit given the row maximum and log(sum(exp(x - max))).
__host__ __device__ __forceinline__ float sada_log_softmax(float x, float row_max, float log_z) {
    return (x - row_max) - log_z;
}

// The value stored as the previous log-probability: clamped so it is never -inf.
__host__ __device__ __forceinline__ float sada_clamp_log(float log_p) { return fmaxf(log_p, SADA_LOG_FLOOR); }

// One class's term of KL(p || q) = sum_c p_c (log p_c - log q_c)  (paper Eq. 5); p_c = 0 adds 0.
__host__ __device__ __forceinline__ float sada_kl_term(float p, float log_p, float log_q) {
    return p > 0.0f ? p * (log_p - sada_clamp_log(log_q)) : 0.0f;
}

// Window variance (paper Eq. 6) over the first `held` ring slots: sum_j (d_j - mean)^2,
// divided by `held` when mean_mode != 0. Slots are summed in index order.
__host__ __device__ __forceinline__ float sada_window_variance(const float* d, int held, int mean_mode) {
    float sum = 0.0f;
    for (int j = 0; j < held; ++j) sum = sum + d[j];
    const float mean = sum / (float)held;
    float ss = 0.0f;
    for (int j = 0; j < held; ++j) {
        const float e = d[j] - mean;
        ss = ss + e * e;
    }
    return mean_mode ? ss / (float)held : ss;
}

// EMA of the window variance (paper Eq. 7): V = beta * V_t + (1 - beta) * V.
__host__ __device__ __forceinline__ float sada_ema(float v_old, float v_t, float beta) {
    const float a = beta * v_t;
    const float b = (1.0f - beta) * v_old;
    return a + b;
}

// Min-max strength map: low variance -> strong augmentation. Requires v_max > v_min.
__host__ __device__ __forceinline__ float sada_strength(float v, float v_min, float v_max) {
    return 1.0f - (v - v_min) / (v_max - v_min);
}

// One class's term of the entropy sum, sum_c p_c log p_c (its negation is H in nats); p_c = 0 adds 0.
__host__ __device__ __forceinline__ float sada_entropy_term(float p, float log_p) {
    return p > 0.0f ? p * log_p : 0.0f;
}

// EntAugment's strength 1 - H / ln K (Yang et al., ECCV 2024), clamped to [0, 1] against rounding.
__host__ __device__ __forceinline__ float sada_entropy_strength(float h, float log_k) {
    return fminf(fmaxf(1.0f - h / log_k, 0.0f), 1.0f);
}

// splitmix64 finaliser; identical to sada_dali/_random.py::_mix.
__host__ __device__ __forceinline__ sada_u64 sada_mix64(sada_u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Uniform [0, 1) double keyed by (seed, epoch, index, stream); identical to _random.hash_uniform.
__host__ __device__ __forceinline__ double sada_hash_uniform(sada_u64 seed, sada_u64 epoch, sada_u64 index,
                                                             sada_u64 stream) {
    const sada_u64 golden = 0x9E3779B97F4A7C15ULL;
    sada_u64 key = sada_mix64(seed + golden * stream);
    key = sada_mix64(key ^ (epoch * golden));
    const sada_u64 z = sada_mix64(key + (index + 1ULL) * golden);
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

// The warm-up strength of one sample: a constant, or a fresh uniform draw per (seed, epoch, index).
__host__ __device__ __forceinline__ float sada_warmup_strength(sada_u64 seed, sada_u64 epoch, sada_u64 index,
                                                               int use_constant, float constant) {
    return use_constant ? constant : (float)sada_hash_uniform(seed, epoch, index, SADA_STREAM_WARMUP);
}

#endif  // SADA_STATS_CUH
