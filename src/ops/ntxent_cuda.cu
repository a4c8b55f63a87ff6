/* NT-Xent rows on the GPU, on the context's stream: one block per row of G (the same float expressions as
 * ntxent_cpu.c; exponentials are taken again where the CPU keeps them), then one thread adding the rows'
 * losses in row order (reproducible). */
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

static __device__ __forceinline__ float own_logit(const float *gi, int r, int c, float tau) {
    return gi[c] / tau - (c == r ? 1e9f : 0.0f);
}

/* Thread t owns the columns c = t, t + blockDim.x, ... of every block of the row. The own block's
 * exp(l - M) are rescaled by exp(M - m) per partner, as in ntxent_cpu.c. */
static __global__ void rows_kernel(int views, int B, float tau, const float *g, float grad_scale, float *w,
                                   double *row_loss) {
    const int n = views * B;
    for (int row = blockIdx.x; row < n; row += gridDim.x) {
        const int i = row / B, r = row % B, ib = i * B;
        const float *grow = g + (size_t)row * n, *gi = grow + ib;
        float *wrow = w ? w + (size_t)row * n : NULL;
        float M = -INFINITY;
        for (int c = threadIdx.x; c < B; c += blockDim.x) M = fmaxf(M, own_logit(gi, r, c, tau));
        M = block_max(M);
        double s_own = 0.0;
        for (int c = threadIdx.x; c < B; c += blockDim.x) s_own += expf(own_logit(gi, r, c, tau) - M);
        s_own = mbt_block_sum(s_own);
        double total = 0.0;
        float own_factor = 0.0f;
        for (int j = 0; j < views; j++) {
            if (j == i) continue;
            const float *gj = grow + j * B;
            float m = M;
            for (int c = threadIdx.x; c < B; c += blockDim.x) m = fmaxf(m, gj[c] / tau);
            m = block_max(m);
            const float scale_own = expf(M - m);
            double s = 0.0;
            for (int c = threadIdx.x; c < B; c += blockDim.x) s += expf(gj[c] / tau - m);
            s = (double)scale_own * s_own + mbt_block_sum(s);
            total += (double)m + log(s) - (double)(gj[r] / tau);
            if (!wrow) continue;
            const float inv_s = (float)(1.0 / s);
            for (int c = threadIdx.x; c < B; c += blockDim.x)
                wrow[j * B + c] = grad_scale * (expf(gj[c] / tau - m) * inv_s - (c == r ? 1.0f : 0.0f));
            own_factor += scale_own * inv_s;
        }
        if (wrow)
            for (int c = threadIdx.x; c < B; c += blockDim.x)
                wrow[ib + c] = grad_scale * (expf(own_logit(gi, r, c, tau) - M) * own_factor);
        if (threadIdx.x == 0) row_loss[row] = total;
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
