/* Row mixing through a permutation on the GPU: grid-stride kernels on the context's stream, the same
 * float expressions as mix_cpu.c. */
#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

static __global__ void mix_rows_kernel(size_t total, size_t row, float a, const float *x1, const float *x2,
                                       const int32_t *perm, float *out) {
    const float ra = 1.0f - a;
    MBT_CUDA_FOR(i, total) {
        const size_t b = i / row, k = i - b * row;
        out[i] = a * x1[i] + ra * x2[(size_t)perm[b] * row + k];
    }
}

extern "C" mbt_status mbt_mix_rows_cuda(int rows, size_t row, float a, const float *x1, const float *x2,
                                        const int32_t *perm, float *out) {
    const size_t total = (size_t)rows * row;
    if (total == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    mix_rows_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, stream>>>(total, row, a, x1, x2, perm, out);
    MBT_CUDA_LAUNCHED("input mix");
    return MBT_OK;
}

static __global__ void residual_kernel(size_t n, int d, float a, const float *m, const float *y, const float *s,
                                       const int32_t *perm, float *D) {
    const float ra = 1.0f - a;
    MBT_CUDA_FOR(i, n) {
        const size_t b = i / (size_t)d, j = i % (size_t)d;
        D[i] = m[i] - a * y[i] - ra * s[(size_t)perm[b] * d + j];
    }
}

extern "C" mbt_status mbt_mix_residual_cuda(int rows, int d, float a, const float *m, const float *y,
                                            const float *s, const int32_t *perm, float *D) {
    const size_t n = (size_t)rows * d;
    if (n == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    residual_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, a, m, y, s, perm, D);
    MBT_CUDA_LAUNCHED("mixed residual");
    return MBT_OK;
}

/* One thread per column, rows in order: repeated entries of perm cannot race. */
static __global__ void scatter_kernel(int rows, int d, float a, const int32_t *perm, const float *x, float *y) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < d; j += gridDim.x * blockDim.x)
        for (int b = 0; b < rows; b++) y[(size_t)perm[b] * d + j] -= a * x[(size_t)b * d + j];
}

extern "C" mbt_status mbt_scatter_sub_cuda(int rows, int d, float a, const int32_t *perm, const float *x,
                                           float *y) {
    if (rows < 1 || d < 1) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    scatter_kernel<<<(d + 127) / 128, 128, 0, stream>>>(rows, d, a, perm, x, y);
    MBT_CUDA_LAUNCHED("scatter");
    return MBT_OK;
}

static __global__ void gather_rows_kernel(size_t total, int d, const int32_t *perm, const float *x, float *out) {
    MBT_CUDA_FOR(i, total) {
        const size_t b = i / (size_t)d, j = i % (size_t)d;
        out[i] = x[(size_t)perm[b] * d + j];
    }
}

extern "C" mbt_status mbt_gather_rows_cuda(int rows, int d, const int32_t *perm, const float *x, float *out) {
    const size_t total = (size_t)rows * d;
    if (total == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    gather_rows_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, stream>>>(total, d, perm, x, out);
    MBT_CUDA_LAUNCHED("gather rows");
    return MBT_OK;
}
