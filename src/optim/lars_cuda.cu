/* LARS update on the GPU, segment by segment on the stream. A weight segment takes two kernels: partial
 * sums of ||p||^2 and ||grad + wd p||^2 (double) from a fixed number of blocks into the scratch, then the
 * update, whose every block first adds up those partials in the same order (so all blocks use the same
 * trust ratio, and a run is reproducible: no atomics). Element operations as lars.c, each rounded on its own. */
#include <math.h>

#include "core/cuda_grid.cuh"
#include "optim/optim_cuda.h"

static __global__ void lars_norms_kernel(size_t n, float wd, const float *p, const float *g, double *partial) {
    double pn2 = 0.0, un2 = 0.0;
    MBT_CUDA_FOR(i, n) {
        const float d = __fadd_rn(g[i], __fmul_rn(wd, p[i]));
        pn2 += (double)p[i] * p[i];
        un2 += (double)d * d;
    }
    pn2 = mbt_block_sum(pn2);
    un2 = mbt_block_sum(un2);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = pn2;
        partial[MBT_LARS_NORM_PARTS + blockIdx.x] = un2;
    }
}

static __global__ void lars_weight_kernel(size_t n, int nparts, const double *partial, double eta, float wd,
                                          float mom, float lr, float *p, const float *g, float *mu) {
    double pn2 = 0.0, un2 = 0.0;
    for (int t = threadIdx.x; t < nparts; t += blockDim.x) {
        pn2 += partial[t];
        un2 += partial[MBT_LARS_NORM_PARTS + t];
    }
    pn2 = mbt_block_sum(pn2);
    un2 = mbt_block_sum(un2);
    const double pn = sqrt(pn2), un = sqrt(un2);
    const float q = pn > 0.0 && un > 0.0 ? (float)(eta * pn / un) : 1.0f;
    MBT_CUDA_FOR(i, n) {
        const float pi = p[i];
        const float d = __fmul_rn(__fadd_rn(g[i], __fmul_rn(wd, pi)), q);
        const float m = __fadd_rn(__fmul_rn(mu[i], mom), d);
        mu[i] = m;
        p[i] = __fadd_rn(pi, __fmul_rn(-lr, m));
    }
}

static __global__ void lars_vector_kernel(size_t n, float mom, float lr, float *p, const float *g, float *mu) {
    MBT_CUDA_FOR(i, n) {
        const float m = __fadd_rn(__fmul_rn(mu[i], mom), g[i]);
        mu[i] = m;
        p[i] = __fadd_rn(p[i], __fmul_rn(-lr, m));
    }
}

extern "C" mbt_status mbt_lars_update_cuda(const mbt_lars_config *cfg, const mbt_lars_segment *segs, int nsegs,
                                           float *p, const float *g, float *mu, double *partial) {
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    const float mom = (float)cfg->momentum, wd = (float)cfg->weight_decay;
    const float lr_w = (float)cfg->lr_weights, lr_b = (float)cfg->lr_biases;
    for (int k = 0; k < nsegs; k++) {
        const size_t o = segs[k].offset, n = segs[k].length;
        if (n == 0) continue;
        const unsigned blocks = mbt_cuda_blocks(n);
        if (segs[k].is_vector) {
            lars_vector_kernel<<<blocks, MBT_CUDA_BLOCK, 0, stream>>>(n, mom, lr_b, p + o, g + o, mu + o);
            MBT_CUDA_LAUNCHED("lars step (1-D tensor)");
            continue;
        }
        const unsigned parts = blocks < MBT_LARS_NORM_PARTS ? blocks : MBT_LARS_NORM_PARTS;
        lars_norms_kernel<<<parts, MBT_CUDA_BLOCK, 0, stream>>>(n, wd, p + o, g + o, partial);
        MBT_CUDA_LAUNCHED("lars step (norms)");
        lars_weight_kernel<<<blocks, MBT_CUDA_BLOCK, 0, stream>>>(n, (int)parts, partial, cfg->eta, wd, mom, lr_w,
                                                                   p + o, g + o, mu + o);
        MBT_CUDA_LAUNCHED("lars step (weights)");
    }
    return MBT_OK;
}
