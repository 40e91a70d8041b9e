// Device-only building blocks both kernel modules share (sada_stats.cu and entaugment.cu):
// float16 storage, warp reductions, the claim of the last row that carries each index and the
// row prologue of both update kernels.
//
// tests/sada_device_shim.cpp compiles this header with g++ too, with a warp of 32 threads
// standing in for the CUDA intrinsics; the float16 conversions (PTX) exist only under nvcc/NVRTC.
#ifndef SADA_DEVICE_CUH
#define SADA_DEVICE_CUH

#include "sada_stats.cuh"

#define SADA_FULL_MASK 0xffffffffu

// float16 storage as raw bits (a distinct type so templates can tell it from integer indices).
struct sada_f16 {
    unsigned short bits;
};

__device__ __forceinline__ float sada_to_float(float x) { return x; }
__device__ __forceinline__ void sada_store(float* dst, float v) { *dst = v; }
#ifdef __CUDACC__
__device__ __forceinline__ float sada_to_float(sada_f16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
    return f;
}
__device__ __forceinline__ void sada_store(sada_f16* dst, float v) {
    unsigned short b;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(b) : "f"(v));
    dst->bits = b;
}
#endif

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

// What the row prologue hands on to a kernel's per-class pass: the row's sample index, its logits,
// their maximum and log(sum(exp(x - max))), the same in every lane.
template <typename T>
struct sada_row {
    long long idx;
    const T* x;
    float row_max;
    float log_z;
};

// The start of both update kernels, one warp per batch row: leaves padding and rows past the
// batch, counts an index outside [0, N) (counters[1]), leaves a row that lost its index's claim
// (an earlier duplicate), counts a row with a non-finite logit (counters[0], releasing the claim),
// then the max and sum-exp passes. False when the warp is done with its row (uniform per warp).
template <typename T, typename I>
__device__ __forceinline__ bool sada_row_prologue(const T* __restrict__ logits, const I* __restrict__ indices,
                                                  int batch, int num_classes, long long num_samples,
                                                  int* __restrict__ owner, sada_u64* __restrict__ counters,
                                                  const long long* __restrict__ first, sada_row<T>* out) {
    const long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (row >= batch || row < *first) return false;  // uniform per warp
    const long long idx = (long long)indices[row];
    if (idx < 0 || idx >= num_samples) {
        if (lane == 0) atomicAdd(&counters[1], 1ULL);
        return false;
    }
    int winner = 0;
    if (lane == 0) winner = owner[idx] == row;
    if (!__shfl_sync(SADA_FULL_MASK, winner, 0)) return false;  // an earlier duplicate: ignored

    const T* x = logits + (size_t)row * num_classes;
    float row_max = -SADA_FLT_MAX;
    bool bad = false;
    for (int c = lane; c < num_classes; c += 32) {
        const float v = sada_to_float(x[c]);
        bad = bad || !sada_is_finite(v);
        row_max = fmaxf(row_max, v);
    }
    if (__any_sync(SADA_FULL_MASK, bad)) {
        if (lane == 0) {
            atomicAdd(&counters[0], 1ULL);
            owner[idx] = -1;
        }
        return false;
    }
    row_max = sada_warp_max(row_max);
    float z = 0.0f;
    for (int c = lane; c < num_classes; c += 32) z = z + expf(sada_to_float(x[c]) - row_max);
    out->idx = idx;
    out->x = x;
    out->row_max = row_max;
    out->log_z = logf(sada_warp_sum(z));
    return true;
}

// Instantiate in each module: SADA_CLAIM_KERNEL(sada_claim_i32, int) and (sada_claim_i64, long long).
#define SADA_CLAIM_KERNEL(NAME, I)                                                                          \
    extern "C" __global__ void NAME(const I* __restrict__ indices, int batch, long long num_samples, int* owner, \
                                    const long long* __restrict__ first) {                                      \
        sada_claim_rows<I>(indices, batch, num_samples, owner, first);                                          \
    }

#endif  // SADA_DEVICE_CUH
