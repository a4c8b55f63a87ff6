/* Host batches onto the compute device: the data loader fills host memory; a model on CUDA needs its
 * inputs in device memory. Fixed buffers for `views` arrays of up to `numel` floats each, made once;
 * putting a batch allocates nothing. On the CPU it is a pass-through (the host pointer is used). */
#ifndef MBT_DEVICE_BATCH_H
#define MBT_DEVICE_BATCH_H

#include <stddef.h>

#include "core/plan.h"
#include "core/upload.h"
#include "core/tensor.h"

#define MBT_DEVICE_BATCH_MAX_VIEWS 4 /* a step's views (MBT_METHOD_MAX_VIEWS) */

typedef struct {
    mbt_device device;
    int views;
    size_t numel;                                  /* floats per view */
    mbt_plan plan;                                 /* the device buffers (none where memory is the host's) */
    float *dev[MBT_DEVICE_BATCH_MAX_VIEWS];        /* device copies */
    mbt_upload up[MBT_DEVICE_BATCH_MAX_VIEWS];     /* their uploads (staging buffer and event) */
} mbt_device_batch;

/* Buffers for `views` (1..MBT_DEVICE_BATCH_MAX_VIEWS) arrays of numel floats on `device`. */
mbt_status mbt_device_batch_init(mbt_device_batch *b, mbt_device device, int views, size_t numel);
void mbt_device_batch_free(mbt_device_batch *b);

/* Makes n <= numel floats of host memory `host` available on the device as view `view`: *out is the
 * array to pass to the model. Where the device's memory is the host's (the CPU): *out = host. Else host
 * is copied into the view's staging buffer and an asynchronous copy to the device buffer is queued,
 * ordered before any work queued after it; the host does not wait for it (only, before refilling the
 * staging buffer, for the previous copy of the same view, which the step in between has long finished).
 * *out stays valid and unchanged until the next put of the same view. */
mbt_status mbt_device_batch_put(mbt_device_batch *b, int view, const float *host, size_t n, const float **out);

#endif
