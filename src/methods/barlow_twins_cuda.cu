/* The kernels of the GPU Barlow Twins / Mixed BT loss (barlow_twins_cuda.c runs them). Reductions are in
 * double with a fixed order of additions, so a call gives the same result every time. */
#include "methods/barlow_twins_cuda.h"
#include "core/cuda_grid.cuh"

static __global__ void residual_kernel(size_t n, int d, float a, const float *zmn, const float *y,
                                       const float *z2n, const int32_t *perm, float *D) {
    const float ra = 1.0f - a;
    MBT_CUDA_FOR(i, n) {
        const size_t b = i / (size_t)d, j = i % (size_t)d;
        D[i] = zmn[i] - a * y[i] - ra * z2n[(size_t)perm[b] * d + j];
    }
}

extern "C" mbt_status mbt_bt_cuda_residual(cudaStream_t stream, int B, int d, float a, const float *zmn,
                                           const float *y, const float *z2n, const int32_t *perm, float *D) {
    const size_t n = (size_t)B * d;
    residual_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, a, zmn, y, z2n, perm, D);
    MBT_CUDA_LAUNCHED("barlow twins loss (residual)");
    return MBT_OK;
}

/* Element (r, c) of the column-major lower triangle is at c * B + r with r >= c: as row-major index
 * (i, j) = (c, r), j >= i. Fill the positions with j < i from their transposes. */
static __global__ void mirror_kernel(size_t n, int B, float *k) {
    MBT_CUDA_FOR(p, n) {
        const size_t i = p / (size_t)B, j = p % (size_t)B;
        if (j < i) k[p] = k[j * B + i];
    }
}

extern "C" mbt_status mbt_bt_cuda_mirror(cudaStream_t stream, int B, float *k) {
    const size_t n = (size_t)B * B;
    mirror_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, B, k);
    MBT_CUDA_LAUNCHED("barlow twins loss (mirror)");
    return MBT_OK;
}

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

extern "C" mbt_status mbt_bt_cuda_diagonal(cudaStream_t stream, int B, int d, const float *z1n, const float *z2n,
                                           double *acc, float *diag) {
    diagonal_kernel<<<(d + COLS - 1) / COLS, dim3(COLS, ROWS), 0, stream>>>(B, d, z1n, z2n, acc, diag);
    MBT_CUDA_LAUNCHED("barlow twins loss (diagonal)");
    return MBT_OK;
}

/* Exactly MBT_BT_DOT_PARTS blocks, each writing its partial sum (0 when it has no elements). */
static __global__ void dot_kernel(size_t n, const float *x, const float *y, double *partial) {
    double s = 0.0;
    MBT_CUDA_FOR(i, n) s += (double)x[i] * y[i];
    s = mbt_block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

extern "C" mbt_status mbt_bt_cuda_dot(cudaStream_t stream, size_t n, const float *x, const float *y,
                                      double *partial) {
    dot_kernel<<<MBT_BT_DOT_PARTS, MBT_CUDA_BLOCK, 0, stream>>>(n, x, y, partial);
    MBT_CUDA_LAUNCHED("barlow twins loss (dot)");
    return MBT_OK;
}

/* One block. */
static __global__ void finish_kernel(int B, int d, const double *acc, const double *partial, int ndots,
                                     mbt_bt_cuda_result *res) {
    double on = 0.0, sq = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        const double c = acc[j] / B;
        on += (c - 1.0) * (c - 1.0);
        sq += c * c;
    }
    on = mbt_block_sum(on);
    sq = mbt_block_sum(sq);
    if (threadIdx.x == 0) {
        res->on_diag = on;
        res->diag_sq = sq;
    }
    for (int q = 0; q < MBT_BT_NDOTS; q++) {
        double s = 0.0;
        if (q < ndots)
            for (int t = threadIdx.x; t < MBT_BT_DOT_PARTS; t += blockDim.x) s += partial[q * MBT_BT_DOT_PARTS + t];
        s = mbt_block_sum(s);
        if (threadIdx.x == 0) res->dot[q] = s;
    }
}

extern "C" mbt_status mbt_bt_cuda_finish(cudaStream_t stream, int B, int d, const double *acc,
                                         const double *partial, int ndots, mbt_bt_cuda_result *res) {
    finish_kernel<<<1, MBT_CUDA_BLOCK, 0, stream>>>(B, d, acc, partial, ndots, res);
    MBT_CUDA_LAUNCHED("barlow twins loss (sums)");
    return MBT_OK;
}

static __global__ void combine_kernel(size_t n, float a, const float *x, float b, const float *y, float *out) {
    MBT_CUDA_FOR(i, n) out[i] = a * x[i] + b * y[i];
}

extern "C" mbt_status mbt_bt_cuda_combine(cudaStream_t stream, size_t n, float a, const float *x, float b,
                                          const float *y, float *out) {
    combine_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, a, x, b, y, out);
    MBT_CUDA_LAUNCHED("barlow twins loss (combine)");
    return MBT_OK;
}

static __global__ void diag_terms_kernel(size_t n, int d, float lb, float inv_b, const float *diag,
                                         const float *z1n, const float *z2n, float *g1, float *g2) {
    MBT_CUDA_FOR(i, n) {
        const float c = diag[i % (size_t)d];
        const float g = (2.0f * (c - 1.0f) - 2.0f * lb * c) * inv_b;
        g1[i] += g * z2n[i];
        g2[i] += g * z1n[i];
    }
}

extern "C" mbt_status mbt_bt_cuda_diag_terms(cudaStream_t stream, int B, int d, float lb, const float *diag,
                                             const float *z1n, const float *z2n, float *g1, float *g2) {
    const size_t n = (size_t)B * d;
    diag_terms_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, lb, 1.0f / B, diag, z1n, z2n, g1,
                                                                         g2);
    MBT_CUDA_LAUNCHED("barlow twins loss (diagonal terms)");
    return MBT_OK;
}

static __global__ void scatter_kernel(int B, int d, float ra, const int32_t *perm, const float *gq, float *dz2) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < d; j += gridDim.x * blockDim.x)
        for (int b = 0; b < B; b++) dz2[(size_t)perm[b] * d + j] -= ra * gq[(size_t)b * d + j];
}

extern "C" mbt_status mbt_bt_cuda_scatter(cudaStream_t stream, int B, int d, float a, const int32_t *perm,
                                          const float *gq, float *dz2) {
    scatter_kernel<<<(d + 127) / 128, 128, 0, stream>>>(B, d, 1.0f - a, perm, gq, dz2);
    MBT_CUDA_LAUNCHED("barlow twins loss (scatter)");
    return MBT_OK;
}
