/* The Mixed Barlow Twins input mix as one grid-stride kernel on the context's stream. */
#include "core/cuda_grid.cuh"
#include "tasks/mixbt_mix_cuda.h"

/* The same float expression as the CPU loop of mixbt_step.c. */
static __global__ void mix_kernel(size_t total, size_t row, float a, const float *x1, const float *x2,
                                  const int32_t *perm, float *xm) {
    const float ra = 1.0f - a;
    MBT_CUDA_FOR(i, total) {
        const size_t b = i / row, k = i - b * row;
        xm[i] = a * x1[i] + ra * x2[(size_t)perm[b] * row + k];
    }
}

extern "C" mbt_status mbt_mixbt_mix_cuda(int batch, size_t row, float a, const float *x1, const float *x2,
                                         const int32_t *perm, int32_t *perm_dev, float *xm) {
    const size_t total = (size_t)batch * row;
    if (total == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    MBT_CUDA("mixbt mix (perm)",
             cudaMemcpyAsync(perm_dev, perm, (size_t)batch * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
    mix_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, stream>>>(total, row, a, x1, x2, perm_dev, xm);
    MBT_CUDA_LAUNCHED("mixbt mix");
    return MBT_OK;
}
