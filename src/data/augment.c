/* Augmentation recipes: random draws and the training / evaluation transforms (see augment.h). */
#include "data/augment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/blur.h"
#include "data/color.h"
#include "data/pixel_ops.h" /* also keeps float expressions rounded as written (the reference's unfused arithmetic) */

mbt_status mbt_augment_recipe_resize(int size, const float mean[3], const float std[3], mbt_augment_recipe *r) {
    memset(r, 0, sizeof *r);
    MBT_CHECK_ARG(size >= 1, "resize transform: size %d", size);
    for (int c = 0; c < 3; c++)
        MBT_CHECK_ARG(std[c] > 0, "resize transform: std %g of channel %d is not positive", (double)std[c], c);
    r->name = "resize";
    r->size = size;
    /* no augmentation; should a training transform be drawn anyway, it is a whole-image crop */
    r->scale_min = r->scale_max = 1.0f;
    r->ratio_min = r->ratio_max = 1.0f;
    r->filter = MBT_FILTER_BILINEAR;
    r->eval_filter = MBT_FILTER_BILINEAR;
    r->eval_square = 1;
    memcpy(r->mean, mean, sizeof r->mean);
    memcpy(r->std, std, sizeof r->std);
    return MBT_OK;
}

/* The reference's recipes at their own output size. eval_resize is at that size too: Resize(eval_resize)
 * scales with a replaced size (STL-10: 70 at 64 px, ImageNet: 256 at 224 px; the others: the size). */
static const mbt_augment_recipe RECIPES[] = {
    {.name = "cifar", .size = 32, .crop_first = 1, .scale_min = 0.08f, .scale_max = 1.0f, .ratio_min = 3.0f / 4.0f,
     .ratio_max = 4.0f / 3.0f, .filter = MBT_FILTER_BILINEAR, .flip_p = 0.5f, .jitter_p = 0.8f, .brightness = 0.4f,
     .contrast = 0.4f, .saturation = 0.4f, .hue = 0.1f, .gray_p = 0.2f, .mean = {0.4914f, 0.4822f, 0.4465f},
     .std = {0.2023f, 0.1994f, 0.2010f}, .eval_resize = 32, .eval_filter = MBT_FILTER_BILINEAR},
    {.name = "tiny_imagenet", .size = 64, .crop_first = 0, .scale_min = 0.2f, .scale_max = 1.0f,
     .ratio_min = 3.0f / 4.0f, .ratio_max = 4.0f / 3.0f, .filter = MBT_FILTER_BICUBIC, .flip_p = 0.5f, .jitter_p = 0.8f,
     .brightness = 0.4f, .contrast = 0.4f, .saturation = 0.4f, .hue = 0.1f, .gray_p = 0.1f,
     .mean = {0.480f, 0.448f, 0.398f}, .std = {0.277f, 0.269f, 0.282f}, .eval_resize = 64,
     .eval_filter = MBT_FILTER_BICUBIC},
    {.name = "stl10", .size = 64, .crop_first = 0, .scale_min = 0.2f, .scale_max = 1.0f, .ratio_min = 3.0f / 4.0f,
     .ratio_max = 4.0f / 3.0f, .filter = MBT_FILTER_BICUBIC, .flip_p = 0.5f, .jitter_p = 0.8f, .brightness = 0.4f,
     .contrast = 0.4f, .saturation = 0.4f, .hue = 0.1f, .gray_p = 0.1f, .mean = {0.43f, 0.42f, 0.39f},
     .std = {0.27f, 0.26f, 0.27f}, .eval_resize = 70, .eval_filter = MBT_FILTER_BICUBIC},
    /* evaluate_imagenet.py: Resize(256) with torchvision's default (bilinear) */
    {.name = "imagenet", .size = 224, .crop_first = 1, .scale_min = 0.08f, .scale_max = 1.0f,
     .ratio_min = 3.0f / 4.0f, .ratio_max = 4.0f / 3.0f, .filter = MBT_FILTER_BICUBIC, .flip_p = 0.5f,
     .jitter_p = 0.8f, .brightness = 0.4f, .contrast = 0.4f, .saturation = 0.2f, .hue = 0.1f, .gray_p = 0.2f,
     .blur_p = {1.0f, 0.1f}, .blur_sigma_min = 0.1f, .blur_sigma_max = 2.0f, .solarize_p = {0.0f, 0.2f},
     .solarize_threshold = 128, .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f},
     .eval_resize = 256, .eval_filter = MBT_FILTER_BILINEAR},
    /* evaluate_imagenet.py's training images: RandomResizedCrop(224) (bilinear) and a flip, nothing else */
    {.name = "imagenet_linear", .size = 224, .crop_first = 1, .scale_min = 0.08f, .scale_max = 1.0f,
     .ratio_min = 3.0f / 4.0f, .ratio_max = 4.0f / 3.0f, .filter = MBT_FILTER_BILINEAR, .flip_p = 0.5f,
     .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}, .eval_resize = 256,
     .eval_filter = MBT_FILTER_BILINEAR},
    /* the baselines (ssl-sota datasets/transforms.py aug_transform, cfg.py defaults; Normalize of each
     * datasets/<name>.py; STL-10's test_transform Resize(70, interpolation=3) + CenterCrop(64)) */
#define SSLSOTA_AUG                                                                                                    \
    .crop_first = 0, .scale_min = 0.2f, .scale_max = 1.0f, .ratio_min = 0.75f, .ratio_max = 4.0f / 3.0f,              \
    .filter = MBT_FILTER_BICUBIC, .flip_p = 0.5f, .jitter_p = 0.8f, .brightness = 0.4f, .contrast = 0.4f,              \
    .saturation = 0.4f, .hue = 0.1f, .gray_p = 0.1f, .eval_filter = MBT_FILTER_BICUBIC
    {.name = "sslsota_cifar10", .size = 32, SSLSOTA_AUG, .mean = {0.4914f, 0.4822f, 0.4465f},
     .std = {0.2023f, 0.1994f, 0.2010f}, .eval_resize = 32},
    {.name = "sslsota_cifar100", .size = 32, SSLSOTA_AUG, .mean = {0.5071f, 0.4867f, 0.4408f},
     .std = {0.2675f, 0.2565f, 0.2761f}, .eval_resize = 32},
    {.name = "sslsota_tiny_imagenet", .size = 64, SSLSOTA_AUG, .mean = {0.480f, 0.448f, 0.398f},
     .std = {0.277f, 0.269f, 0.282f}, .eval_resize = 64},
    {.name = "sslsota_stl10", .size = 64, SSLSOTA_AUG, .mean = {0.43f, 0.42f, 0.39f}, .std = {0.27f, 0.26f, 0.27f},
     .eval_resize = 70},
#undef SSLSOTA_AUG
};

#define N_RECIPES ((int)(sizeof RECIPES / sizeof *RECIPES))

mbt_status mbt_augment_recipe_get(const char *name, int size, mbt_augment_recipe *r) {
    memset(r, 0, sizeof *r);
    const mbt_augment_recipe *base = NULL;
    for (int i = 0; name && i < N_RECIPES && !base; i++)
        if (!strcmp(name, RECIPES[i].name)) base = &RECIPES[i];
    if (!base) {
        char names[256] = "";
        for (int i = 0; i < N_RECIPES; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", RECIPES[i].name);
        return MBT_FAIL(MBT_ERR_ARG, "augmentation recipe '%s' is unknown (%s)", name ? name : "(none)", names);
    }
    if (size < 0 || size > 4096) return MBT_FAIL(MBT_ERR_ARG, "image size %d is out of range (1..4096)", size);
    *r = *base;
    if (size > 0) r->size = size;
    r->eval_resize = (int)nearbyint(r->size * (double)base->eval_resize / (double)base->size);
    return MBT_OK;
}

mbt_augment_flags mbt_augment_recipe_flags(const mbt_augment_recipe *r) {
    return (mbt_augment_flags){.cj0 = r->brightness, .cj1 = r->contrast, .cj2 = r->saturation, .cj3 = r->hue,
                               .cj_p = r->jitter_p, .gs_p = r->gray_p, .crop_s0 = r->scale_min,
                               .crop_s1 = r->scale_max, .crop_r0 = r->ratio_min, .crop_r1 = r->ratio_max,
                               .hf_p = r->flip_p};
}

/* 1 for a probability (NaN fails every comparison, so it is refused too). */
static int is_prob(float p) { return p >= 0.0f && p <= 1.0f; }

mbt_status mbt_augment_recipe_set_flags(mbt_augment_recipe *r, const mbt_augment_flags *f) {
    MBT_CHECK_ARG(f->cj0 >= 0.0f && f->cj1 >= 0.0f && f->cj2 >= 0.0f,
                  "augmentation flags: colour jitter brightness %g, contrast %g, saturation %g must be >= 0",
                  (double)f->cj0, (double)f->cj1, (double)f->cj2);
    MBT_CHECK_ARG(f->cj3 >= 0.0f && f->cj3 <= 0.5f, "augmentation flags: colour jitter hue %g is not in [0, 0.5]",
                  (double)f->cj3);
    MBT_CHECK_ARG(is_prob(f->cj_p) && is_prob(f->gs_p) && is_prob(f->hf_p),
                  "augmentation flags: probabilities cj_p %g, gs_p %g, hf_p %g must lie in [0, 1]", (double)f->cj_p,
                  (double)f->gs_p, (double)f->hf_p);
    MBT_CHECK_ARG(f->crop_s0 >= 0.0f && f->crop_s0 <= f->crop_s1 && f->crop_s1 > 0.0f,
                  "augmentation flags: crop scale (%g, %g) is not a range 0 <= s0 <= s1, s1 > 0", (double)f->crop_s0,
                  (double)f->crop_s1);
    MBT_CHECK_ARG(f->crop_r0 > 0.0f && f->crop_r0 <= f->crop_r1 && isfinite(f->crop_r1),
                  "augmentation flags: crop ratio (%g, %g) is not a range 0 < r0 <= r1", (double)f->crop_r0,
                  (double)f->crop_r1);
    r->brightness = f->cj0;
    r->contrast = f->cj1;
    r->saturation = f->cj2;
    r->hue = f->cj3;
    r->jitter_p = f->cj_p;
    r->gray_p = f->gs_p;
    r->scale_min = f->crop_s0;
    r->scale_max = f->crop_s1;
    r->ratio_min = f->crop_r0;
    r->ratio_max = f->crop_r1;
    r->flip_p = f->hf_p;
    return MBT_OK;
}

/* torch's uniform_(lo, hi) on a float32 tensor. */
static float uniform(mbt_rng *rng, float lo, float hi) { return lo + (hi - lo) * mbt_rng_uniform(rng); }

mbt_crop_box mbt_rrc_params(mbt_rng *rng, int width, int height, float scale_min, float scale_max, float ratio_min,
                            float ratio_max) {
    double area = (double)width * (double)height;
    float log_lo = logf(ratio_min), log_hi = logf(ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (double)uniform(rng, scale_min, scale_max);
        double ratio = (double)expf(uniform(rng, log_lo, log_hi));
        int w = (int)nearbyint(sqrt(target * ratio));
        int h = (int)nearbyint(sqrt(target / ratio));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            mbt_crop_box b;
            b.top = (int)mbt_rng_below(rng, (uint32_t)(height - h + 1));
            b.left = (int)mbt_rng_below(rng, (uint32_t)(width - w + 1));
            b.height = h;
            b.width = w;
            return b;
        }
    }
    double in_ratio = (double)width / (double)height;
    int w = width, h = height;
    if (in_ratio < (double)ratio_min) h = (int)nearbyint(w / (double)ratio_min);
    else if (in_ratio > (double)ratio_max) w = (int)nearbyint(h * (double)ratio_max);
    mbt_crop_box b = {(height - h) / 2, (width - w) / 2, h, w};
    return b;
}

static void draw_jitter(const mbt_augment_recipe *r, mbt_rng *rng, mbt_augment_params *p) {
    p->jitter = mbt_rng_uniform(rng) < r->jitter_p;
    int32_t perm[4];
    mbt_rng_permutation(rng, perm, 4);
    /* torchvision's ColorJitter holds None for a 0 (hue: a 0 range) and skips that op */
    const float range[4] = {r->brightness, r->contrast, r->saturation, r->hue};
    for (int i = 0; i < 4; i++) p->order[i] = range[perm[i]] != 0.0f ? perm[i] : -1;
    p->brightness = uniform(rng, fmaxf(0.0f, 1.0f - r->brightness), 1.0f + r->brightness);
    p->contrast = uniform(rng, fmaxf(0.0f, 1.0f - r->contrast), 1.0f + r->contrast);
    p->saturation = uniform(rng, fmaxf(0.0f, 1.0f - r->saturation), 1.0f + r->saturation);
    p->hue = uniform(rng, -r->hue, r->hue);
}

void mbt_augment_draw_view(const mbt_augment_recipe *r, int view, int width, int height, mbt_rng *rng,
                           mbt_augment_params *p) {
    memset(p, 0, sizeof *p);
    if (r->crop_first) {
        p->crop = mbt_rrc_params(rng, width, height, r->scale_min, r->scale_max, r->ratio_min, r->ratio_max);
        p->flip = mbt_rng_uniform(rng) < r->flip_p;
        draw_jitter(r, rng, p);
        p->gray = mbt_rng_uniform(rng) < r->gray_p;
    } else {
        draw_jitter(r, rng, p);
        p->gray = mbt_rng_uniform(rng) < r->gray_p;
        p->crop = mbt_rrc_params(rng, width, height, r->scale_min, r->scale_max, r->ratio_min, r->ratio_max);
        p->flip = mbt_rng_uniform(rng) < r->flip_p;
    }
    if (mbt_augment_recipe_blurs(r)) {
        int v = view & 1; /* views 0, 1 as the reference; any further view alternates */
        /* the reference: random.random() < p, then sigma = 0.1 + 1.9 * random.random() */
        p->blur = mbt_rng_uniform(rng) < r->blur_p[v];
        p->sigma = uniform(rng, r->blur_sigma_min, r->blur_sigma_max);
        p->solarize = mbt_rng_uniform(rng) < r->solarize_p[v];
    }
}

int mbt_augment_recipe_blurs(const mbt_augment_recipe *r) {
    return r->blur_p[0] > 0 || r->blur_p[1] > 0 || r->solarize_p[0] > 0 || r->solarize_p[1] > 0;
}

void mbt_augment_draw(const mbt_augment_recipe *r, int width, int height, mbt_rng *rng, mbt_augment_params *p) {
    mbt_augment_draw_view(r, 0, width, height, rng, p);
}

void mbt_augment_scratch_free(mbt_augment_scratch *s) {
    mbt_image_free(&s->a);
    mbt_image_free(&s->b);
    mbt_resample_scratch_free(&s->rs);
    free(s->line);
    s->line = NULL;
    s->line_cap = 0;
}

void mbt_augment_jitter(mbt_image *img, const mbt_augment_params *p) {
    size_t n = (size_t)img->width * img->height;
    for (int i = 0; i < 4; i++) {
        switch (p->order[i]) {
        case 0: mbt_color_brightness(img->data, n, p->brightness); break;
        case 1: mbt_color_contrast(img->data, n, p->contrast); break;
        case 2: mbt_color_saturation(img->data, n, p->saturation); break;
        case 3: mbt_color_hue(img->data, n, p->hue); break;
        default: break; /* -1: an op the recipe leaves out */
        }
    }
}

void mbt_augment_normalize(const mbt_image *img, const float mean[3], const float std[3], float *out) {
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) lut[c][v] = mbt_px_normalize((uint8_t)v, mean[c], std[c]);
    size_t plane = (size_t)img->width * img->height;
    const uint8_t *px = img->data;
    for (size_t i = 0; i < plane; i++) {
        out[i] = lut[0][px[3 * i]];
        out[plane + i] = lut[1][px[3 * i + 1]];
        out[2 * plane + i] = lut[2][px[3 * i + 2]];
    }
}

static void copy_image(const mbt_image *src, mbt_image *dst) {
    memcpy(dst->data, src->data, (size_t)src->width * src->height * 3);
}

mbt_status mbt_augment_apply(const mbt_augment_recipe *r, const mbt_augment_params *p, const mbt_image *src,
                             mbt_augment_scratch *s, float *out) {
    const mbt_crop_box *c = &p->crop;
    mbt_image *img;
    if (r->crop_first) {
        MBT_TRY(mbt_resample(src, c->left, c->top, c->width, c->height, &s->a, r->size, r->size, r->filter, &s->rs));
        img = &s->a;
        if (p->flip) mbt_image_hflip(img);
        if (p->jitter) mbt_augment_jitter(img, p);
        if (p->gray) mbt_color_grayscale(img->data, (size_t)img->width * img->height);
    } else {
        const mbt_image *base = src;
        if (p->jitter || p->gray) {
            MBT_TRY(mbt_image_reserve(&s->a, src->width, src->height));
            copy_image(src, &s->a);
            if (p->jitter) mbt_augment_jitter(&s->a, p);
            if (p->gray) mbt_color_grayscale(s->a.data, (size_t)src->width * src->height);
            base = &s->a;
        }
        MBT_TRY(mbt_resample(base, c->left, c->top, c->width, c->height, &s->b, r->size, r->size, r->filter, &s->rs));
        img = &s->b;
        if (p->flip) mbt_image_hflip(img);
    }
    if (p->blur) MBT_TRY(mbt_image_gaussian_blur(img, p->sigma, &s->line, &s->line_cap));
    if (p->solarize) mbt_image_solarize(img, r->solarize_threshold);
    mbt_augment_normalize(img, r->mean, r->std, out);
    return MBT_OK;
}

mbt_status mbt_augment_eval(const mbt_augment_recipe *r, const mbt_image *src, mbt_augment_scratch *s, float *out) {
    int w = src->width, h = src->height, nw = w, nh = h;
    const mbt_image *img = src;
    if (r->eval_square) {
        if (w != r->size || h != r->size) {
            MBT_TRY(mbt_resample(src, 0, 0, w, h, &s->a, r->size, r->size, r->eval_filter, &s->rs));
            img = &s->a;
        }
        mbt_augment_normalize(img, r->mean, r->std, out);
        return MBT_OK;
    }
    if (r->eval_resize > 0) {
        /* torchvision Resize(int): the shorter side to eval_resize, the longer one scaled and truncated */
        if (w <= h) {
            nw = r->eval_resize;
            nh = (int)((double)r->eval_resize * h / w);
        } else {
            nh = r->eval_resize;
            nw = (int)((double)r->eval_resize * w / h);
        }
        if (nw != w || nh != h) {
            MBT_TRY(mbt_resample(src, 0, 0, w, h, &s->a, nw, nh, r->eval_filter, &s->rs));
            img = &s->a;
        }
    }
    if (nw < r->size || nh < r->size)
        return MBT_FAIL(MBT_ERR_ARG, "evaluation transform: a %dx%d image is smaller than the %dx%d centre crop", nw, nh,
                        r->size, r->size);
    /* torchvision CenterCrop: offsets round((side - size) / 2), half to even */
    int top = (int)nearbyint((nh - r->size) / 2.0), left = (int)nearbyint((nw - r->size) / 2.0);
    if (top != 0 || left != 0 || nw != r->size || nh != r->size) {
        MBT_TRY(mbt_image_reserve(&s->b, r->size, r->size));
        for (int y = 0; y < r->size; y++)
            memcpy(s->b.data + (size_t)y * r->size * 3, img->data + ((size_t)(top + y) * nw + left) * 3,
                   (size_t)r->size * 3);
        img = &s->b;
    }
    mbt_augment_normalize(img, r->mean, r->std, out);
    return MBT_OK;
}
