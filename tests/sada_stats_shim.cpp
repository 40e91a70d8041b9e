// A C ABI around kernels/sada_stats.cuh so tests/test_kernel_host.py can call the very
// __host__ __device__ functions the CUDA kernels use, compiled by g++ on the CPU.
#include "sada_stats.cuh"

extern "C" {

void shim_hash_uniform(sada_u64 seed, sada_u64 epoch, const long long* index, int n, sada_u64 stream, double* out) {
    for (int i = 0; i < n; ++i) out[i] = sada_hash_uniform(seed, epoch, (sada_u64)index[i], stream);
}

void shim_warmup(sada_u64 seed, sada_u64 epoch, const long long* index, int n, int use_constant, float constant,
                 float* out) {
    for (int i = 0; i < n; ++i) out[i] = sada_warmup_strength(seed, epoch, (sada_u64)index[i], use_constant, constant);
}

void shim_window_variance(const float* d, const int* held, int rows, int window, int mean_mode, float* out) {
    for (int r = 0; r < rows; ++r) out[r] = sada_window_variance(d + (long long)r * window, held[r], mean_mode);
}

void shim_ema(const float* v_old, const float* v_t, int n, float beta, float* out) {
    for (int i = 0; i < n; ++i) out[i] = sada_ema(v_old[i], v_t[i], beta);
}

void shim_strength(const float* v, int n, float v_min, float v_max, float* out) {
    for (int i = 0; i < n; ++i) out[i] = sada_strength(v[i], v_min, v_max);
}

void shim_is_finite(const float* x, int n, int* out) {
    for (int i = 0; i < n; ++i) out[i] = sada_is_finite(x[i]);
}

// The kernel's per-row pass with sequential sums: |KL(softmax(x) || exp(log_q))| and the stored value.
void shim_kl_rows(const float* x, const float* log_q, int rows, int k, float* d, float* stored) {
    for (int r = 0; r < rows; ++r) {
        const float* xr = x + (long long)r * k;
        float row_max = -SADA_FLT_MAX;
        for (int c = 0; c < k; ++c) row_max = fmaxf(row_max, xr[c]);
        float z = 0.0f;
        for (int c = 0; c < k; ++c) z = z + expf(xr[c] - row_max);
        const float log_z = logf(z);
        float kl = 0.0f;
        for (int c = 0; c < k; ++c) {
            const float log_p = sada_log_softmax(xr[c], row_max, log_z);
            kl = kl + sada_kl_term(expf(log_p), log_p, log_q[(long long)r * k + c]);
            stored[(long long)r * k + c] = sada_clamp_log(log_p);
        }
        d[r] = fabsf(kl);
    }
}

// The EntAugment kernel's per-row pass with sequential sums: 1 - H(softmax(x)) / ln K.
void shim_entropy_rows(const float* x, int rows, int k, float log_k, float* out) {
    for (int r = 0; r < rows; ++r) {
        const float* xr = x + (long long)r * k;
        float row_max = -SADA_FLT_MAX;
        for (int c = 0; c < k; ++c) row_max = fmaxf(row_max, xr[c]);
        float z = 0.0f;
        for (int c = 0; c < k; ++c) z = z + expf(xr[c] - row_max);
        const float log_z = logf(z);
        float plogp = 0.0f;
        for (int c = 0; c < k; ++c) {
            const float log_p = sada_log_softmax(xr[c], row_max, log_z);
            plogp = plogp + sada_entropy_term(expf(log_p), log_p);
        }
        out[r] = sada_entropy_strength(-plogp, log_k);
    }
}
}
