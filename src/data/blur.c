/* PIL-compatible Gaussian blur (box-blur passes) and solarize (see blur.h for the contract). */
#include "data/blur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PIL computes the box radius in single precision; keep each operation rounded as written. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define BLUR_PASSES 3

/* The fractional box radius whose BLUR_PASSES passes have variance sigma^2 (PIL's float arithmetic). */
static float box_radius(float sigma) {
    float sigma2 = sigma * sigma / BLUR_PASSES;
    float len = (float)sqrt(12.0 * sigma2 + 1.0);       /* ideal box length */
    float l = (float)floor((len - 1.0) / 2.0);          /* integer part of the radius */
    float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2); /* fractional part */
    a /= 6 * (sigma2 - (l + 1) * (l + 1));
    return l + a;
}

/* One pass over n samples spaced `step` bytes apart, through `tmp` (n bytes), written back in place. */
static void box_pass(uint8_t *p, size_t step, int n, int r, uint32_t ww, uint32_t fw, uint8_t *tmp) {
    /* running sum of in[x-r .. x+r] with the edge samples repeated */
    uint32_t acc = (uint32_t)p[0] * (uint32_t)(r + 1);
    for (int k = 1; k <= r; k++) acc += p[(size_t)(k < n ? k : n - 1) * step];
    for (int x = 0; x < n; x++) {
        int lo = x - r - 1, hi = x + r + 1;
        uint32_t far = (uint32_t)p[(size_t)(lo < 0 ? 0 : lo) * step] + p[(size_t)(hi > n - 1 ? n - 1 : hi) * step];
        tmp[x] = (uint8_t)((acc * ww + far * fw + (1u << 23)) >> 24);
        /* slide: drop in[x-r], add in[x+r+1] */
        int out = x - r, in = x + r + 1;
        acc += (uint32_t)p[(size_t)(in > n - 1 ? n - 1 : in) * step];
        acc -= (uint32_t)p[(size_t)(out < 0 ? 0 : out) * step];
    }
    for (int x = 0; x < n; x++) p[(size_t)x * step] = tmp[x];
}

mbt_status mbt_image_gaussian_blur(mbt_image *img, float sigma, uint8_t **line, size_t *line_cap) {
    if (!(sigma > 0.0f)) return MBT_OK;
    int w = img->width, h = img->height;
    size_t need = (size_t)(w > h ? w : h);
    if (need > *line_cap) {
        uint8_t *p = realloc(*line, need);
        if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "gaussian blur: cannot allocate a line of %zu bytes", need);
        *line = p;
        *line_cap = need;
    }
    float fr = box_radius(sigma);
    int r = (int)fr;
    uint32_t ww = (uint32_t)((float)(1 << 24) / (fr * 2 + 1));
    uint32_t fw = ((1u << 24) - (uint32_t)(r * 2 + 1) * ww) / 2;
    size_t row = (size_t)w * 3;
    for (int pass = 0; pass < BLUR_PASSES; pass++)
        for (int y = 0; y < h; y++)
            for (int c = 0; c < 3; c++) box_pass(img->data + (size_t)y * row + c, 3, w, r, ww, fw, *line);
    for (int pass = 0; pass < BLUR_PASSES; pass++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) box_pass(img->data + (size_t)x * 3 + c, row, h, r, ww, fw, *line);
    return MBT_OK;
}

void mbt_image_solarize(mbt_image *img, int threshold) {
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++)
        if (img->data[i] >= threshold) img->data[i] = (uint8_t)(255 - img->data[i]);
}
