/* The CUDA runner of batch augmentation (augment_batch.h): one kernel per stage over the per-element
 * functions of augment_batch_stages.h, queued on the context's stream (augment_batch.c uploads the
 * host plans first). This file is compiled with --fmad=false (CMakeLists.txt): the colour
 * arithmetic must round every product as the CPU (and Pillow) does. */
#include "core/cuda_grid.cuh"
#include "data/augment_batch_stages.h"

typedef mbt_augment_batch_shape shape_t;
typedef mbt_augment_batch_bufs bufs_t;

/* One per-element stage (the kind is the same for every thread). */
static __global__ void element_kernel(shape_t s, bufs_t b, mbt_ab_stage_kind kind, int k, size_t n) {
    MBT_CUDA_FOR(i, n) mbt_ab_element(&s, &b, kind, k, i);
}

/* One block per view: sums[v] = the 'L' sum of its n colour-image pixels (integers below 2^32, exact in
 * the block sum's doubles whatever the order). */
static __global__ void sums_kernel(shape_t s, bufs_t b, int k, size_t n) {
    const int v = blockIdx.x;
    if (!mbt_ab_needs_sum(&b, v, k)) return; /* the whole block leaves together */
    double acc = 0;
    for (size_t j = threadIdx.x; j < n; j += blockDim.x) acc += mbt_ab_luma(&s, &b, v, j);
    const double total = mbt_block_sum(acc);
    if (threadIdx.x == 0) b.sums[v] = (uint32_t)total;
}

extern "C" mbt_status mbt_augment_batch_run_cuda(const shape_t *shape, const bufs_t *bufs) {
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    const shape_t s = *shape;
    const bufs_t d = *bufs;
    mbt_ab_stage stages[MBT_AB_MAX_STAGES];
    const int count = mbt_ab_stages(&s, stages);
    for (int j = 0; j < count; j++) {
        const int k = stages[j].k;
        const size_t n = mbt_ab_stage_elements(&s, stages[j].kind);
        if (stages[j].kind == MBT_AB_SUMS)
            sums_kernel<<<(unsigned)s.views, MBT_CUDA_BLOCK, 0, st>>>(s, d, k, n);
        else
            element_kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, st>>>(s, d, stages[j].kind, k, n);
        MBT_CUDA_LAUNCHED("batch augmentation");
    }
    return MBT_OK;
}
