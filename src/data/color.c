/* PIL-compatible colour operations (see color.h for the contract). */
#include "data/color.h"

#include "data/pixel_ops.h"

void mbt_color_brightness(uint8_t *px, size_t n, float factor) {
    for (size_t i = 0; i < 3 * n; i++) px[i] = mbt_px_blend(0, px[i], factor);
}

void mbt_color_contrast(uint8_t *px, size_t n, float factor) {
    if (n == 0) return;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += mbt_px_luma(px + 3 * i);
    int mean = mbt_px_contrast_mean(sum, n);
    for (size_t i = 0; i < 3 * n; i++) px[i] = mbt_px_blend(mean, px[i], factor);
}

void mbt_color_saturation(uint8_t *px, size_t n, float factor) {
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = px + 3 * i;
        int l = mbt_px_luma(p);
        p[0] = mbt_px_blend(l, p[0], factor);
        p[1] = mbt_px_blend(l, p[1], factor);
        p[2] = mbt_px_blend(l, p[2], factor);
    }
}

void mbt_color_hue(uint8_t *px, size_t n, float hue) {
    uint8_t shift = mbt_px_hue_shift(hue);
    for (size_t i = 0; i < n; i++) mbt_px_hue(px + 3 * i, shift);
}

void mbt_color_grayscale(uint8_t *px, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t l = mbt_px_luma(px + 3 * i);
        px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = l;
    }
}

void mbt_image_hflip(mbt_image *img) {
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = img->data + (size_t)y * img->width * 3;
        for (int a = 0, b = img->width - 1; a < b; a++, b--) {
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[3 * a + c];
                row[3 * a + c] = row[3 * b + c];
                row[3 * b + c] = t;
            }
        }
    }
}
