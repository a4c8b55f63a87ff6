/* Adam's element-wise update on the GPU. The operations are the CPU loop's (adam.c) in the same order,
 * each rounded on its own here (no fused multiply-add). The CPU build may contract some of them to
 * FMAs (GCC's default), so the two agree to about an ulp per step, not bit for bit (test_optim_cuda: 1e-6). */
#include "core/cuda_grid.cuh"
#include "optim/optim_cuda.h"

static __global__ void adam_kernel(size_t n, mbt_adam_coeffs k, float *p, float *m, float *v, const float *grad) {
    MBT_CUDA_FOR(i, n) {
        const float pi = p[i];
        const float g = k.wd != 0.0f ? __fadd_rn(grad[i], __fmul_rn(k.wd, pi)) : grad[i];
        const float mi = __fadd_rn(__fmul_rn(m[i], k.b1), __fmul_rn(g, k.ob1));
        const float vi = __fadd_rn(__fmul_rn(v[i], k.b2), __fmul_rn(__fmul_rn(k.ob2, g), g));
        const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), k.bc2_sqrt), k.eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = __fadd_rn(pi, __fdiv_rn(__fmul_rn(-k.step_size, mi), denom));
    }
}

extern "C" mbt_status mbt_adam_update_cuda(size_t n, const mbt_adam_coeffs *k, float *p, float *m, float *v,
                                           const float *g) {
    if (n == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    adam_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, *k, p, m, v, g);
    MBT_CUDA_LAUNCHED("adam step");
    return MBT_OK;
}
