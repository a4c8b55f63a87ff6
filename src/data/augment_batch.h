/* A batch of training augmentations run where the images live: the random choices are drawn on the
 * host (mbt_augment_draw_view, the loader's streams) and written as one small plan per view; the pixel
 * work (crop + resize, colour jitter, grayscale, flip, normalise) runs as a few data-parallel stages
 * over the whole batch, on the CPU or as CUDA kernels, both from the per-element functions of
 * data/augment_batch_stages.h. The result equals mbt_augment_apply bit for bit.
 *
 * Covers the recipes without blur and solarize (CIFAR, Tiny-ImageNet, STL-10, the sslsota_* ones), in
 * either order (crop first or colour first, the recipe's crop_first), on sources that all
 * have one size: images held as one array of src_h x src_w x 3 bytes each (a GPU-resident dataset). */
#ifndef MBT_AUGMENT_BATCH_H
#define MBT_AUGMENT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/plan.h"
#include "core/upload.h"
#include "core/status.h"
#include "core/tensor.h"
#include "data/augment.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The choices of one view, as the stages read them (plain data: copied to the device as is). */
typedef struct {
    int64_t src;                     /* byte offset of the source image in the image array */
    int32_t crop_x, crop_y, crop_w, crop_h;
    int32_t kx, bx, kx_size;         /* horizontal pass: coefficient and bounds offsets in the view's
                                        table, taps per output; kx < 0: no pass (crop_w == size) */
    int32_t ky, by, ky_size;         /* vertical pass, likewise (crop_h == size) */
    int32_t flip, jitter, gray;
    int32_t order[4];                /* 0 brightness, 1 contrast, 2 saturation, 3 hue, -1 none */
    float factor[3];                 /* brightness, contrast, saturation */
    int32_t hue_shift;               /* the uint8 added to PIL's H */
} mbt_augment_view_plan;

/* The batch's geometry and normalisation (fixed at init). */
typedef struct {
    int views;                       /* images augmented per run */
    int size;                        /* output side */
    int src_w, src_h;                /* every source image's size */
    int crop_first;                  /* the recipe's order: crop first, or colour first */
    int table;                       /* int32 entries of one view's coefficient table */
    float mean[3], std[3];
} mbt_augment_batch_shape;

/* The buffers the stages read and write, all in the memory of the batch's device. */
typedef struct {
    const uint8_t *images;           /* the source array */
    const mbt_augment_view_plan *plans;
    const int32_t *tables;           /* [views][table] */
    uint8_t *work;                   /* [views][src_h][src_w][3]: the coloured sources (colour first) */
    uint8_t *tmp;                    /* [views][src_h][size][3]: after the horizontal pass */
    uint8_t *img;                    /* [views][size][size][3]: resized */
    uint32_t *sums;                  /* [views]: 'L' sums for contrast */
    float *out;                      /* [views][3][size][size] */
} mbt_augment_batch_bufs;

typedef struct {
    mbt_device device;
    mbt_filter filter;
    mbt_augment_batch_shape shape;
    mbt_plan plan;                   /* device buffers: plans, tables, work, tmp, img, sums */
    mbt_augment_batch_bufs dev;
    mbt_augment_view_plan *host_plans; /* where mbt_augment_batch_set_view writes: dev.plans where the
                                          device's memory is the host's, else the upload's staging */
    int32_t *host_tables;
    double *pre;                     /* coefficient scratch */
    mbt_upload up;                   /* the plans and tables onto the device (unused on the CPU) */
    size_t tables_at;                /* byte offset of the tables in the upload's staging buffer */
} mbt_augment_batch;

/* Buffers for `views` augmentations with `recipe` of src_w x src_h sources on `device`. MBT_ERR_ARG
 * for a recipe with blur or solarize, MBT_ERR_UNSUPPORTED for a device this build lacks. */
mbt_status mbt_augment_batch_init(mbt_augment_batch *b, mbt_device device, const mbt_augment_recipe *recipe,
                                  int views, int src_w, int src_h);
void mbt_augment_batch_free(mbt_augment_batch *b);

/* Waits until the host plans may be rewritten (CUDA: the previous run's upload is done). Call before
 * the views of a run are set. */
mbt_status mbt_augment_batch_begin(mbt_augment_batch *b);
/* The plan of view v: choices p (drawn for a src_w x src_h source) applied to the image at byte
 * offset src of the array. */
void mbt_augment_batch_set_view(mbt_augment_batch *b, int v, const mbt_augment_params *p, int64_t src);
/* Runs every view: out[v] = mbt_augment_apply(recipe, p_v, image_v), float [views][3][size][size] in
 * the device's memory, from `images` there. CUDA: queued on the context's stream (the plans are uploaded
 * there first); the host does not wait. */
mbt_status mbt_augment_batch_run(mbt_augment_batch *b, const uint8_t *images, float *out);

/* The CPU and CUDA runners of the stages (mbt_augment_batch_run dispatches), over buffers in the
 * device's memory; CUDA: queued on the context's stream (augment_batch_cuda.cu, CUDA builds only). */
void mbt_augment_batch_run_cpu(const mbt_augment_batch_shape *shape, const mbt_augment_batch_bufs *bufs);
mbt_status mbt_augment_batch_run_cuda(const mbt_augment_batch_shape *shape, const mbt_augment_batch_bufs *bufs);

#ifdef __cplusplus
}
#endif

#endif
