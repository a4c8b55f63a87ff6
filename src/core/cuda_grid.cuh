/* Launch geometry and block-wide reductions shared by the CUDA kernels of every layer (.cu files only). */
#ifndef MBT_CORE_CUDA_GRID_CUH
#define MBT_CORE_CUDA_GRID_CUH

#include <stddef.h>

#include "core/cuda.h"

/* Threads per block of the one-dimensional (grid-stride) kernels. */
#define MBT_CUDA_BLOCK 256
/* Most blocks a grid-stride kernel is launched with (enough to fill any current GPU several times). */
#define MBT_CUDA_MAX_BLOCKS 4096

/* Blocks for n elements at MBT_CUDA_BLOCK threads each, at least 1 and at most MBT_CUDA_MAX_BLOCKS. */
static inline unsigned mbt_cuda_blocks(size_t n) {
    size_t b = (n + MBT_CUDA_BLOCK - 1) / MBT_CUDA_BLOCK;
    if (b < 1) b = 1;
    if (b > MBT_CUDA_MAX_BLOCKS) b = MBT_CUDA_MAX_BLOCKS;
    return (unsigned)b;
}

/* The context's stream into *stream (the context is created on first use). */
static inline mbt_status mbt_cuda_stream(cudaStream_t *stream) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    *stream = ctx->stream;
    return MBT_OK;
}

/* Grid-stride loop over [0, n) with a size_t index. */
#define MBT_CUDA_FOR(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* The sum of v over the block (blockDim.x a multiple of 32, at most 1024), returned to every thread.
 * The order of the additions depends only on the block size, so results are reproducible. Every thread
 * of the block must call it (it synchronises), and consecutive calls are safe. */
static __device__ __forceinline__ double mbt_block_sum(double v) {
    __shared__ double part[32];
    __shared__ double total;
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        const unsigned nwarps = (blockDim.x + 31u) >> 5;
        double w = lane < nwarps ? part[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) w += __shfl_down_sync(0xffffffffu, w, o);
        if (lane == 0) total = w;
    }
    __syncthreads();
    const double r = total;
    __syncthreads(); /* part and total may be reused by the next call */
    return r;
}

#endif
