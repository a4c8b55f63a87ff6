/* The threaded batch loader: worker threads read, decode and augment images ahead of the consumer into
 * a ring of batch buffers allocated once. Pair mode (pretraining): per epoch a shuffled order from
 * Philox keyed by (seed, epoch), the last partial batch dropped, `views` independently augmented views
 * of each image (2 by default: a pair), each (epoch, image, view) drawing from its own stream, so
 * batches are bit-identical for any number of workers and views 0 and 1 are the same whatever the
 * number of views, and an epoch can start at any batch without touching the batches before it.
 * Eval mode: the images in order with the recipe's evaluation transform, the last partial batch kept. */
#ifndef MBT_LOADER_H
#define MBT_LOADER_H

#include <stdint.h>

#include "core/status.h"
#include "data/augment.h"
#include "data/dataset.h"

/* Philox stream tags of the loader (mbt_rng_stream_id's first argument). */
#define MBT_RNG_TAG_LOADER_ORDER 16u /* (epoch, 0, 0): the epoch's permutation */
#define MBT_RNG_TAG_LOADER_VIEW 17u  /* (epoch, image index, view): one view's augmentation */

/* Views per image of pair mode: the stream id holds a view number below 2^4. */
#define MBT_LOADER_MAX_VIEWS 16

/* The epoch's image order of pair mode: a permutation of 0..count-1 from (seed, epoch). */
void mbt_loader_epoch_order(uint64_t seed, uint32_t epoch, int32_t *order, int64_t count);
/* The random choices of view `view` (0 .. MBT_LOADER_MAX_VIEWS - 1) of dataset image `index` (width x
 * height) in `epoch`: mbt_augment_draw_view(view) from the stream (MBT_RNG_TAG_LOADER_VIEW, epoch,
 * index, view), so a view's choices do not depend on how many views are drawn. */
void mbt_loader_draw_view(const mbt_augment_recipe *recipe, uint64_t seed, uint32_t epoch, int64_t index, int view,
                          int width, int height, mbt_augment_params *p);

typedef enum { MBT_LOADER_PAIR = 0, MBT_LOADER_EVAL = 1 } mbt_loader_mode;

typedef struct {
    const mbt_dataset *dataset;       /* borrowed: must outlive the loader */
    mbt_augment_recipe recipe;
    mbt_loader_mode mode;
    int batch;                        /* images per batch */
    int workers;                      /* worker threads (>= 1) */
    uint64_t seed;
    int ring;                         /* batch buffers (0: workers + 1, at least 2) */
    int views;                        /* pair mode: views per image, 2 .. MBT_LOADER_MAX_VIEWS (0: 2) */
} mbt_loader_config;

typedef struct {
    const float *x1;         /* [n, 3, size, size] float32, normalised (view 0; eval mode: the images) */
    const float *x2;         /* the second view (pair mode), NULL in eval mode */
    const float *x[MBT_LOADER_MAX_VIEWS]; /* pair mode: view v of each image, x[0] = x1, x[1] = x2 */
    int views;               /* views per image: the config's in pair mode, 1 in eval mode */
    const int32_t *labels;   /* [n] (-1 for unlabelled images) */
    const int64_t *indices;  /* [n] dataset indices */
    int n;                   /* images in the batch; 0 once the epoch / pass is over */
    int64_t index;           /* batch index within the epoch */
} mbt_batch;

typedef struct mbt_loader mbt_loader;

mbt_status mbt_loader_create(mbt_loader **loader, const mbt_loader_config *cfg);
/* Stops the workers (waiting for the images in progress) and frees everything. */
void mbt_loader_destroy(mbt_loader *loader);
/* Batches per epoch: floor(count / batch) in pair mode, ceil(count / batch) in eval mode. */
int64_t mbt_loader_batches(const mbt_loader *loader);
/* Begins epoch `epoch` (any value below 2^20; ignored in eval mode) at batch `skip`: batches before it
 * are neither read nor augmented. Work of a previous epoch still in flight is waited for and dropped. */
mbt_status mbt_loader_start(mbt_loader *loader, uint32_t epoch, int64_t skip);
/* The next batch in order; its buffers stay valid until the next call to next, start or destroy.
 * b->n == 0 after the last batch. A worker's failure (unreadable image ...) is returned here with its
 * message. */
mbt_status mbt_loader_next(mbt_loader *loader, mbt_batch *b);

#endif
