/* Host batches onto the compute device (see device_batch.h): pinned staging, asynchronous copies. */
#include "tasks/device_batch.h"

#include <string.h>

#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

mbt_status mbt_device_batch_init(mbt_device_batch *b, mbt_device device, int views, size_t numel) {
    memset(b, 0, sizeof *b);
    if (views < 1 || views > MBT_DEVICE_BATCH_MAX_VIEWS)
        return MBT_FAIL(MBT_ERR_ARG, "device batch: %d views (1..%d)", views, MBT_DEVICE_BATCH_MAX_VIEWS);
    b->device = device;
    b->views = views;
    b->numel = numel;
    mbt_plan_init(&b->plan, device);
    if (device == MBT_DEVICE_CPU) return MBT_OK;
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) {
        mbt_cuda_context *ctx;
        MBT_TRY(mbt_cuda_context_get(&ctx));
        for (int v = 0; v < views; v++) mbt_plan_floats(&b->plan, &b->dev[v], numel);
        mbt_status st = mbt_plan_commit(&b->plan);
        for (int v = 0; st == MBT_OK && v < views; v++) {
            st = mbt_cuda_host_alloc("device batch (staging)", (void **)&b->staging[v], numel * sizeof(float));
            if (st == MBT_OK && cudaEventCreateWithFlags((cudaEvent_t *)&b->copied[v], cudaEventDisableTiming) != cudaSuccess)
                st = MBT_FAIL(MBT_ERR_BACKEND, "device batch: cudaEventCreateWithFlags failed (%s)",
                              cudaGetErrorString(cudaGetLastError()));
        }
        if (st != MBT_OK) mbt_device_batch_free(b);
        return st;
    }
#endif
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "device batch: device %s is not available in this build",
                    mbt_device_name(device));
}

void mbt_device_batch_free(mbt_device_batch *b) {
#ifdef MIXBT_HAVE_CUDA
    for (int v = 0; v < MBT_DEVICE_BATCH_MAX_VIEWS; v++) {
        if (b->copied[v]) {
            cudaEventSynchronize((cudaEvent_t)b->copied[v]);
            cudaEventDestroy((cudaEvent_t)b->copied[v]);
        }
        mbt_cuda_host_free(b->staging[v]);
    }
#endif
    mbt_plan_free(&b->plan);
    memset(b, 0, sizeof *b);
}

mbt_status mbt_device_batch_put(mbt_device_batch *b, int view, const float *host, size_t n, const float **out) {
    *out = NULL;
    if (view < 0 || view >= b->views || n > b->numel)
        return MBT_FAIL(MBT_ERR_ARG, "device batch: view %d of %d, %zu floats of %zu", view, b->views, n, b->numel);
    if (b->device == MBT_DEVICE_CPU) {
        *out = host;
        return MBT_OK;
    }
#ifdef MIXBT_HAVE_CUDA
    if (b->device == MBT_DEVICE_CUDA) {
        mbt_cuda_context *ctx;
        MBT_TRY(mbt_cuda_context_get(&ctx));
        cudaEvent_t done = (cudaEvent_t)b->copied[view];
        MBT_CUDA("device batch", cudaEventSynchronize(done)); /* the previous copy out of the pinned buffer */
        memcpy(b->staging[view], host, n * sizeof(float));
        MBT_CUDA("device batch", cudaMemcpyAsync(b->dev[view], b->staging[view], n * sizeof(float),
                                                 cudaMemcpyHostToDevice, ctx->stream));
        MBT_CUDA("device batch", cudaEventRecord(done, ctx->stream));
        *out = b->dev[view];
        return MBT_OK;
    }
#endif
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "device batch: device %s is not available in this build",
                    mbt_device_name(b->device));
}
