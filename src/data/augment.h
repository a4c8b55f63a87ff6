/* The augmentation recipes of the reference (torchvision 0.14 on PIL images): random parameter draws
 * from a Philox stream, then the deterministic image operations, then ToTensor + Normalize into
 * float32 CHW. A view's result is a pure function of (recipe, view number, source image, stream). */
#ifndef MBT_AUGMENT_H
#define MBT_AUGMENT_H

#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/image.h"
#include "data/resample.h"

typedef struct {
    const char *name;
    int size;                   /* output side length */
    int crop_first;             /* 1: crop, flip, jitter, gray (CIFAR, ImageNet); 0: jitter, gray, crop, flip
                                   (Tiny, STL, every sslsota_* recipe); then blur and solarize where the
                                   recipe has them. Every path (mbt_augment_apply, the batch stages on the
                                   CPU and in CUDA) honours it. */
    float scale_min, scale_max; /* RandomResizedCrop area fraction range */
    float ratio_min, ratio_max; /* RandomResizedCrop aspect ratio (w / h) range */
    mbt_filter filter;          /* RandomResizedCrop interpolation */
    float flip_p;
    float jitter_p, brightness, contrast, saturation, hue; /* RandomApply(ColorJitter(b, c, s, h), jitter_p);
                                   a 0 leaves that op out, as torchvision's None does */
    float gray_p;
    /* ImageNet only (0 elsewhere): PIL GaussianBlur with sigma U[blur_sigma_min, blur_sigma_max] applied
     * with probability blur_p[view], then Solarize(solarize_threshold) with probability solarize_p[view] */
    float blur_p[2], blur_sigma_min, blur_sigma_max;
    float solarize_p[2];
    int solarize_threshold;
    float mean[3], std[3];      /* Normalize */
    /* evaluation transform: Resize(eval_resize) of the shorter side with eval_filter (a no-op when the
     * image already has that shorter side), then CenterCrop(size), ToTensor, Normalize */
    int eval_resize;
    mbt_filter eval_filter;
    /* 1: the evaluation transform is Resize((size, size)) with eval_filter instead (both sides to size,
     * the aspect ratio not kept, no crop; a no-op for a size x size image), then ToTensor, Normalize:
     * the transfer protocol's transform (mbt_augment_recipe_resize) */
    int eval_square;
} mbt_augment_recipe;

/* The recipe called `name`: "cifar" (32 px), "tiny_imagenet" (64 px), "stl10" (64 px; evaluation
 * Resize(70) + CenterCrop(64)), "imagenet" (224 px, the Barlow Twins recipe of the reference's
 * main_imagenet.py: bicubic crop, jitter (0.4, 0.4, 0.2, 0.1), blur p 1.0 / 0.1 and solarize p 0 / 0.2
 * for views 0 / 1; evaluation Resize(256) bilinear + CenterCrop(224) as its evaluate_imagenet.py).
 * The baselines' recipes (ssl-sota datasets/transforms.py aug_transform with cfg.py's defaults, the
 * per-dataset base_transform / test_transform of datasets/<name>.py), all colour first:
 * RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), 0.8), RandomGrayscale(0.1), RandomResizedCrop(size,
 * scale (0.2, 1), ratio (0.75, 4/3), bicubic), RandomHorizontalFlip(0.5), ToTensor, Normalize:
 *   "sslsota_cifar10"        32 px, (0.4914, 0.4822, 0.4465) / (0.2023, 0.1994, 0.2010), eval Normalize only
 *   "sslsota_cifar100"       32 px, (0.5071, 0.4867, 0.4408) / (0.2675, 0.2565, 0.2761), eval Normalize only
 *   "sslsota_tiny_imagenet"  64 px, (0.480, 0.448, 0.398) / (0.277, 0.269, 0.282), eval Normalize only
 *   "sslsota_stl10"          64 px from 96 px, (0.43, 0.42, 0.39) / (0.27, 0.26, 0.27), eval Resize(70,
 *                            bicubic) + CenterCrop(64)
 * (Tiny and STL equal "tiny_imagenet" / "stl10"; they are listed so that a baseline names its own.)
 * Their cfg.py flags can be overridden with mbt_augment_recipe_set_flags.
 * size > 0 replaces the output side (the STL-10 / ImageNet evaluation resize scales with it:
 * round(size * 70 / 64), round(size * 256 / 224)); 0 keeps the recipe's. MBT_ERR_ARG for an unknown
 * name. */
mbt_status mbt_augment_recipe_get(const char *name, int size, mbt_augment_recipe *recipe);

/* The random operations' parameters, as ssl-sota's cfg.py flags name them (defaults there: cj 0.4, 0.4, 0.4,
 * 0.1; cj_p 0.8; gs_p 0.1; crop_s 0.2, 1.0; crop_r 0.75, 4/3; hf_p 0.5). The same fields exist in every
 * recipe (a mix-bt recipe's values are its own). */
typedef struct {
    float cj0, cj1, cj2, cj3; /* --cj0..--cj3: ColorJitter brightness, contrast, saturation, hue (0: op left out) */
    float cj_p;               /* --cj_p: probability of the ColorJitter */
    float gs_p;               /* --gs_p: RandomGrayscale probability */
    float crop_s0, crop_s1;   /* --crop_s0, --crop_s1: RandomResizedCrop scale (area fraction) range */
    float crop_r0, crop_r1;   /* --crop_r0, --crop_r1: RandomResizedCrop ratio (w / h) range */
    float hf_p;               /* --hf_p: RandomHorizontalFlip probability */
} mbt_augment_flags;

/* The recipe's current values of the flags. To override some: read, change those fields, set. */
mbt_augment_flags mbt_augment_recipe_flags(const mbt_augment_recipe *recipe);
/* Writes the flags into the recipe (nothing else changes; the order stays the recipe's). Checked as
 * torchvision checks them, and stricter where it only warns: cj0..cj2 >= 0, 0 <= cj3 <= 0.5, probabilities
 * in [0, 1], 0 <= crop_s0 <= crop_s1 with crop_s1 > 0, 0 < crop_r0 <= crop_r1; MBT_ERR_ARG otherwise, and
 * the recipe is then left unchanged. Example (the CLI's --cj_p 0.5 on CIFAR-100):
 *   mbt_augment_recipe r; mbt_augment_recipe_get("sslsota_cifar100", 0, &r);
 *   mbt_augment_flags f = mbt_augment_recipe_flags(&r); f.cj_p = 0.5f; MBT_TRY(mbt_augment_recipe_set_flags(&r, &f)); */
mbt_status mbt_augment_recipe_set_flags(mbt_augment_recipe *recipe, const mbt_augment_flags *flags);

/* 1 when the recipe has blur or solarize (the ImageNet recipe), which only mbt_augment_apply runs. */
int mbt_augment_recipe_blurs(const mbt_augment_recipe *recipe);

/* The transfer evaluation's transform (the reference's evaluate_transfer.py load_transform):
 * Resize((size, size)) (torchvision's default bilinear, PIL's antialiased resize), ToTensor,
 * Normalize(mean, std); eval_square = 1. It has no training augmentation: use mbt_augment_eval for
 * training images too. MBT_ERR_ARG for size < 1 or a std that is not positive. */
mbt_status mbt_augment_recipe_resize(int size, const float mean[3], const float std[3], mbt_augment_recipe *recipe);

typedef struct {
    int top, left, height, width;
} mbt_crop_box;

/* The random choices of one view (drawn by mbt_augment_draw, applied by mbt_augment_apply). */
typedef struct {
    mbt_crop_box crop;
    int flip;
    int jitter;     /* ColorJitter applied */
    int order[4];   /* 0 brightness, 1 contrast, 2 saturation, 3 hue: the order they are applied in; -1 in
                       the place of an op whose recipe value is 0 (torchvision's None: not applied) */
    float brightness, contrast, saturation, hue;
    int gray;
    int blur;       /* GaussianBlur applied, with sigma */
    float sigma;
    int solarize;
} mbt_augment_params;

/* torchvision RandomResizedCrop.get_params for a width x height image: up to 10 tries of
 * area * U(scale) and exp(U(log ratio)) (float32 draws), w = round(sqrt(area * r)), h = round(sqrt(area / r))
 * (half to even), accepted if 0 < w <= width and 0 < h <= height, top/left uniform; else the centre
 * crop clamped to the ratio range. */
mbt_crop_box mbt_rrc_params(mbt_rng *rng, int width, int height, float scale_min, float scale_max,
                            float ratio_min, float ratio_max);

/* Draws every random choice of view `view` (>= 0; the views differ only in the blur / solarize
 * probabilities: view v takes those of view v % 2, so further views alternate between the recipe's two
 * transforms) of a width x height source image. The numbers drawn from rng do not depend on the view:
 * crop (and flip) then jitter (applied?, order, 4 factors) and gray, in the recipe's order, then, for
 * recipes with blur or solarize, blur applied?, sigma and solarize applied?. */
void mbt_augment_draw_view(const mbt_augment_recipe *recipe, int view, int width, int height, mbt_rng *rng,
                           mbt_augment_params *p);
/* mbt_augment_draw_view for view 0. */
void mbt_augment_draw(const mbt_augment_recipe *recipe, int width, int height, mbt_rng *rng, mbt_augment_params *p);

/* Reused buffers of one thread's augmentations (all-zero is valid). */
typedef struct {
    mbt_image a, b;
    mbt_resample_scratch rs;
    uint8_t *line; /* the blur's line buffer */
    size_t line_cap;
} mbt_augment_scratch;
void mbt_augment_scratch_free(mbt_augment_scratch *s);

/* The training transform with choices p applied to src: out = float32 [3][size][size], normalised. */
mbt_status mbt_augment_apply(const mbt_augment_recipe *recipe, const mbt_augment_params *p, const mbt_image *src,
                             mbt_augment_scratch *s, float *out);
/* The evaluation transform of the recipe applied to src (same output layout). */
mbt_status mbt_augment_eval(const mbt_augment_recipe *recipe, const mbt_image *src, mbt_augment_scratch *s, float *out);

/* Colour jitter with the given choices, in place (used by mbt_augment_apply; exposed for tests). */
void mbt_augment_jitter(mbt_image *img, const mbt_augment_params *p);
/* ToTensor + Normalize: img (HWC uint8) -> out [3][H][W] with (v / 255 - mean) / std in float32. */
void mbt_augment_normalize(const mbt_image *img, const float mean[3], const float std[3], float *out);

#endif
