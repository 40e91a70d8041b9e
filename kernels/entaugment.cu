// EntAugment estimator kernels (Yang et al., ECCV 2024): a sample's strength is 1 - H(softmax(z)) / ln K
// of its latest logits z. One float per sample: `latest` holds that strength, or -1 before a first visit.
//
// Loaded by sada_dali/estimator/_entaugment_cuda.py through cupy.RawModule with the options of
// sada_stats.cu (sada_dali/estimator/_kernels.py: ENT_KERNEL_NAMES); headers are inlined likewise.
#include "sada_device.cuh"

SADA_CLAIM_KERNEL(sada_claim_i32, int)
SADA_CLAIM_KERNEL(sada_claim_i64, long long)

// One warp per batch row: the max and sum-exp passes of sada_row_prologue (sada_device.cuh: the
// skipped rows, counted in counters[0] for non-finite logits and counters[1] for an index outside
// [0, N), and the padding before *first), then the entropy pass; the winning row of each index
// writes latest[idx].
template <typename T, typename I>
__device__ __forceinline__ void ent_update_rows(const T* __restrict__ logits, const I* __restrict__ indices,
                                                int batch, int num_classes, long long num_samples, float log_k,
                                                float* __restrict__ latest, int* __restrict__ owner,
                                                sada_u64* __restrict__ counters,
                                                const long long* __restrict__ first) {
    sada_row<T> r;
    if (!sada_row_prologue<T, I>(logits, indices, batch, num_classes, num_samples, owner, counters, first, &r)) return;
    const int lane = threadIdx.x & 31;
    const long long idx = r.idx;
    const T* x = r.x;
    const float row_max = r.row_max, log_z = r.log_z;
    float plogp = 0.0f;
    for (int c = lane; c < num_classes; c += 32) {
        const float log_p = sada_log_softmax(sada_to_float(x[c]), row_max, log_z);
        plogp = plogp + sada_entropy_term(expf(log_p), log_p);
    }
    plogp = sada_warp_sum(plogp);
    if (lane == 0) {
        latest[idx] = sada_entropy_strength(-plogp, log_k);
        owner[idx] = -1;
    }
}

#define ENT_UPDATE_KERNEL(NAME, T, I)                                                                       \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        NAME(const T* __restrict__ logits, const I* __restrict__ indices, int batch, int num_classes,       \
             long long num_samples, float log_k, float* __restrict__ latest, int* __restrict__ owner,        \
             sada_u64* __restrict__ counters, const long long* __restrict__ first) {                         \
        ent_update_rows<T, I>(logits, indices, batch, num_classes, num_samples, log_k, latest, owner, counters, \
                              first);                                                                       \
    }
// ent_update_<logits>_<indices>
ENT_UPDATE_KERNEL(ent_update_f32_i32, float, int)
ENT_UPDATE_KERNEL(ent_update_f32_i64, float, long long)
ENT_UPDATE_KERNEL(ent_update_f16_i32, sada_f16, int)
ENT_UPDATE_KERNEL(ent_update_f16_i64, sada_f16, long long)

// Strengths for one epoch: the latest entropy strength of each seen sample once `use_latest` is set
// (the warm-up epochs have ended), else the warm-up draw of SADAEstimator (sada_stats.cuh).
extern "C" __global__ void __launch_bounds__(256)
    ent_strengths(const float* __restrict__ latest, long long n, sada_u64 seed, sada_u64 epoch, int use_latest,
                  float* __restrict__ out) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += stride) {
        const float s = latest[i];
        out[i] = (use_latest && s >= 0.0f) ? s : sada_warmup_strength(seed, epoch, (sada_u64)i, 0, 0.0f);
    }
}
