/* The CUDA runner of batch augmentation (augment_batch.h): one kernel per stage over the per-element
 * functions of augment_batch_stages.h, queued on the context's stream after the host plans are copied
 * up from pinned memory. This file is compiled with --fmad=false (CMakeLists.txt): the colour
 * arithmetic must round every product as the CPU (and Pillow) does. */
#include "core/cuda_grid.cuh"
#include "data/augment_batch_stages.h"

typedef mbt_augment_batch_shape shape_t;
typedef mbt_augment_batch_bufs bufs_t;

static __global__ void copy_kernel(shape_t s, bufs_t b, size_t n) { MBT_CUDA_FOR(i, n) mbt_ab_copy(&s, &b, i); }
static __global__ void jitter_kernel(shape_t s, bufs_t b, int k, size_t n) {
    MBT_CUDA_FOR(i, n) mbt_ab_jitter(&s, &b, k, i);
}
static __global__ void gray_kernel(shape_t s, bufs_t b, size_t n) { MBT_CUDA_FOR(i, n) mbt_ab_gray(&s, &b, i); }
static __global__ void hpass_kernel(shape_t s, bufs_t b, size_t n) { MBT_CUDA_FOR(i, n) mbt_ab_hpass(&s, &b, i); }
static __global__ void vpass_kernel(shape_t s, bufs_t b, size_t n) { MBT_CUDA_FOR(i, n) mbt_ab_vpass(&s, &b, i); }
static __global__ void normalize_kernel(shape_t s, bufs_t b, size_t n) {
    MBT_CUDA_FOR(i, n) mbt_ab_normalize(&s, &b, i);
}

/* One block per view: sums[v] = the 'L' sum of its n colour-image pixels (integers: any order is exact). */
static __global__ void sums_kernel(shape_t s, bufs_t b, int k, size_t n) {
    const int v = blockIdx.x;
    if (!mbt_ab_needs_sum(&b, v, k)) return; /* the whole block leaves together */
    __shared__ uint32_t total;
    if (threadIdx.x == 0) total = 0;
    __syncthreads();
    uint32_t acc = 0;
    for (size_t j = threadIdx.x; j < n; j += blockDim.x) acc += mbt_ab_luma(&s, &b, v, j);
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, o);
    if ((threadIdx.x & 31u) == 0) atomicAdd(&total, acc);
    __syncthreads();
    if (threadIdx.x == 0) b.sums[v] = total;
}

extern "C" mbt_status mbt_augment_batch_cuda_init(mbt_augment_batch *b) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    const size_t plans = (size_t)b->shape.views * sizeof(mbt_augment_view_plan);
    const size_t tables = (size_t)b->shape.views * b->shape.table * sizeof(int32_t);
    MBT_CUDA("batch augmentation (pinned plans)", cudaHostAlloc((void **)&b->host_plans, plans, cudaHostAllocDefault));
    MBT_CUDA("batch augmentation (pinned tables)", cudaHostAlloc((void **)&b->host_tables, tables, cudaHostAllocDefault));
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
    if (b->host_plans) cudaFreeHost(b->host_plans);
    if (b->host_tables) cudaFreeHost(b->host_tables);
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
        const unsigned blocks = mbt_cuda_blocks(n);
        switch (stages[j].kind) {
        case MBT_AB_COPY: copy_kernel<<<blocks, MBT_CUDA_BLOCK, 0, st>>>(s, d, n); break;
        case MBT_AB_SUMS: sums_kernel<<<(unsigned)s.views, MBT_CUDA_BLOCK, 0, st>>>(s, d, k, n); break;
        case MBT_AB_JITTER: jitter_kernel<<<blocks, MBT_CUDA_BLOCK, 0, st>>>(s, d, k, n); break;
        case MBT_AB_GRAY: gray_kernel<<<blocks, MBT_CUDA_BLOCK, 0, st>>>(s, d, n); break;
        case MBT_AB_HPASS: hpass_kernel<<<blocks, MBT_CUDA_BLOCK, 0, st>>>(s, d, n); break;
        case MBT_AB_VPASS: vpass_kernel<<<blocks, MBT_CUDA_BLOCK, 0, st>>>(s, d, n); break;
        case MBT_AB_NORMALIZE: normalize_kernel<<<blocks, MBT_CUDA_BLOCK, 0, st>>>(s, d, n); break;
        }
        MBT_CUDA_LAUNCHED("batch augmentation");
    }
    return MBT_OK;
}
