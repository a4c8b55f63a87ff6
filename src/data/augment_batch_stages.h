/* The stages of a batch augmentation (data/augment_batch.h) as per-element functions: element i of a
 * stage writes only its own outputs, so the CPU runner loops over i and the CUDA kernels give each
 * thread an i. Both runners call these same definitions in the order of mbt_ab_stages, which is what
 * makes the GPU's augmentations equal to the CPU's:
 *   crop first:   hpass, vpass, then per jitter slot k: (contrast sums, jitter k), gray, normalize
 *   colour first: copy, per jitter slot k: (contrast sums, jitter k), gray, hpass, vpass, normalize
 * The flip is done by normalize (reading mirrored columns): it commutes with every pixel operation
 * and with the contrast mean. Included by augment_batch.c and augment_batch_cuda.cu only. */
#ifndef MBT_AUGMENT_BATCH_STAGES_H
#define MBT_AUGMENT_BATCH_STAGES_H

#include "data/augment_batch.h"
#include "data/pixel_ops.h"

/* Pixels of the image the colour stages work on: the output (crop first) or the source (colour first). */
static inline MBT_HD size_t mbt_ab_color_pixels(const mbt_augment_batch_shape *s) {
    return s->crop_first ? (size_t)s->size * s->size : (size_t)s->src_w * s->src_h;
}

/* View v's image of the colour stages. */
static inline MBT_HD uint8_t *mbt_ab_color_image(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b,
                                                 int v) {
    return (s->crop_first ? b->img : b->work) + (size_t)v * mbt_ab_color_pixels(s) * 3;
}

/* The first pixel of view v's crop in the image the resize reads, and that image's row stride. */
static inline MBT_HD const uint8_t *mbt_ab_crop_origin(const mbt_augment_batch_shape *s,
                                                       const mbt_augment_batch_bufs *b, int v, size_t *stride) {
    const mbt_augment_view_plan *p = &b->plans[v];
    *stride = (size_t)s->src_w * 3;
    const uint8_t *base = s->crop_first ? b->images + p->src : b->work + (size_t)v * s->src_w * s->src_h * 3;
    return base + (size_t)p->crop_y * *stride + (size_t)p->crop_x * 3;
}

/* copy, i < views * src_h * src_w * 3: view v's source into work. */
static inline MBT_HD void mbt_ab_copy(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b, size_t i) {
    size_t per = (size_t)s->src_w * s->src_h * 3;
    size_t v = i / per;
    b->work[i] = b->images[b->plans[v].src + (int64_t)(i - v * per)];
}

/* 1 when view v applies contrast in jitter slot k (then its 'L' sum is needed first). */
static inline MBT_HD int mbt_ab_needs_sum(const mbt_augment_batch_bufs *b, int v, int k) {
    return b->plans[v].jitter && b->plans[v].order[k] == 1;
}

/* The 'L' value of pixel j of view v's colour image (summed into sums[v] for contrast). */
static inline MBT_HD uint32_t mbt_ab_luma(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b, int v,
                                          size_t j) {
    return mbt_px_luma(mbt_ab_color_image(s, b, v) + 3 * j);
}

/* Element i of a colour stage (i < views * colour image pixels): its view into *v, its pixel returned. */
static inline MBT_HD uint8_t *mbt_ab_color_pixel(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b,
                                                 size_t i, int *v) {
    size_t n = mbt_ab_color_pixels(s);
    *v = (int)(i / n);
    return mbt_ab_color_image(s, b, *v) + 3 * (i - (size_t)*v * n);
}

/* jitter slot k, i < views * (colour image pixels): one pixel through the view's k-th colour op. */
static inline MBT_HD void mbt_ab_jitter(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b, int k,
                                        size_t i) {
    int v;
    uint8_t *px = mbt_ab_color_pixel(s, b, i, &v);
    const mbt_augment_view_plan *p = &b->plans[v];
    if (!p->jitter) return;
    switch (p->order[k]) {
    case 0:
        for (int c = 0; c < 3; c++) px[c] = mbt_px_blend(0, px[c], p->factor[0]);
        break;
    case 1: {
        int mean = mbt_px_contrast_mean(b->sums[v], mbt_ab_color_pixels(s));
        for (int c = 0; c < 3; c++) px[c] = mbt_px_blend(mean, px[c], p->factor[1]);
        break;
    }
    case 2: {
        int l = mbt_px_luma(px);
        for (int c = 0; c < 3; c++) px[c] = mbt_px_blend(l, px[c], p->factor[2]);
        break;
    }
    case 3: mbt_px_hue(px, (uint8_t)p->hue_shift); break;
    default: break; /* -1: an op the recipe leaves out */
    }
}

/* gray, i < views * (colour image pixels). */
static inline MBT_HD void mbt_ab_gray(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b, size_t i) {
    int v;
    uint8_t *px = mbt_ab_color_pixel(s, b, i, &v);
    if (b->plans[v].gray) px[0] = px[1] = px[2] = mbt_px_luma(px);
}

/* hpass, i < views * src_h * size: row r < crop_h, output column x of the horizontal pass into tmp. */
static inline MBT_HD void mbt_ab_hpass(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b, size_t i) {
    size_t per = (size_t)s->src_h * s->size;
    int v = (int)(i / per);
    size_t rem = i - (size_t)v * per;
    int r = (int)(rem / s->size), x = (int)(rem % s->size);
    const mbt_augment_view_plan *p = &b->plans[v];
    if (p->kx < 0 || r >= p->crop_h) return;
    size_t stride;
    const uint8_t *row = mbt_ab_crop_origin(s, b, v, &stride);
    row += (size_t)r * stride;
    const int32_t *t = b->tables + (size_t)v * s->table;
    const int32_t *bounds = t + p->bx + 2 * x;
    const int32_t *k = t + p->kx + (size_t)x * p->kx_size;
    uint8_t *o = b->tmp + (((size_t)v * s->src_h + r) * s->size + x) * 3;
    mbt_px_resample_rgb(row + (size_t)bounds[0] * 3, bounds[1], k, o);
}

/* vpass, i < views * size * size: output pixel (y, x) of the resize into img (from tmp after a
 * horizontal pass, else from the crop itself; a copy when the height is already the size). */
static inline MBT_HD void mbt_ab_vpass(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b, size_t i) {
    size_t per = (size_t)s->size * s->size;
    int v = (int)(i / per);
    size_t rem = i - (size_t)v * per;
    int y = (int)(rem / s->size), x = (int)(rem % s->size);
    const mbt_augment_view_plan *p = &b->plans[v];
    size_t stride;
    const uint8_t *col;
    if (p->kx >= 0) {
        stride = (size_t)s->size * 3;
        col = b->tmp + (size_t)v * s->src_h * stride + (size_t)x * 3;
    } else {
        col = mbt_ab_crop_origin(s, b, v, &stride) + (size_t)x * 3;
    }
    uint8_t *o = b->img + (((size_t)v * s->size + y) * s->size + x) * 3;
    if (p->ky < 0) {
        for (int c = 0; c < 3; c++) o[c] = col[(size_t)y * stride + c];
        return;
    }
    const int32_t *t = b->tables + (size_t)v * s->table;
    const int32_t *bounds = t + p->by + 2 * y;
    const int32_t *k = t + p->ky + (size_t)y * p->ky_size;
    for (int c = 0; c < 3; c++) o[c] = mbt_px_resample_tap(col + (size_t)bounds[0] * stride + c, stride, bounds[1], k);
}

/* normalize, i < views * 3 * size * size: out[v][c][y][x] from img, mirrored when the view flips. */
static inline MBT_HD void mbt_ab_normalize(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b,
                                           size_t i) {
    size_t plane = (size_t)s->size * s->size;
    size_t vc = i / plane, rem = i - vc * plane;
    int v = (int)(vc / 3), c = (int)(vc % 3);
    int y = (int)(rem / s->size), x = (int)(rem % s->size);
    if (b->plans[v].flip) x = s->size - 1 - x;
    uint8_t u = b->img[(((size_t)v * s->size + y) * s->size + x) * 3 + c];
    b->out[i] = mbt_px_normalize(u, s->mean[c], s->std[c]);
}

typedef enum {
    MBT_AB_COPY,
    MBT_AB_SUMS,      /* sums[v] = the 'L' sum of view v's colour image, for views with contrast at k */
    MBT_AB_JITTER,
    MBT_AB_GRAY,
    MBT_AB_HPASS,
    MBT_AB_VPASS,
    MBT_AB_NORMALIZE
} mbt_ab_stage_kind;

typedef struct {
    mbt_ab_stage_kind kind;
    int k; /* the jitter slot of SUMS and JITTER */
} mbt_ab_stage;

#define MBT_AB_MAX_STAGES 13

/* Element i of a per-element stage (every kind but SUMS, which is a sum per view). */
static inline MBT_HD void mbt_ab_element(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b,
                                         mbt_ab_stage_kind kind, int k, size_t i) {
    switch (kind) {
    case MBT_AB_COPY: mbt_ab_copy(s, b, i); break;
    case MBT_AB_JITTER: mbt_ab_jitter(s, b, k, i); break;
    case MBT_AB_GRAY: mbt_ab_gray(s, b, i); break;
    case MBT_AB_HPASS: mbt_ab_hpass(s, b, i); break;
    case MBT_AB_VPASS: mbt_ab_vpass(s, b, i); break;
    case MBT_AB_NORMALIZE: mbt_ab_normalize(s, b, i); break;
    case MBT_AB_SUMS: break;
    }
}

static inline int mbt_ab_push(mbt_ab_stage *out, int n, mbt_ab_stage_kind kind, int k) {
    out[n].kind = kind;
    out[n].k = k;
    return n + 1;
}

/* The stages of a run in order into out (MBT_AB_MAX_STAGES entries); returns their number. */
static inline int mbt_ab_stages(const mbt_augment_batch_shape *s, mbt_ab_stage *out) {
    int n = 0;
    if (s->crop_first) {
        n = mbt_ab_push(out, n, MBT_AB_HPASS, 0);
        n = mbt_ab_push(out, n, MBT_AB_VPASS, 0);
    } else {
        n = mbt_ab_push(out, n, MBT_AB_COPY, 0);
    }
    for (int k = 0; k < 4; k++) {
        n = mbt_ab_push(out, n, MBT_AB_SUMS, k);
        n = mbt_ab_push(out, n, MBT_AB_JITTER, k);
    }
    n = mbt_ab_push(out, n, MBT_AB_GRAY, 0);
    if (!s->crop_first) {
        n = mbt_ab_push(out, n, MBT_AB_HPASS, 0);
        n = mbt_ab_push(out, n, MBT_AB_VPASS, 0);
    }
    n = mbt_ab_push(out, n, MBT_AB_NORMALIZE, 0);
    return n;
}

/* Elements of a stage (SUMS: pixels per view, summed for each view). */
static inline size_t mbt_ab_stage_elements(const mbt_augment_batch_shape *s, mbt_ab_stage_kind kind) {
    size_t views = (size_t)s->views, out = (size_t)s->size * s->size;
    switch (kind) {
    case MBT_AB_COPY: return views * s->src_w * s->src_h * 3;
    case MBT_AB_SUMS: return mbt_ab_color_pixels(s);
    case MBT_AB_JITTER:
    case MBT_AB_GRAY: return views * mbt_ab_color_pixels(s);
    case MBT_AB_HPASS: return views * s->src_h * s->size;
    case MBT_AB_VPASS: return views * out;
    default: return views * 3 * out;
    }
}

#endif
