/* SGD (momentum) update on the GPU: the CPU loop of sgd.c, each operation rounded on its own. */
#include "core/cuda_grid.cuh"
#include "optim/optim_cuda.h"

static __global__ void sgd_kernel(size_t n, float lr, float mom, float wd, int first, float *p, float *buf,
                                  const float *grad) {
    MBT_CUDA_FOR(i, n) {
        const float pi = p[i];
        const float d = wd != 0.0f ? __fadd_rn(grad[i], __fmul_rn(wd, pi)) : grad[i];
        float u = d;
        if (mom != 0.0f) {
            u = first ? d : __fadd_rn(__fmul_rn(buf[i], mom), d);
            buf[i] = u;
        }
        p[i] = __fadd_rn(pi, __fmul_rn(-lr, u));
    }
}

extern "C" mbt_status mbt_sgd_update_cuda(size_t n, float lr, float mom, float wd, int first, float *p, float *buf,
                                          const float *g) {
    if (n == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    sgd_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, lr, mom, wd, first, p, buf, g);
    MBT_CUDA_LAUNCHED("sgd step");
    return MBT_OK;
}
