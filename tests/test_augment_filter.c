/* The ImageNet recipe's PIL filters against PIL 9 outputs (tests/fixtures/augment_filter.u8 from
 * tools/make_data_filter_fixtures.py): ImageFilter.GaussianBlur for sigmas in and beyond the recipe's
 * range on smooth, noisy and hard-edged images down to one row / one column, and ImageOps.solarize at
 * several thresholds. Pass: every uint8 value equal to PIL's (the blur is integer arithmetic). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/blur.h"
#include "test_augment_u8.h"

static void to_image(const u8fix_array *a, mbt_image *img) {
    CHECK_OK(mbt_image_reserve(img, (int)a->dims[1], (int)a->dims[0]));
    memcpy(img->data, a->data, a->numel);
}

/* Counts the values of img that differ from the fixture image `name`; checks the size and the worst. */
static void expect_exact(const u8fix_file *f, const char *name, const mbt_image *img) {
    const u8fix_array *a = u8fix_get(f, name);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_MSG(a->dims[0] == img->height && a->dims[1] == img->width, "%s: size", name);
    if (a->dims[0] != img->height || a->dims[1] != img->width) return;
    const uint8_t *e = a->data;
    int worst = 0;
    long ndiff = 0;
    for (size_t i = 0; i < a->numel; i++) {
        int d = abs((int)img->data[i] - (int)e[i]);
        ndiff += d != 0;
        if (d > worst) worst = d;
    }
    CHECK_MSG(worst == 0, "%s: max |difference| %d, %ld of %zu values differ from PIL", name, worst, ndiff, a->numel);
}

int main(void) {
    u8fix_file f;
    if (u8fix_load(&f, "augment_filter.u8") != 0) {
        CHECK(0);
        return check_report("test_augment_filter");
    }
    mbt_image src = {0}, work = {0};
    uint8_t *line = NULL;
    size_t line_cap = 0;
    char name[64];
    const u8fix_array *sigmas = u8fix_get(&f, "blur_sigmas");
    int blurred = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "src_%d", i);
        to_image(u8fix_get(&f, name), &src);
        for (size_t k = 0; k < sigmas->numel; k++) {
            CHECK_OK(mbt_image_reserve(&work, src.width, src.height));
            memcpy(work.data, src.data, (size_t)src.width * src.height * 3);
            CHECK_OK(mbt_image_gaussian_blur(&work, (float)u8fix_f64(sigmas, k), &line, &line_cap));
            snprintf(name, sizeof name, "blur_%d_%zu", i, k);
            expect_exact(&f, name, &work);
            blurred += memcmp(work.data, src.data, (size_t)src.width * src.height * 3) != 0;
        }
    }
    CHECK_MSG(blurred >= 30, "only %d of 40 blurred images differ from their source", blurred);
    /* sigma 0 (and below) is the identity */
    memcpy(work.data, src.data, (size_t)src.width * src.height * 3);
    CHECK_OK(mbt_image_gaussian_blur(&work, 0.0f, &line, &line_cap));
    CHECK(memcmp(work.data, src.data, (size_t)src.width * src.height * 3) == 0);

    const u8fix_array *thr = u8fix_get(&f, "solarize_thresholds");
    to_image(u8fix_get(&f, "src_1"), &src);
    for (size_t k = 0; k < thr->numel; k++) {
        CHECK_OK(mbt_image_reserve(&work, src.width, src.height));
        memcpy(work.data, src.data, (size_t)src.width * src.height * 3);
        mbt_image_solarize(&work, (int)u8fix_f64(thr, k));
        snprintf(name, sizeof name, "solarize_%zu", k);
        expect_exact(&f, name, &work);
    }
    free(line);
    mbt_image_free(&src);
    mbt_image_free(&work);
    u8fix_free(&f);
    return check_report("test_augment_filter");
}
