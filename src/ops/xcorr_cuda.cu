/* Cross-correlation loss parts on the GPU, on the context's stream. Sums are in double with a fixed
 * order of additions, so a call gives the same result every time. */
#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

#define COLS 32
#define ROWS 8

/* A block owns 32 columns; 32 x 8 threads walk the rows 8 apart. */
static __global__ void diagonal_kernel(int B, int d, const float *x, const float *y, double *acc, float *diag) {
    __shared__ double part[ROWS][COLS];
    const int tx = threadIdx.x, ty = threadIdx.y, j = blockIdx.x * COLS + tx;
    double s = 0.0;
    if (j < d)
        for (int b = ty; b < B; b += ROWS) s += (double)x[(size_t)b * d + j] * y[(size_t)b * d + j];
    part[ty][tx] = s;
    __syncthreads();
    if (ty == 0 && j < d) {
        double t = 0.0;
        for (int r = 0; r < ROWS; r++) t += part[r][tx];
        acc[j] = t;
        diag[j] = (float)(t / B);
    }
}

/* One block: the sums over the diagonal. */
static __global__ void diagonal_sums_kernel(int B, int d, const double *acc, double *on, double *sq) {
    double o = 0.0, s = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        const double c = acc[j] / B;
        o += (c - 1.0) * (c - 1.0);
        s += c * c;
    }
    o = mbt_block_sum(o);
    s = mbt_block_sum(s);
    if (threadIdx.x == 0) {
        *on = o;
        *sq = s;
    }
}

extern "C" mbt_status mbt_xcorr_diagonal_cuda(int B, int d, const float *x, const float *y, double *acc,
                                              float *diag, double *on, double *sq) {
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    diagonal_kernel<<<(d + COLS - 1) / COLS, dim3(COLS, ROWS), 0, stream>>>(B, d, x, y, acc, diag);
    MBT_CUDA_LAUNCHED("cross-correlation diagonal");
    diagonal_sums_kernel<<<1, MBT_CUDA_BLOCK, 0, stream>>>(B, d, acc, on, sq);
    MBT_CUDA_LAUNCHED("cross-correlation diagonal (sums)");
    return MBT_OK;
}

static __global__ void diag_grad_kernel(size_t n, int d, float lambda, float inv_b, const float *diag,
                                        const float *x, const float *y, float *gx, float *gy) {
    MBT_CUDA_FOR(i, n) {
        const float c = diag[i % (size_t)d];
        const float g = (2.0f * (c - 1.0f) - 2.0f * lambda * c) * inv_b;
        gx[i] += g * y[i];
        gy[i] += g * x[i];
    }
}

extern "C" mbt_status mbt_xcorr_diag_grad_cuda(int B, int d, float lambda, const float *diag, const float *x,
                                               const float *y, float *gx, float *gy) {
    const size_t n = (size_t)B * d;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    diag_grad_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, lambda, 1.0f / B, diag, x, y, gx, gy);
    MBT_CUDA_LAUNCHED("cross-correlation diagonal gradient");
    return MBT_OK;
}

/* One block: thread t sums the rows t, t + blockDim.x, ... each in order, then the block adds them up. */
static __global__ void cov_terms_kernel(int d, const float *c, double *on, double *off) {
    double f = 0.0, o = 0.0;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        const float *r = c + (size_t)i * d;
        double s = 0.0;
        for (int j = 0; j < d; j++) s += (double)r[j] * r[j];
        const double cii = r[i];
        f += s - cii * cii;
        o += (cii - 1.0) * (cii - 1.0);
    }
    f = mbt_block_sum(f);
    o = mbt_block_sum(o);
    if (threadIdx.x == 0) {
        *on = o;
        *off = f;
    }
}

extern "C" mbt_status mbt_xcorr_cov_terms_cuda(int d, const float *c, double *on, double *off) {
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    cov_terms_kernel<<<1, MBT_CUDA_BLOCK, 0, stream>>>(d, c, on, off);
    MBT_CUDA_LAUNCHED("cross-correlation sums");
    return MBT_OK;
}

static __global__ void cov_grad_kernel(size_t n, int d, float lambda2, float *c) {
    MBT_CUDA_FOR(p, n) {
        const size_t i = p / (size_t)d, j = p % (size_t)d;
        c[p] = i == j ? 2.0f * (c[p] - 1.0f) : c[p] * lambda2;
    }
}

extern "C" mbt_status mbt_xcorr_cov_grad_cuda(int d, float lambda2, float *c) {
    const size_t n = (size_t)d * d;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    cov_grad_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, lambda2, c);
    MBT_CUDA_LAUNCHED("cross-correlation gradient");
    return MBT_OK;
}
