/* JPEG and PNG decoding against PIL's Image.open(...).convert("RGB") of the same files (fixtures from
 * tools/make_augment_fixtures.py: colour, grayscale and CMYK JPEGs; RGB, RGBA, gray, 16-bit gray and
 * palette PNGs), and the errors for files that are not images or are cut short. */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/decode.h"
#include "test_augment_u8.h"

static const char *const files[] = {"augment_rgb.jpg", "augment_gray.jpg", "augment_cmyk.jpg", "augment_rgb.png",
                                    "augment_rgba.png", "augment_gray.png", "augment_pal.png", "augment_gray16.png"};

int main(void) {
    u8fix_file f;
    if (u8fix_load(&f, "augment_decode.u8") != 0) {
        CHECK(0);
        return check_report("test_data_decode");
    }
    mbt_file_buffer fb = {0};
    mbt_image img = {0};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", MIXBT_FIXTURES, files[i]);
        const u8fix_array *ref = u8fix_get(&f, files[i]);
        CHECK(ref != NULL);
        if (!CHECK_OK(mbt_image_load(path, &fb, &img)) || !ref) continue;
        CHECK_MSG(img.height == ref->dims[0] && img.width == ref->dims[1], "%s: %dx%d, PIL %lldx%lld", files[i],
                  img.width, img.height, (long long)ref->dims[1], (long long)ref->dims[0]);
        if (img.height != ref->dims[0] || img.width != ref->dims[1]) continue;
        const uint8_t *e = ref->data;
        long ndiff = 0;
        int worst = 0;
        for (size_t k = 0; k < ref->numel; k++) {
            int d = abs((int)img.data[k] - (int)e[k]);
            ndiff += d != 0;
            if (d > worst) worst = d;
        }
        CHECK_MSG(worst == 0, "%s: %ld values differ from PIL's decoding (max %d)", files[i], ndiff, worst);
    }

    /* a file that is not an image, a truncated JPEG and PNG, a missing file: one line naming the file */
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/mbt_decode_%d.txt", dir, (int)getpid());
    FILE *fh = fopen(bad, "wb");
    fputs("hello, not an image", fh);
    fclose(fh);
    CHECK(mbt_image_load(bad, &fb, &img) == MBT_ERR_FORMAT);
    CHECK(strstr(mbt_error_message(), bad) && strstr(mbt_error_message(), "not a JPEG or PNG"));
    const char *cut[2] = {"augment_rgb.jpg", "augment_rgb.png"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", MIXBT_FIXTURES, cut[k]);
        FILE *in = fopen(path, "rb");
        unsigned char buf[4096];
        size_t n = fread(buf, 1, sizeof buf, in);
        fclose(in);
        for (int part = 1; part <= 2; part++) { /* cut in the headers, cut in the image data */
            CHECK(mbt_image_decode(buf, n * part / 3 + (part == 2) * n / 6, cut[k], &img) == MBT_ERR_FORMAT);
            CHECK_MSG(strstr(mbt_error_message(), cut[k]) && strstr(mbt_error_message(), k ? "PNG" : "JPEG"),
                      "message: %s", mbt_error_message());
        }
    }
    CHECK(mbt_image_load("/nonexistent/x.png", &fb, &img) == MBT_ERR_IO);
    CHECK(strstr(mbt_error_message(), "/nonexistent/x.png") != NULL);
    remove(bad);
    mbt_image_free(&img);
    mbt_file_buffer_free(&fb);
    u8fix_free(&f);
    return check_report("test_data_decode");
}
