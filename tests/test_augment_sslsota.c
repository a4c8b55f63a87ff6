/* The baselines' (ssl-sota) augmentation recipes against torchvision: one view per dataset through the
 * ssl-sota Compose (colour jitter, grayscale, RandomResizedCrop bicubic, flip, ToTensor, Normalize) with
 * its random choices recorded (tools/make_sslsota_fixtures.py) and replayed by mbt_augment_apply; the
 * jitter-then-crop order proven (the same choices crop first give another tensor); STL-10's test
 * transform; the cfg.py flags (defaults, overrides, ops left out as torchvision's None, refusals).
 * Tolerance: 1e-6 absolute on normalised float32 values (|v| < 3: a few float32 ULPs, the rule of
 * test_augment_ops.c); the pixels themselves are compared exactly (the uint8 images equal PIL's). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "data/augment.h"
#include "data/loader.h"
#include "test_augment_u8.h"

static const char *DATASETS[4] = {"cifar10", "cifar100", "tiny_imagenet", "stl10"};

static const u8fix_array *get(const u8fix_file *f, const char *prefix, const char *what) {
    char key[64];
    snprintf(key, sizeof key, "%s_%s", prefix, what);
    return u8fix_get(f, key);
}

/* An image over a uint8 fixture array [H][W][3] (read only). */
static mbt_image image_of(const u8fix_array *a) {
    mbt_image m = {(uint8_t *)a->data, (int)a->dims[1], (int)a->dims[0], a->numel};
    return m;
}

/* The recorded choices of one view (order -1 padded: the ops torchvision did not call). */
static mbt_augment_params params_of(const u8fix_file *f, const char *prefix) {
    const u8fix_array *box = get(f, prefix, "box"), *ord = get(f, prefix, "order"), *fac = get(f, prefix, "factors"),
                      *fl = get(f, prefix, "flags");
    mbt_augment_params p;
    memset(&p, 0, sizeof p);
    p.crop = (mbt_crop_box){(int)u8fix_f64(box, 0), (int)u8fix_f64(box, 1), (int)u8fix_f64(box, 2),
                            (int)u8fix_f64(box, 3)};
    for (int i = 0; i < 4; i++) p.order[i] = (int)u8fix_f64(ord, i);
    p.brightness = (float)u8fix_f64(fac, 0);
    p.contrast = (float)u8fix_f64(fac, 1);
    p.saturation = (float)u8fix_f64(fac, 2);
    p.hue = (float)u8fix_f64(fac, 3);
    p.jitter = (int)u8fix_f64(fl, 0);
    p.gray = (int)u8fix_f64(fl, 1);
    p.flip = (int)u8fix_f64(fl, 2);
    return p;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - (double)b[i]));
    return w;
}

/* The recipes' fields: cfg.py's defaults, the order, the filter, the sizes, Normalize as the script wrote it. */
static void recipe_fields(const u8fix_file *f) {
    for (int d = 0; d < 4; d++) {
        char name[64];
        snprintf(name, sizeof name, "sslsota_%s", DATASETS[d]);
        mbt_augment_recipe r;
        if (!CHECK_OK(mbt_augment_recipe_get(name, 0, &r))) continue;
        mbt_augment_flags g = mbt_augment_recipe_flags(&r);
        CHECK_MSG(g.cj0 == 0.4f && g.cj1 == 0.4f && g.cj2 == 0.4f && g.cj3 == 0.1f && g.cj_p == 0.8f && g.gs_p == 0.1f &&
                      g.crop_s0 == 0.2f && g.crop_s1 == 1.0f && g.crop_r0 == 0.75f && g.crop_r1 == 4.0f / 3.0f &&
                      g.hf_p == 0.5f,
                  "%s: flags differ from cfg.py's defaults", name);
        CHECK_MSG(r.crop_first == 0 && r.filter == MBT_FILTER_BICUBIC && !mbt_augment_recipe_blurs(&r),
                  "%s: colour first, bicubic, no blur", name);
        const int size = d < 2 ? 32 : 64;
        CHECK_MSG(r.size == size && r.eval_resize == (d == 3 ? 70 : size) && r.eval_filter == MBT_FILTER_BICUBIC &&
                      !r.eval_square,
                  "%s: size %d, eval resize %d", name, r.size, r.eval_resize);
        const u8fix_array *norm = get(f, DATASETS[d], "norm");
        for (int c = 0; c < 3; c++)
            CHECK_MSG(r.mean[c] == (float)u8fix_f64(norm, c) && r.std[c] == (float)u8fix_f64(norm, 3 + c),
                      "%s: Normalize channel %d", name, c);
    }
}

/* One recorded view per dataset, and the same choices in the other order. */
static void views(const u8fix_file *f, mbt_augment_scratch *s) {
    for (int d = 0; d < 4; d++) {
        char name[64];
        snprintf(name, sizeof name, "sslsota_%s", DATASETS[d]);
        mbt_augment_recipe r;
        if (!CHECK_OK(mbt_augment_recipe_get(name, 0, &r))) continue;
        const mbt_image src = image_of(get(f, DATASETS[d], "src"));
        const mbt_augment_params p = params_of(f, DATASETS[d]);
        const size_t n = (size_t)3 * r.size * r.size;
        float *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float)), *swapped = malloc(n * sizeof(float));
        CHECK_OK(mbt_augment_apply(&r, &p, &src, s, got));
        if (d < 2) { /* torchvision's float32 tensor */
            const u8fix_array *out = get(f, DATASETS[d], "out");
            CHECK(out->numel == n);
            for (size_t i = 0; i < n; i++) want[i] = (float)u8fix_f64(out, i);
        } else { /* PIL's image before ToTensor, normalised here */
            const u8fix_array *px = get(f, DATASETS[d], "pixels");
            CHECK(px->numel == n);
            const mbt_image img = image_of(px);
            mbt_augment_normalize(&img, r.mean, r.std, want);
        }
        const double w = max_diff(got, want, n);
        CHECK_MSG(w <= 1e-6, "%s: max |difference| %g from torchvision's view", name, w);
        /* the order matters for these choices: crop first gives another tensor */
        mbt_augment_recipe other = r;
        other.crop_first = 1;
        CHECK_OK(mbt_augment_apply(&other, &p, &src, s, swapped));
        const double o = max_diff(swapped, want, n);
        CHECK_MSG(o > 0.05, "%s: crop-then-jitter is within %g of torchvision's jitter-then-crop view", name, o);
        printf("%s: %g from torchvision; crop first instead: %g\n", name, w, o);
        free(got);
        free(want);
        free(swapped);
    }
}

/* Evaluation transforms: STL-10 Resize(70, bicubic) + CenterCrop(64); the others Normalize only. */
static void evals(const u8fix_file *f, mbt_augment_scratch *s) {
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get("sslsota_stl10", 0, &r));
    const mbt_image src = image_of(get(f, "stl10", "src"));
    const mbt_image ev = image_of(u8fix_get(f, "stl10_eval"));
    float got[3 * 64 * 64], want[3 * 64 * 64];
    CHECK_OK(mbt_augment_eval(&r, &src, s, got));
    mbt_augment_normalize(&ev, r.mean, r.std, want);
    CHECK_MSG(max_diff(got, want, 3 * 64 * 64) == 0, "sslsota_stl10: evaluation transform differs from torchvision");
    for (int d = 0; d < 3; d++) {
        char name[64];
        snprintf(name, sizeof name, "sslsota_%s", DATASETS[d]);
        CHECK_OK(mbt_augment_recipe_get(name, 0, &r));
        const mbt_image img = image_of(get(f, DATASETS[d], "src"));
        const size_t n = (size_t)3 * r.size * r.size;
        CHECK_OK(mbt_augment_eval(&r, &img, s, got));
        mbt_augment_normalize(&img, r.mean, r.std, want);
        CHECK_MSG(max_diff(got, want, n) == 0, "%s: evaluation transform is not Normalize alone", name);
    }
}

/* --cj0 0 --cj3 0 --cj_p 1 --gs_p 0 --crop_s0 0.5 --crop_s1 0.9 --crop_r0 0.5 --crop_r1 2 --hf_p 1 */
static void overrides(const u8fix_file *f, mbt_augment_scratch *s) {
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get("sslsota_cifar10", 0, &r));
    mbt_augment_flags g = mbt_augment_recipe_flags(&r);
    g.cj0 = 0.0f, g.cj3 = 0.0f, g.cj_p = 1.0f, g.gs_p = 0.0f, g.crop_s0 = 0.5f, g.crop_s1 = 0.9f;
    g.crop_r0 = 0.5f, g.crop_r1 = 2.0f, g.hf_p = 1.0f;
    CHECK_OK(mbt_augment_recipe_set_flags(&r, &g));
    CHECK(r.brightness == 0.0f && r.hue == 0.0f && r.contrast == 0.4f && r.jitter_p == 1.0f && r.gray_p == 0.0f);
    CHECK(r.scale_min == 0.5f && r.scale_max == 0.9f && r.ratio_min == 0.5f && r.ratio_max == 2.0f && r.flip_p == 1.0f);
    CHECK(r.crop_first == 0 && r.size == 32);

    /* torchvision's view with brightness and hue None */
    const mbt_image src = image_of(get(f, "cifar10", "src"));
    mbt_augment_params p = params_of(f, "override");
    float got[3 * 32 * 32], want[3 * 32 * 32], with_hue[3 * 32 * 32];
    const mbt_image px = image_of(u8fix_get(f, "override_pixels"));
    mbt_augment_normalize(&px, r.mean, r.std, want);
    CHECK_OK(mbt_augment_apply(&r, &p, &src, s, got));
    CHECK_MSG(max_diff(got, want, 3 * 32 * 32) <= 1e-6, "override: differs from torchvision's view");
    /* leaving hue out is not the same as a hue shift of 0 (PIL's HSV round trip loses bits) */
    for (int i = 0; i < 4; i++)
        if (p.order[i] < 0) {
            p.order[i] = 3;
            break;
        }
    p.hue = 0.0f;
    CHECK_OK(mbt_augment_apply(&r, &p, &src, s, with_hue));
    printf("override: a hue shift of 0 instead of no hue op moves values by up to %g\n",
           max_diff(with_hue, want, 3 * 32 * 32));

    /* the draws follow the flags */
    double smin = 1, smax = 0, rmin = 10, rmax = 0;
    int ok = 1;
    for (int i = 0; i < 4000; i++) {
        mbt_rng rng;
        mbt_rng_init(&rng, 3, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 1, (uint64_t)i, 0));
        mbt_augment_draw(&r, 32, 32, &rng, &p);
        int skipped = 0, seen[4] = {0};
        for (int k = 0; k < 4; k++) {
            if (p.order[k] < 0) skipped++;
            else seen[p.order[k]]++;
        }
        ok &= p.jitter && !p.gray && p.flip && skipped == 2 && !seen[0] && !seen[3] && seen[1] == 1 && seen[2] == 1;
        const double a = p.crop.width * (double)p.crop.height / 1024.0, q = p.crop.width / (double)p.crop.height;
        smin = fmin(smin, a), smax = fmax(smax, a), rmin = fmin(rmin, q), rmax = fmax(rmax, q);
    }
    CHECK_MSG(ok, "override draws: jitter always, gray never, flip always, only contrast and saturation");
    /* area fractions and ratios of rounded boxes of a 32x32 image: within the flags' ranges up to the
     * rounding of w and h (about 2 / 32), and reaching out near both ends (cfg.py's defaults would give
     * areas down to 0.2 and ratios within 3/4..4/3) */
    CHECK_MSG(smin >= 0.5 - 0.07 && smin < 0.55 && smax <= 0.9 + 0.07 && smax > 0.85, "override crop area %g..%g",
              smin, smax);
    CHECK_MSG(rmin >= 0.5 * 0.9 && rmin < 0.56 && rmax <= 2.0 / 0.9 && rmax > 1.8, "override crop ratio %g..%g", rmin,
              rmax);

    /* refusals leave the recipe as it was */
    mbt_augment_recipe before = r;
    const mbt_augment_flags good = mbt_augment_recipe_flags(&r);
    mbt_augment_flags bad[7];
    for (int i = 0; i < 7; i++) bad[i] = good;
    bad[0].cj3 = 0.6f;
    bad[1].cj1 = -0.1f;
    bad[2].cj_p = 1.5f;
    bad[3].crop_s0 = 0.95f;
    bad[4].crop_r0 = 0.0f;
    bad[5].hf_p = NAN;
    bad[6].crop_s1 = 0.0f, bad[6].crop_s0 = 0.0f;
    for (int i = 0; i < 7; i++) {
        CHECK_MSG(mbt_augment_recipe_set_flags(&r, &bad[i]) == MBT_ERR_ARG, "bad flags %d accepted", i);
        CHECK_MSG(memcmp(&r, &before, sizeof r) == 0, "bad flags %d changed the recipe", i);
    }
    printf("refused: %s\n", mbt_error_message());
}

int main(void) {
    u8fix_file f;
    if (u8fix_load(&f, "augment_sslsota.u8") != 0) {
        CHECK(0);
        return check_report("test_augment_sslsota");
    }
    mbt_augment_scratch s = {0};
    recipe_fields(&f);
    views(&f, &s);
    evals(&f, &s);
    overrides(&f, &s);
    mbt_augment_scratch_free(&s);
    u8fix_free(&f);
    return check_report("test_augment_sslsota");
}
