/* The CUDA runner of batch augmentation (augment_batch.h): one kernel per stage over the per-element
 * functions of augment_batch_stages.h, queued on the context's stream after the host plans are copied
 * up from pinned memory. This file is compiled with --fmad=false (CMakeLists.txt): the colour
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

extern "C" mbt_status mbt_augment_batch_cuda_init(mbt_augment_batch *b) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    const size_t plans = (size_t)b->shape.views * sizeof(mbt_augment_view_plan);
    const size_t tables = (size_t)b->shape.views * b->shape.table * sizeof(int32_t);
    MBT_TRY(mbt_cuda_host_alloc("batch augmentation (plans)", (void **)&b->host_plans, plans));
    MBT_TRY(mbt_cuda_host_alloc("batch augmentation (tables)", (void **)&b->host_tables, tables));
    cudaEvent_t e;
    MBT_CUDA("batch augmentation (event)", cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    b->uploaded = (void *)e;
    return MBT_OK;
}

extern "C" void mbt_augment_batch_cuda_free(mbt_augment_batch *b) {
    if (b->uploaded) {
        cudaEventSynchronize((cudaEvent_t)b->uploaded);
        cudaEventDestroy((cudaEvent_t)b->uploaded);
    }
    mbt_cuda_host_free(b->host_plans);
    mbt_cuda_host_free(b->host_tables);
    b->uploaded = NULL;
    b->host_plans = NULL;
    b->host_tables = NULL;
}

extern "C" mbt_status mbt_augment_batch_cuda_begin(mbt_augment_batch *b) {
    MBT_CUDA("batch augmentation (plans)", cudaEventSynchronize((cudaEvent_t)b->uploaded));
    return MBT_OK;
}

extern "C" mbt_status mbt_augment_batch_run_cuda(mbt_augment_batch *b, const uint8_t *images, float *out) {
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    const shape_t s = b->shape;
    bufs_t d = b->dev;
    d.images = images;
    d.out = out;
    MBT_CUDA("batch augmentation (plans)",
             cudaMemcpyAsync((void *)d.plans, b->host_plans, (size_t)s.views * sizeof(mbt_augment_view_plan),
                             cudaMemcpyHostToDevice, st));
    MBT_CUDA("batch augmentation (tables)",
             cudaMemcpyAsync((void *)d.tables, b->host_tables, (size_t)s.views * s.table * sizeof(int32_t),
                             cudaMemcpyHostToDevice, st));
    MBT_CUDA("batch augmentation (plans)", cudaEventRecord((cudaEvent_t)b->uploaded, st));
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
