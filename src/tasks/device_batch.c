/* Host batches onto the compute device (see device_batch.h): staged asynchronous uploads. */
#include "tasks/device_batch.h"

#include <string.h>

mbt_status mbt_device_batch_init(mbt_device_batch *b, mbt_device device, int views, size_t numel) {
    memset(b, 0, sizeof *b);
    if (views < 1 || views > MBT_DEVICE_BATCH_MAX_VIEWS)
        return MBT_FAIL(MBT_ERR_ARG, "device batch: %d views (1..%d)", views, MBT_DEVICE_BATCH_MAX_VIEWS);
    b->device = device;
    b->views = views;
    b->numel = numel;
    mbt_plan_init(&b->plan, device);
    if (mbt_device_host_memory(device)) return MBT_OK; /* a pass-through */
    mbt_status st = MBT_OK;
    /* the uploads first: on CUDA they create the context, whose allocator the plan's commit needs */
    for (int v = 0; st == MBT_OK && v < views; v++)
        st = mbt_upload_init(&b->up[v], device, 1, numel * sizeof(float), "device batch");
    for (int v = 0; v < views; v++) mbt_plan_floats(&b->plan, &b->dev[v], numel);
    if (st == MBT_OK) st = mbt_plan_commit(&b->plan);
    if (st != MBT_OK) mbt_device_batch_free(b);
    return st;
}

void mbt_device_batch_free(mbt_device_batch *b) {
    for (int v = 0; v < MBT_DEVICE_BATCH_MAX_VIEWS; v++) mbt_upload_free(&b->up[v]);
    mbt_plan_free(&b->plan);
    memset(b, 0, sizeof *b);
}

mbt_status mbt_device_batch_put(mbt_device_batch *b, int view, const float *host, size_t n, const float **out) {
    *out = NULL;
    if (view < 0 || view >= b->views || n > b->numel)
        return MBT_FAIL(MBT_ERR_ARG, "device batch: view %d of %d, %zu floats of %zu", view, b->views, n, b->numel);
    if (mbt_device_host_memory(b->device)) {
        *out = host;
        return MBT_OK;
    }
    MBT_TRY(mbt_upload_put(&b->up[view], b->dev[view], host, n * sizeof(float)));
    *out = b->dev[view];
    return MBT_OK;
}
