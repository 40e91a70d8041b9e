// Device-only building blocks both kernel modules share (sada_stats.cu and entaugment.cu):
// float16 storage, warp reductions, and the claim of the last row that carries each index.
#ifndef SADA_DEVICE_CUH
#define SADA_DEVICE_CUH

#include "sada_stats.cuh"

#define SADA_FULL_MASK 0xffffffffu

// float16 storage as raw bits (a distinct type so templates can tell it from integer indices).
struct sada_f16 {
    unsigned short bits;
};

__device__ __forceinline__ float sada_to_float(float x) { return x; }
__device__ __forceinline__ float sada_to_float(sada_f16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
    return f;
}
__device__ __forceinline__ void sada_store(float* dst, float v) { *dst = v; }
__device__ __forceinline__ void sada_store(sada_f16* dst, float v) {
    unsigned short b;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(b) : "f"(v));
    dst->bits = b;
}

__device__ __forceinline__ float sada_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v = v + __shfl_xor_sync(SADA_FULL_MASK, v, o);
    return v;
}
__device__ __forceinline__ float sada_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(SADA_FULL_MASK, v, o));
    return v;
}

// Rows before *first (a device scalar) are padding: never claimed, applied nor counted.
// Row numbers are 64-bit: a 32-bit thread id wraps once batch * 32 reaches 2^32.

// Marks, for every in-range index of the batch, the last row that carries it (last occurrence wins).
// `owner` is an (N,) int32 scratch that is -1 everywhere between updates.
template <typename I>
__device__ __forceinline__ void sada_claim_rows(const I* __restrict__ indices, int batch, long long num_samples,
                                                int* owner, const long long* __restrict__ first) {
    const long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= batch || row < *first) return;
    const long long idx = (long long)indices[row];
    if (idx >= 0 && idx < num_samples) atomicMax(&owner[idx], (int)row);
}

// Instantiate in each module: SADA_CLAIM_KERNEL(sada_claim_i32, int) and (sada_claim_i64, long long).
#define SADA_CLAIM_KERNEL(NAME, I)                                                                          \
    extern "C" __global__ void NAME(const I* __restrict__ indices, int batch, long long num_samples, int* owner, \
                                    const long long* __restrict__ first) {                                      \
        sada_claim_rows<I>(indices, batch, num_samples, owner, first);                                          \
    }

#endif  // SADA_DEVICE_CUH
