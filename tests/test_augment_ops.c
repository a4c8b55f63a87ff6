/* The deterministic image operations of the data layer against PIL 9 / torchvision 0.14 outputs
 * (tests/fixtures/augment_ops.u8 from tools/make_augment_fixtures.py): resize (bilinear, bicubic; down,
 * up, odd ratios), crop + resize, flip, brightness / contrast / saturation / hue, grayscale, a jitter
 * chain, ToTensor + Normalize and the resize + centre-crop evaluation transform, and whole training
 * pipelines with fixed choices. Pass: every uint8 value within 1 of PIL's and at most 0.5% of them off
 * by one (the number of values that differ at all is printed); float outputs within 1e-6. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "data/augment.h"
#include "data/color.h"
#include "data/resample.h"
#include "test_augment_u8.h"

static long total_values, total_diff;

static void to_image(const u8fix_array *a, mbt_image *img) {
    CHECK_OK(mbt_image_reserve(img, (int)a->dims[1], (int)a->dims[0]));
    memcpy(img->data, a->data, a->numel);
}

/* Compares img with the fixture image `name`: same size, every value within 1. */
static void expect_image(const u8fix_file *f, const char *name, const mbt_image *img) {
    const u8fix_array *a = u8fix_get(f, name);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_MSG(a->dims[0] == img->height && a->dims[1] == img->width, "%s: size %dx%d, PIL %lldx%lld", name,
              img->width, img->height, (long long)a->dims[1], (long long)a->dims[0]);
    if (a->dims[0] != img->height || a->dims[1] != img->width) return;
    const uint8_t *e = a->data;
    int worst = 0;
    long ndiff = 0;
    for (size_t i = 0; i < a->numel; i++) {
        int d = abs((int)img->data[i] - (int)e[i]);
        if (d) ndiff++;
        if (d > worst) worst = d;
    }
    total_values += (long)a->numel;
    total_diff += ndiff;
    CHECK_MSG(worst <= 1, "%s: max |difference| %d over %zu values (%ld differ)", name, worst, a->numel, ndiff);
    /* off-by-one values may be isolated accidents, never a pattern (a wrong rounding rule) */
    CHECK_MSG(ndiff * 200 <= (long)a->numel, "%s: %ld of %zu values differ (more than 0.5%%)", name, ndiff,
              a->numel);
    if (ndiff) printf("  %s: %ld of %zu values differ by 1\n", name, ndiff, a->numel);
}

int main(void) {
    u8fix_file f;
    if (u8fix_load(&f, "augment_ops.u8") != 0) {
        CHECK(0);
        return check_report("test_augment_ops");
    }
    mbt_image a = {0}, b = {0}, out = {0}, work = {0};
    to_image(u8fix_get(&f, "src_a"), &a);
    to_image(u8fix_get(&f, "src_b"), &b);
    mbt_resample_scratch rs = {0};
    char name[64];

    /* whole-image resize */
    const u8fix_array *sizes = u8fix_get(&f, "resize_sizes");
    for (int code = 2; code <= 3; code++)
        for (int k = 0; k < (int)sizes->dims[0]; k++) {
            int ow = (int)u8fix_f64(sizes, 2 * k), oh = (int)u8fix_f64(sizes, 2 * k + 1);
            CHECK_OK(mbt_resample(&a, 0, 0, a.width, a.height, &out, ow, oh, (mbt_filter)code, &rs));
            snprintf(name, sizeof name, "resize_%d_%d", code, k);
            expect_image(&f, name, &out);
        }
    /* crop + resize (top, left, height, width, size) */
    const u8fix_array *boxes = u8fix_get(&f, "crop_boxes");
    for (int code = 2; code <= 3; code++)
        for (int k = 0; k < (int)boxes->dims[0]; k++) {
            int t = (int)u8fix_f64(boxes, 5 * k), l = (int)u8fix_f64(boxes, 5 * k + 1);
            int h = (int)u8fix_f64(boxes, 5 * k + 2), w = (int)u8fix_f64(boxes, 5 * k + 3);
            int s = (int)u8fix_f64(boxes, 5 * k + 4);
            CHECK_OK(mbt_resample(&a, l, t, w, h, &out, s, s, (mbt_filter)code, &rs));
            snprintf(name, sizeof name, "crop_%d_%d", code, k);
            expect_image(&f, name, &out);
        }
    /* a region outside the image is an error naming it */
    CHECK(mbt_resample(&a, 20, 0, 10, 5, &out, 4, 4, MBT_FILTER_BILINEAR, &rs) == MBT_ERR_ARG);
    CHECK(strstr(mbt_error_message(), "outside the 29x23 image") != NULL);

    /* flip */
    CHECK_OK(mbt_image_reserve(&work, a.width, a.height));
    memcpy(work.data, a.data, (size_t)a.width * a.height * 3);
    mbt_image_hflip(&work);
    expect_image(&f, "hflip_a", &work);

    /* enhance operations */
    size_t nb = (size_t)b.width * b.height;
    CHECK_OK(mbt_image_reserve(&work, b.width, b.height));
    const u8fix_array *factors = u8fix_get(&f, "enh_factors");
    for (int k = 0; k < (int)factors->numel; k++) {
        float fac = (float)u8fix_f64(factors, k);
        void (*ops[3])(uint8_t *, size_t, float) = {mbt_color_brightness, mbt_color_contrast, mbt_color_saturation};
        const char *names[3] = {"brightness", "contrast", "saturation"};
        for (int op = 0; op < 3; op++) {
            memcpy(work.data, b.data, nb * 3);
            ops[op](work.data, nb, fac);
            snprintf(name, sizeof name, "%s_%d", names[op], k);
            expect_image(&f, name, &work);
        }
    }
    CHECK_OK(mbt_image_reserve(&work, a.width, a.height));
    memcpy(work.data, a.data, (size_t)a.width * a.height * 3);
    mbt_color_contrast(work.data, (size_t)a.width * a.height, 1.33f);
    expect_image(&f, "contrast_a", &work);
    const u8fix_array *hues = u8fix_get(&f, "hue_factors");
    CHECK_OK(mbt_image_reserve(&work, b.width, b.height));
    for (int k = 0; k < (int)hues->numel; k++) {
        memcpy(work.data, b.data, nb * 3);
        mbt_color_hue(work.data, nb, (float)u8fix_f64(hues, k));
        snprintf(name, sizeof name, "hue_%d", k);
        expect_image(&f, name, &work);
    }
    memcpy(work.data, b.data, nb * 3);
    mbt_color_grayscale(work.data, nb);
    expect_image(&f, "gray_b", &work);

    /* a ColorJitter application in a given order */
    mbt_augment_params p;
    memset(&p, 0, sizeof p);
    const u8fix_array *order = u8fix_get(&f, "jitter_order"), *jf = u8fix_get(&f, "jitter_factors");
    for (int i = 0; i < 4; i++) p.order[i] = (int)u8fix_f64(order, i);
    p.brightness = (float)u8fix_f64(jf, 0);
    p.contrast = (float)u8fix_f64(jf, 1);
    p.saturation = (float)u8fix_f64(jf, 2);
    p.hue = (float)u8fix_f64(jf, 3);
    CHECK_OK(mbt_image_reserve(&work, a.width, a.height));
    memcpy(work.data, a.data, (size_t)a.width * a.height * 3);
    mbt_augment_jitter(&work, &p);
    expect_image(&f, "jitter_a", &work);

    /* ToTensor + Normalize with the CIFAR statistics: float32 values equal to torchvision's */
    mbt_augment_recipe cifar;
    CHECK_OK(mbt_augment_recipe_get("cifar", 0, &cifar));
    const u8fix_array *norm = u8fix_get(&f, "normalize_a");
    float *t = malloc(norm->numel * sizeof(float));
    mbt_augment_normalize(&a, cifar.mean, cifar.std, t);
    double worst = 0;
    for (size_t i = 0; i < norm->numel; i++) worst = fmax(worst, fabs((double)t[i] - u8fix_f64(norm, i)));
    CHECK_MSG(worst <= 1e-6, "normalize: max |difference| %g", worst);
    free(t);

    /* the evaluation transform Resize(R, bicubic) + CenterCrop(S), on the wide image and its transpose */
    mbt_augment_recipe ev = cifar;
    ev.eval_filter = MBT_FILTER_BICUBIC;
    mbt_augment_scratch as = {0};
    float *o = malloc(3 * 8 * 8 * sizeof(float));
    const u8fix_array *cases = u8fix_get(&f, "evalcrop_cases");
    mbt_image tr = {0};
    CHECK_OK(mbt_image_reserve(&tr, a.height, a.width));
    for (int y = 0; y < a.height; y++)
        for (int x = 0; x < a.width; x++)
            memcpy(tr.data + ((size_t)x * a.height + y) * 3, a.data + ((size_t)y * a.width + x) * 3, 3);
    for (int k = 0; k < (int)cases->dims[0]; k++) {
        ev.eval_resize = (int)u8fix_f64(cases, 3 * k);
        ev.size = (int)u8fix_f64(cases, 3 * k + 1);
        int tall = (int)u8fix_f64(cases, 3 * k + 2);
        ev.mean[0] = ev.mean[1] = ev.mean[2] = 0.0f;
        ev.std[0] = ev.std[1] = ev.std[2] = 1.0f / 255.0f; /* so the output is the uint8 value */
        CHECK_OK(mbt_augment_eval(&ev, tall ? &tr : &a, &as, o));
        mbt_image got = {0};
        CHECK_OK(mbt_image_reserve(&got, ev.size, ev.size));
        int plane = ev.size * ev.size;
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) got.data[3 * i + c] = (uint8_t)lrintf(o[c * plane + i]);
        snprintf(name, sizeof name, "evalcrop_%d", k);
        expect_image(&f, name, &got);
        mbt_image_free(&got);
    }
    mbt_image_free(&tr);
    free(o);
    /* whole training pipelines with fixed choices, in each recipe's order, against torchvision */
    const char *recipes[2] = {"cifar", "tiny_imagenet"}, *keys[2] = {"pipe_cifar", "pipe_tiny"};
    for (int r = 0; r < 2; r++) {
        mbt_augment_recipe rec;
        CHECK_OK(mbt_augment_recipe_get(recipes[r], r ? 24 : 0, &rec));
        memset(&p, 0, sizeof p);
        snprintf(name, sizeof name, "%s_box", keys[r]);
        const u8fix_array *box = u8fix_get(&f, name);
        snprintf(name, sizeof name, "%s_order", keys[r]);
        const u8fix_array *ord = u8fix_get(&f, name);
        snprintf(name, sizeof name, "%s_factors", keys[r]);
        const u8fix_array *fac = u8fix_get(&f, name);
        p.crop = (mbt_crop_box){(int)u8fix_f64(box, 0), (int)u8fix_f64(box, 1), (int)u8fix_f64(box, 2), (int)u8fix_f64(box, 3)};
        p.flip = 1;
        p.jitter = 1;
        for (int i = 0; i < 4; i++) p.order[i] = (int)u8fix_f64(ord, i);
        p.brightness = (float)u8fix_f64(fac, 0);
        p.contrast = (float)u8fix_f64(fac, 1);
        p.saturation = (float)u8fix_f64(fac, 2);
        p.hue = (float)u8fix_f64(fac, 3);
        p.gray = r == 1;
        const u8fix_array *want = u8fix_get(&f, keys[r]);
        float *got = malloc(want->numel * sizeof(float));
        CHECK(want->numel == (size_t)3 * rec.size * rec.size);
        CHECK_OK(mbt_augment_apply(&rec, &p, &a, &as, got));
        double w = 0;
        for (size_t i = 0; i < want->numel; i++) w = fmax(w, fabs((double)got[i] - u8fix_f64(want, i)));
        CHECK_MSG(w <= 1e-6, "%s: max |difference| %g from torchvision", keys[r], w);
        free(got);
    }
    printf("augment ops: %ld of %ld uint8 values differ from PIL\n", total_diff, total_values);

    mbt_augment_scratch_free(&as);
    mbt_resample_scratch_free(&rs);
    mbt_image_free(&a);
    mbt_image_free(&b);
    mbt_image_free(&out);
    mbt_image_free(&work);
    u8fix_free(&f);
    return check_report("test_augment_ops");
}
