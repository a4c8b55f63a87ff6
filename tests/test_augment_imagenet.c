/* The ImageNet recipe (main_imagenet.py's Transform / Transform prime): the whole training pipeline with
 * fixed choices against torchvision + PIL (tests/fixtures/augment_filter.u8 from
 * tools/make_data_filter_fixtures.py), the per-view laws of blur and solarize (view 0: blur always,
 * never solarized; view 1: blur p 0.1, solarize p 0.2; sigma uniform on [0.1, 2]) with the other
 * draws independent of the view, the evaluation sizes, and the loader giving each view its own law. */
#include "test_data_util.h" /* first: it selects the POSIX/GNU declarations */

#include <math.h>

#include "core/rng.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "test_augment_u8.h"
#include "test_data_image_write.h"

static void pipeline_fixture(void) {
    u8fix_file f;
    if (u8fix_load(&f, "augment_filter.u8") != 0) {
        CHECK(0);
        return;
    }
    const u8fix_array *src = u8fix_get(&f, "src_0");
    mbt_image img = {0};
    CHECK_OK(mbt_image_reserve(&img, (int)src->dims[1], (int)src->dims[0]));
    memcpy(img.data, src->data, src->numel);
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get("imagenet", 24, &r));
    mbt_augment_scratch s = {0};
    float out[3 * 24 * 24];
    /* one uint8 step of the least-scaled channel, the most a value may be off */
    double step = 1.0 / (255.0 * 0.224) + 1e-6;
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "pipe_imagenet_%d_params", k);
        const u8fix_array *pa = u8fix_get(&f, name);
        snprintf(name, sizeof name, "pipe_imagenet_%d", k);
        const u8fix_array *want = u8fix_get(&f, name);
        if (!pa || !want) {
            CHECK(0);
            continue;
        }
        mbt_augment_params p;
        memset(&p, 0, sizeof p);
        p.crop.top = (int)u8fix_f64(pa, 0);
        p.crop.left = (int)u8fix_f64(pa, 1);
        p.crop.height = (int)u8fix_f64(pa, 2);
        p.crop.width = (int)u8fix_f64(pa, 3);
        p.flip = (int)u8fix_f64(pa, 4);
        p.jitter = 1;
        for (int i = 0; i < 4; i++) p.order[i] = (int)u8fix_f64(pa, 5 + i);
        p.brightness = (float)u8fix_f64(pa, 9);
        p.contrast = (float)u8fix_f64(pa, 10);
        p.saturation = (float)u8fix_f64(pa, 11);
        p.hue = (float)u8fix_f64(pa, 12);
        p.gray = (int)u8fix_f64(pa, 13);
        p.blur = 1;
        p.sigma = (float)u8fix_f64(pa, 14);
        p.solarize = (int)u8fix_f64(pa, 15);
        CHECK_OK(mbt_augment_apply(&r, &p, &img, &s, out));
        double worst = 0;
        long exact = 0;
        for (size_t i = 0; i < want->numel; i++) {
            double d = fabs((double)out[i] - u8fix_f64(want, i));
            exact += d <= 1e-6;
            worst = fmax(worst, d);
        }
        printf("imagenet pipeline %d: %ld of %zu values equal to torchvision's, worst %.3g\n", k, exact, want->numel,
               worst);
        CHECK_MSG(worst <= step, "imagenet pipeline %d: max |difference| %g (one uint8 step is %g)", k, worst, step);
        CHECK_MSG(exact >= (long)want->numel * 99 / 100, "imagenet pipeline %d: only %ld values exact", k, exact);
    }
    mbt_augment_scratch_free(&s);
    mbt_image_free(&img);
    u8fix_free(&f);
}

static void view_laws(void) {
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get("imagenet", 0, &r));
    CHECK(r.size == 224 && r.eval_resize == 256 && r.eval_filter == MBT_FILTER_BILINEAR && r.filter == MBT_FILTER_BICUBIC);
    mbt_augment_recipe half;
    CHECK_OK(mbt_augment_recipe_get("imagenet", 112, &half));
    CHECK(half.size == 112 && half.eval_resize == 128);
    const long n = 40000;
    long blur[2] = {0, 0}, sol[2] = {0, 0}, same = 0, sig_hist[10] = {0};
    double sig_min = 1e9, sig_max = -1e9;
    for (long i = 0; i < n; i++) {
        mbt_augment_params p[2];
        for (int v = 0; v < 2; v++) {
            mbt_rng rng;
            mbt_rng_init(&rng, 77, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 1, (uint64_t)i, 0));
            mbt_augment_draw_view(&r, v, 500, 375, &rng, &p[v]);
            blur[v] += p[v].blur;
            sol[v] += p[v].solarize;
        }
        /* same stream, other view: the same crop, flip, jitter, gray and sigma */
        same += !memcmp(&p[0].crop, &p[1].crop, sizeof p[0].crop) && p[0].flip == p[1].flip &&
                p[0].jitter == p[1].jitter && !memcmp(p[0].order, p[1].order, sizeof p[0].order) &&
                p[0].saturation == p[1].saturation && p[0].hue == p[1].hue && p[0].gray == p[1].gray &&
                p[0].sigma == p[1].sigma;
        double s = p[0].sigma;
        sig_min = fmin(sig_min, s);
        sig_max = fmax(sig_max, s);
        int b = (int)((s - 0.1) / 1.9 * 10);
        if (b >= 0 && b < 10) sig_hist[b]++;
        /* ColorJitter(0.4, 0.4, 0.2, 0.1): saturation in [0.8, 1.2] */
        if (p[0].saturation < 0.8f || p[0].saturation > 1.2f) CHECK_MSG(0, "saturation factor %g", p[0].saturation);
    }
    CHECK_MSG(same == n, "%ld of %ld draws differ between the views outside blur / solarize", n - same, n);
    CHECK_MSG(blur[0] == n && sol[0] == 0, "view 0: blur %ld, solarize %ld of %ld", blur[0], sol[0], n);
    /* binomial counts within 5 standard deviations */
    double sd_b = sqrt(n * 0.1 * 0.9), sd_s = sqrt(n * 0.2 * 0.8);
    CHECK_MSG(fabs(blur[1] - 0.1 * n) < 5 * sd_b, "view 1: blur %ld of %ld (p 0.1)", blur[1], n);
    CHECK_MSG(fabs(sol[1] - 0.2 * n) < 5 * sd_s, "view 1: solarize %ld of %ld (p 0.2)", sol[1], n);
    CHECK_MSG(sig_min >= 0.1 && sig_max <= 2.0 && sig_min < 0.11 && sig_max > 1.99, "sigma range [%g, %g]", sig_min,
              sig_max);
    double c = 0;
    for (int b = 0; b < 10; b++) c += (sig_hist[b] - n / 10.0) * (sig_hist[b] - n / 10.0) / (n / 10.0);
    printf("imagenet views: blur %ld / %ld, solarize %ld / %ld of %ld; sigma chi2 %.1f (9 dof)\n", blur[0], blur[1],
           sol[0], sol[1], n, c);
    CHECK_MSG(c < 33, "sigma histogram: chi2 %.1f (9 dof, p ~ 1e-4)", c);
    /* the other recipes draw no blur or solarize */
    mbt_augment_recipe cifar;
    CHECK_OK(mbt_augment_recipe_get("cifar", 0, &cifar));
    mbt_rng rng;
    mbt_rng_init(&rng, 1, 2);
    mbt_augment_params p;
    mbt_augment_draw_view(&cifar, 1, 32, 32, &rng, &p);
    CHECK(!p.blur && !p.solarize);
}

/* The loader draws view v with mbt_augment_draw_view(v): each view computed directly equals its batch. */
static void loader_views(void) {
    char dir[4096];
    if (tmp_folder(dir, sizeof dir, "aug_imagenet") != 0) {
        CHECK(0);
        return;
    }
    enum { N = 6, W = 40, H = 30, S = 16 };
    for (int i = 0; i < N; i++) {
        uint8_t px[W * H * 3];
        for (int k = 0; k < W * H * 3; k++) px[k] = (uint8_t)(k * 7 + i * 31 + (k / (W * 3)) * 5);
        char path[4300];
        snprintf(path, sizeof path, "%s/c%d", dir, i % 2);
        mkdir(path, 0777);
        snprintf(path, sizeof path, "%s/c%d/%d.png", dir, i % 2, i);
        CHECK(write_png(path, px, W, H, 3) == 0);
    }
    mbt_dataset *ds;
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get("imagenet", S, &r));
    if (!CHECK_OK(mbt_dataset_open(&ds, "folder", dir, MBT_SPLIT_TRAIN))) {
        rm_tree(dir);
        return;
    }
    mbt_loader_config c = {ds, r, MBT_LOADER_PAIR, 3, 2, 99, 0, 2};
    mbt_loader *l;
    CHECK_OK(mbt_loader_create(&l, &c));
    CHECK_OK(mbt_loader_start(l, 3, 0));
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_augment_scratch s = {0};
    float view[3 * S * S];
    long mismatched = 0, solarized = 0;
    for (;;) {
        mbt_batch b;
        if (!CHECK_OK(mbt_loader_next(l, &b)) || b.n == 0) break;
        for (int i = 0; i < b.n; i++)
            for (int v = 0; v < 2; v++) {
                CHECK_OK(mbt_dataset_image(ds, b.indices[i], &rd, &img));
                mbt_rng rng;
                mbt_rng_init(&rng, 99, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 3, (uint64_t)b.indices[i], (uint32_t)v));
                mbt_augment_params p;
                mbt_augment_draw_view(&r, v, img.width, img.height, &rng, &p);
                solarized += p.solarize;
                CHECK_OK(mbt_augment_apply(&r, &p, &img, &s, view));
                mismatched += memcmp(view, (v ? b.x2 : b.x1) + (size_t)i * 3 * S * S, sizeof view) != 0;
            }
    }
    CHECK_MSG(mismatched == 0, "%ld views differ from mbt_augment_draw_view of their own view number", mismatched);
    printf("loader: %ld of %d views solarized\n", solarized, 2 * N);
    mbt_loader_destroy(l);
    mbt_augment_scratch_free(&s);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    mbt_dataset_destroy(ds);
    rm_tree(dir);
}

int main(void) {
    pipeline_fixture();
    view_laws();
    loader_views();
    return check_report("test_augment_imagenet");
}
