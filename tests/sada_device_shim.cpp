// kernels/sada_device.cuh on the CPU, for tests/test_kernel_host.py: the claim and the row prologue
// both update kernels share run here as the GPU runs them, one std::thread per CUDA thread. A warp
// is 32 threads that meet at a barrier for every shuffle and vote, so each lane reads the others'
// values and the reductions combine them in the GPU's butterfly order.
#include <math.h>
#include <string.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

struct shim_dim3 {
    unsigned int x, y, z;
};
static thread_local shim_dim3 threadIdx, blockIdx;
static shim_dim3 blockDim;

static std::mutex atomic_lock;
static unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    std::lock_guard<std::mutex> hold(atomic_lock);
    const unsigned long long old = *p;
    *p = old + v;
    return old;
}
static int atomicMax(int* p, int v) {
    std::lock_guard<std::mutex> hold(atomic_lock);
    const int old = *p;
    if (v > old) *p = v;
    return old;
}

// The warp being run: every lane writes its value, all meet, each reads its source lane, all meet.
// A lane that never arrives (a warp that diverged at a shuffle) marks the run failed after 10 s.
static struct {
    std::mutex lock;
    std::condition_variable turn;
    int arrived = 0;
    unsigned long long round = 0;
    unsigned long long slot[32];
    bool diverged = false;
} warp;

static void warp_barrier() {
    std::unique_lock<std::mutex> hold(warp.lock);
    const unsigned long long round = warp.round;
    if (++warp.arrived == 32) {
        warp.arrived = 0;
        ++warp.round;
        warp.turn.notify_all();
    } else if (!warp.turn.wait_for(hold, std::chrono::seconds(10), [&] { return warp.round != round; })) {
        warp.diverged = true;
    }
}

template <typename V>
static V warp_exchange(V v, int source) {
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof v);
    warp.slot[threadIdx.x & 31] = bits;
    warp_barrier();
    bits = warp.slot[source & 31];
    warp_barrier();
    memcpy(&v, &bits, sizeof v);
    return v;
}

template <typename V>
static V __shfl_sync(unsigned, V v, int source) {
    return warp_exchange(v, source);
}
template <typename V>
static V __shfl_xor_sync(unsigned, V v, int mask) {
    return warp_exchange(v, (int)(threadIdx.x & 31) ^ mask);
}
static int __any_sync(unsigned, int predicate) {
    int any = 0;
    for (int lane = 0; lane < 32; ++lane) any |= __shfl_sync(0xffffffffu, predicate, lane);
    return any;
}

#include "sada_device.cuh"

static const unsigned int BLOCK = 256;  // the backends' block size (__launch_bounds__(256))

extern "C" {

// sada_claim_rows launched over `batch` rows, one thread per row (threads run one after another).
void shim_claim(const long long* indices, int batch, long long num_samples, int* owner, long long first) {
    blockDim = {BLOCK, 1, 1};
    for (unsigned int b = 0; b < (batch + BLOCK - 1) / BLOCK; ++b) {
        for (unsigned int t = 0; t < BLOCK; ++t) {
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            sada_claim_rows<long long>(indices, batch, num_samples, owner, &first);
        }
    }
}

// sada_row_prologue launched as the update kernels launch it (one warp per row, blocks of 256
// threads, warps run one after another), then, as they end, lane 0 of a row that got through
// releases its claim. passed[row]: 1 for such a row (its row_max and log_z are set), else 0.
// Returns 0; -1 when a warp diverged at a shuffle or a vote, -2 when its lanes disagree.
int shim_row_prologue(const float* logits, const long long* indices, int batch, int num_classes,
                      long long num_samples, int* owner, unsigned long long* counters, long long first, int* passed,
                      float* row_max, float* log_z) {
    blockDim = {BLOCK, 1, 1};
    warp.diverged = false;
    const unsigned int warps = BLOCK / 32, blocks = (unsigned int)((batch * 32LL + BLOCK - 1) / BLOCK);
    for (unsigned int b = 0; b < blocks; ++b) {
        for (unsigned int w = 0; w < warps; ++w) {
            sada_row<float> seen[32];
            bool through[32];
            std::vector<std::thread> lanes;
            for (unsigned int lane = 0; lane < 32; ++lane) {
                lanes.emplace_back([&, lane] {
                    blockIdx = {b, 0, 0};
                    threadIdx = {w * 32 + lane, 0, 0};
                    through[lane] = sada_row_prologue<float, long long>(logits, indices, batch, num_classes,
                                                                        num_samples, owner, counters, &first,
                                                                        &seen[lane]);
                    if (lane == 0 && through[0]) owner[seen[0].idx] = -1;
                });
            }
            for (std::thread& lane : lanes) lane.join();
            const long long row = ((long long)b * BLOCK + w * 32) >> 5;
            for (int lane = 1; lane < 32; ++lane) {
                const bool same = through[lane] == through[0] &&
                                  (!through[0] || (seen[lane].idx == seen[0].idx && seen[lane].x == seen[0].x &&
                                                   seen[lane].row_max == seen[0].row_max &&
                                                   seen[lane].log_z == seen[0].log_z));
                if (!same) return -2;
            }
            if (row >= batch) continue;
            passed[row] = through[0];
            if (through[0]) {
                row_max[row] = seen[0].row_max;
                log_z[row] = seen[0].log_z;
            }
        }
    }
    return warp.diverged ? -1 : 0;
}
}
