/* NT-Xent rows on the GPU, on the context's stream: one block per row of G (the same float expressions as
 * ntxent_cpu.c), then one block adding the rows' losses in row order (reproducible). */
#include <math.h>

#include "core/cuda_grid.cuh"
#include "ops/backend_cuda.h"

/* The largest v over the block, returned to every thread (every thread must call it). */
static __device__ __forceinline__ float block_max(float v) {
    __shared__ float part[32];
    __shared__ float total;
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        const unsigned nwarps = (blockDim.x + 31u) >> 5;
        float x = lane < nwarps ? part[lane] : -INFINITY;
        for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_down_sync(0xffffffffu, x, o));
        if (lane == 0) total = x;
    }
    __syncthreads();
    const float r = total;
    __syncthreads();
    return r;
}

static __device__ __forceinline__ float logit(const float *grow, int jb, int ib, int r, int c, int own, float tau) {
    return own ? (c == r ? grow[ib + c] / tau - 1e9f : grow[ib + c] / tau) : grow[jb + c] / tau;
}

/* Thread t owns the columns c = t, t + blockDim.x, ... of both blocks, so its own-block sums need no atomics. */
static __global__ void rows_kernel(int views, int B, float tau, const float *g, float grad_scale, float *w,
                                   double *row_loss) {
    const int n = views * B;
    for (int row = blockIdx.x; row < n; row += gridDim.x) {
        const int i = row / B, r = row % B, ib = i * B;
        const float *grow = g + (size_t)row * n;
        float *wrow = w ? w + (size_t)row * n : NULL;
        if (wrow)
            for (int c = threadIdx.x; c < n; c += blockDim.x) wrow[c] = 0.0f;
        __syncthreads();
        double total = 0.0;
        for (int j = 0; j < views; j++) {
            if (j == i) continue;
            const int jb = j * B;
            float m = -INFINITY;
            for (int c = threadIdx.x; c < B; c += blockDim.x)
                m = fmaxf(m, fmaxf(logit(grow, jb, ib, r, c, 0, tau), logit(grow, jb, ib, r, c, 1, tau)));
            m = block_max(m);
            double s = 0.0;
            for (int c = threadIdx.x; c < B; c += blockDim.x)
                s += (double)expf(logit(grow, jb, ib, r, c, 0, tau) - m) +
                     (double)expf(logit(grow, jb, ib, r, c, 1, tau) - m);
            s = mbt_block_sum(s);
            total += (double)m + log(s) - (double)logit(grow, jb, ib, r, r, 0, tau);
            if (!wrow) continue;
            const float inv_s = (float)(1.0 / s);
            for (int c = threadIdx.x; c < B; c += blockDim.x) {
                const float pj = expf(logit(grow, jb, ib, r, c, 0, tau) - m) * inv_s;
                const float pi = expf(logit(grow, jb, ib, r, c, 1, tau) - m) * inv_s;
                wrow[jb + c] += grad_scale * (c != r ? pj : pj - 1.0f);
                wrow[ib + c] += grad_scale * pi;
            }
        }
        if (threadIdx.x == 0) row_loss[row] = total;
        __syncthreads();
    }
}

static __global__ void total_kernel(int n, const double *row_loss, double loss_scale, double *loss) {
    if (threadIdx.x != 0) return;
    double s = 0.0;
    for (int row = 0; row < n; row++) s += row_loss[row];
    *loss = loss_scale * s;
}

extern "C" mbt_status mbt_ntxent_rows_cuda(int views, int B, float tau, const float *g, double loss_scale,
                                           float grad_scale, float *w, double *row_loss, double *loss) {
    const int n = views * B;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    rows_kernel<<<n < 65535 ? n : 65535, MBT_CUDA_BLOCK, 0, stream>>>(views, B, tau, g, grad_scale, w, row_loss);
    MBT_CUDA_LAUNCHED("nt-xent rows");
    total_kernel<<<1, 32, 0, stream>>>(n, row_loss, loss_scale, loss);
    MBT_CUDA_LAUNCHED("nt-xent rows (sum)");
    return MBT_OK;
}
