/* PIL-compatible colour operations (see color.h for the contract). */
#include "data/color.h"

#include <math.h>

/* Pillow is built without fused multiply-add; keep every product rounded on its own. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* One channel of Image.blend(d, v, alpha): within [0, 1] the result cannot leave [0, 255]. */
static inline uint8_t blend(int d, int v, float alpha) {
    float t = (float)d + alpha * (float)(v - d);
    if (t <= 0.0f) return 0;
    if (t >= 255.0f) return 255;
    return (uint8_t)t;
}

void mbt_color_brightness(uint8_t *px, size_t n, float factor) {
    for (size_t i = 0; i < 3 * n; i++) px[i] = blend(0, px[i], factor);
}

void mbt_color_contrast(uint8_t *px, size_t n, float factor) {
    if (n == 0) return;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += mbt_color_luma(px + 3 * i);
    int mean = (int)((double)sum / (double)n + 0.5);
    for (size_t i = 0; i < 3 * n; i++) px[i] = blend(mean, px[i], factor);
}

void mbt_color_saturation(uint8_t *px, size_t n, float factor) {
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = px + 3 * i;
        int l = mbt_color_luma(p);
        p[0] = blend(l, p[0], factor);
        p[1] = blend(l, p[1], factor);
        p[2] = blend(l, p[2], factor);
    }
}

static inline uint8_t clip_int(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* PIL's RGB -> HSV (after colorsys): float arithmetic, H and S scaled by 255 and truncated. */
static inline void to_hsv(const uint8_t *p, uint8_t *h_out, uint8_t *s_out, uint8_t *v_out) {
    int r = p[0], g = p[1], b = p[2];
    int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
    *v_out = (uint8_t)mx;
    if (mx == mn) {
        *h_out = 0;
        *s_out = 0;
        return;
    }
    float range = (float)(mx - mn);
    float s = range / (float)mx;
    float rc = (float)(mx - r) / range, gc = (float)(mx - g) / range, bc = (float)(mx - b) / range;
    float h;
    if (r == mx) h = bc - gc;
    else if (g == mx) h = (float)(2.0 + rc - bc);
    else h = (float)(4.0 + gc - rc);
    double wrapped = h / 6.0 + 1.0; /* in [5/6, 11/6]: fmod(., 1) is an exact subtraction */
    h = (float)(wrapped >= 1.0 ? wrapped - 1.0 : wrapped);
    *h_out = clip_int((int)(h * 255.0));
    *s_out = clip_int((int)(s * 255.0));
}

/* C's round() for x >= 0 (half away from zero), without a library call: x - trunc(x) is exact. */
static inline int round_pos(double x) {
    double t = trunc(x);
    return (int)t + (x - t >= 0.5);
}

/* PIL's HSV -> RGB: sector from floor(h * 6 / 255), p, q, t rounded to nearest. */
static inline void from_hsv(uint8_t h, uint8_t s, uint8_t v, uint8_t *p) {
    if (s == 0) {
        p[0] = p[1] = p[2] = v;
        return;
    }
    double h6 = (float)h * 6.0 / 255.0; /* >= 0: the cast floors */
    int sector = (int)h6;
    float f = (float)(h6 - (float)sector);
    float fs = (float)((float)s / 255.0);
    uint8_t vp = clip_int(round_pos((float)v * (1.0 - fs)));
    uint8_t vq = clip_int(round_pos((float)v * (1.0 - fs * f)));
    uint8_t vt = clip_int(round_pos((float)v * (1.0 - fs * (1.0 - f))));
    switch (sector % 6) {
    case 0: p[0] = v, p[1] = vt, p[2] = vp; break;
    case 1: p[0] = vq, p[1] = v, p[2] = vp; break;
    case 2: p[0] = vp, p[1] = v, p[2] = vt; break;
    case 3: p[0] = vp, p[1] = vq, p[2] = v; break;
    case 4: p[0] = vt, p[1] = vp, p[2] = v; break;
    default: p[0] = v, p[1] = vp, p[2] = vq; break;
    }
}

void mbt_color_hue(uint8_t *px, size_t n, float hue) {
    /* numpy's uint8(hue * 255): truncation toward zero, then modulo 256 */
    uint8_t shift = (uint8_t)(int)(hue * 255.0);
    for (size_t i = 0; i < n; i++) {
        uint8_t h, s, v;
        to_hsv(px + 3 * i, &h, &s, &v);
        from_hsv((uint8_t)(h + shift), s, v, px + 3 * i);
    }
}

void mbt_color_grayscale(uint8_t *px, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t l = mbt_color_luma(px + 3 * i);
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
