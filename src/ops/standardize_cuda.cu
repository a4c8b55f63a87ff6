/* Batch standardisation (mean / unbiased std over rows) forward and backward on the GPU. A block owns 32
 * columns: its 32 x 8 threads walk the rows 8 apart, the column sums are in double and added up in a
 * fixed order (reproducible), then the same block writes the columns. */
#include <math.h>

#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

#define COLS 32
#define ROWS 8

static __global__ void standardize_forward_kernel(int B, int d, const float *z, float *zn, float *inv_std,
                                                  unsigned *bad) {
    __shared__ double part[ROWS][COLS];
    __shared__ double mean_s[COLS], inv_s[COLS];
    const int tx = threadIdx.x, ty = threadIdx.y, j = blockIdx.x * COLS + tx;
    const int col = j < d;
    double s = 0.0;
    if (col)
        for (int b = ty; b < B; b += ROWS) s += z[(size_t)b * d + j];
    part[ty][tx] = s;
    __syncthreads();
    if (ty == 0) {
        double t = 0.0;
        for (int r = 0; r < ROWS; r++) t += part[r][tx];
        mean_s[tx] = t / B;
    }
    __syncthreads();
    const double mean = mean_s[tx];
    s = 0.0;
    if (col)
        for (int b = ty; b < B; b += ROWS) {
            const double t = z[(size_t)b * d + j] - mean;
            s += t * t;
        }
    part[ty][tx] = s;
    __syncthreads();
    if (ty == 0) {
        double t = 0.0;
        for (int r = 0; r < ROWS; r++) t += part[r][tx];
        const double sd = sqrt(t / (B - 1));
        if (col && (!(sd > 0.0) || !isfinite(sd))) atomicMin(bad, (unsigned)j);
        const double inv = 1.0 / sd;
        if (col) inv_std[j] = (float)inv;
        inv_s[tx] = inv;
    }
    __syncthreads();
    const double inv = inv_s[tx];
    if (col)
        for (int b = ty; b < B; b += ROWS) {
            const size_t at = (size_t)b * d + j;
            zn[at] = (float)((z[at] - mean) * inv);
        }
}

static __global__ void standardize_backward_kernel(int B, int d, const float *zn, const float *inv_std, float *g) {
    __shared__ double part_g[ROWS][COLS], part_gn[ROWS][COLS];
    __shared__ float mg_s[COLS], mgn_s[COLS];
    const int tx = threadIdx.x, ty = threadIdx.y, j = blockIdx.x * COLS + tx;
    const int col = j < d;
    double sg = 0.0, sgn = 0.0;
    if (col)
        for (int b = ty; b < B; b += ROWS) {
            const size_t at = (size_t)b * d + j;
            sg += g[at];
            sgn += (double)g[at] * zn[at];
        }
    part_g[ty][tx] = sg;
    part_gn[ty][tx] = sgn;
    __syncthreads();
    if (ty == 0) {
        double t = 0.0, u = 0.0;
        for (int r = 0; r < ROWS; r++) {
            t += part_g[r][tx];
            u += part_gn[r][tx];
        }
        mg_s[tx] = (float)(t / B);
        mgn_s[tx] = (float)(u / (B - 1));
    }
    __syncthreads();
    if (!col) return;
    const float is = inv_std[j], mg = mg_s[tx], mgn = mgn_s[tx];
    for (int b = ty; b < B; b += ROWS) {
        const size_t at = (size_t)b * d + j;
        g[at] = is * (g[at] - mg - zn[at] * mgn);
    }
}

extern "C" mbt_status mbt_standardize_forward_cuda(int B, int d, const float *z, float *zn, float *inv_std,
                                                   unsigned *bad_column) {
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    MBT_CUDA("batch standardisation forward", cudaMemsetAsync(bad_column, 0xff, sizeof *bad_column, stream));
    standardize_forward_kernel<<<(d + COLS - 1) / COLS, dim3(COLS, ROWS), 0, stream>>>(B, d, z, zn, inv_std,
                                                                                      bad_column);
    MBT_CUDA_LAUNCHED("batch standardisation forward");
    return MBT_OK;
}

extern "C" mbt_status mbt_standardize_backward_cuda(int B, int d, const float *zn, const float *inv_std, float *g) {
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    standardize_backward_kernel<<<(d + COLS - 1) / COLS, dim3(COLS, ROWS), 0, stream>>>(B, d, zn, inv_std, g);
    MBT_CUDA_LAUNCHED("batch standardisation backward");
    return MBT_OK;
}
