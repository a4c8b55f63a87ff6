/* The pair (or N-view) loader for a training set kept whole in the memory of the training device (GPU-resident
 * data for small datasets: CIFAR, STL-10, Tiny-ImageNet): every image decoded once into one uint8 array
 * there; per batch the threaded loader's epoch order and per-view random streams (loader.h), the
 * choices drawn on the host and the pixel work done on the device by mbt_augment_batch. Its batches are
 * bit-identical to mbt_loader's pair batches, so a run can switch between the two, even on resume. */
#ifndef MBT_RESIDENT_LOADER_H
#define MBT_RESIDENT_LOADER_H

#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "data/loader.h"

typedef struct mbt_resident_loader mbt_resident_loader;

/* Decodes cfg->dataset (every image of one size; cfg->workers threads) into the memory of `device`
 * and prepares batches of cfg->batch images of cfg->views views each (0: 2). cfg->mode must be
 * MBT_LOADER_PAIR; cfg->ring is ignored.
 * MBT_ERR_ARG for images of several sizes or a recipe with blur or solarize. */
mbt_status mbt_resident_loader_create(mbt_resident_loader **loader, const mbt_loader_config *cfg, mbt_device device);
void mbt_resident_loader_destroy(mbt_resident_loader *loader);
/* Bytes the decoded set takes on the device. */
size_t mbt_resident_loader_bytes(const mbt_resident_loader *loader);
/* floor(count / batch), as mbt_loader_batches in pair mode. */
int64_t mbt_resident_loader_batches(const mbt_resident_loader *loader);
/* Begins epoch `epoch` (below 2^20) at batch `skip`. */
mbt_status mbt_resident_loader_start(mbt_resident_loader *loader, uint32_t epoch, int64_t skip);
/* Views per image. */
int mbt_resident_loader_views(const mbt_resident_loader *loader);
/* The next batch: x[v] (v < views) = view v [batch, 3, size, size] in the device's memory, valid until
 * the next call; *n = batch, or 0 (x[v] NULL) after the epoch's last batch. CUDA: the work is queued on
 * the context's stream. */
mbt_status mbt_resident_loader_next_views(mbt_resident_loader *loader, const float **x, int *n);
/* mbt_resident_loader_next_views giving views 0 and 1 only. */
mbt_status mbt_resident_loader_next(mbt_resident_loader *loader, const float **x1, const float **x2, int *n);

#endif
