/* The per-pixel arithmetic of PIL's 8-bit operations (resampling taps, Image.blend, 'L' conversion,
 * the HSV round trip), written once for the CPU image code and the CUDA augmentation kernels: both
 * compute bit-identical results from the same definitions.
 *
 * Pillow is built without fused multiply-add, so every product must be rounded on its own: a file that
 * includes this header compiles the rest of itself with contraction off (the pragma below; nvcc files
 * that include it are compiled with --fmad=false). Include it only where that is wanted. */
#ifndef MBT_DATA_PIXEL_OPS_H
#define MBT_DATA_PIXEL_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hostdev.h"

#ifndef __CUDACC__
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#endif

/* Fixed-point bits of the resampling coefficients: 32 bits minus 8 for the pixel and 2 for overshoot
 * and sign. */
#define MBT_RESAMPLE_PRECISION_BITS 22

/* One output sample of a resampling pass: n input samples `step` bytes apart weighted by the fixed-point
 * coefficients k, rounded and clipped to 8 bits. */
static inline MBT_HD uint8_t mbt_px_resample_tap(const uint8_t *p, size_t step, int n, const int32_t *k) {
    int32_t acc = 1 << (MBT_RESAMPLE_PRECISION_BITS - 1);
    for (int t = 0; t < n; t++) acc += (int32_t)p[(size_t)t * step] * k[t];
    int32_t v = acc >> MBT_RESAMPLE_PRECISION_BITS; /* arithmetic shift: floor */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* One output pixel of a horizontal pass: n interleaved RGB input pixels weighted by k, into out[0..2]
 * (mbt_px_resample_tap on each channel, in one loop). */
static inline MBT_HD void mbt_px_resample_rgb(const uint8_t *p, int n, const int32_t *k, uint8_t *out) {
    int32_t a0 = 1 << (MBT_RESAMPLE_PRECISION_BITS - 1), a1 = a0, a2 = a0;
    for (int t = 0; t < n; t++) {
        a0 += (int32_t)p[3 * t] * k[t];
        a1 += (int32_t)p[3 * t + 1] * k[t];
        a2 += (int32_t)p[3 * t + 2] * k[t];
    }
    int32_t v[3] = {a0 >> MBT_RESAMPLE_PRECISION_BITS, a1 >> MBT_RESAMPLE_PRECISION_BITS,
                    a2 >> MBT_RESAMPLE_PRECISION_BITS};
    for (int c = 0; c < 3; c++) out[c] = (uint8_t)(v[c] < 0 ? 0 : v[c] > 255 ? 255 : v[c]);
}

/* PIL's 'L' value of one pixel: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16. */
static inline MBT_HD uint8_t mbt_px_luma(const uint8_t *p) {
    return (uint8_t)(((uint32_t)p[0] * 19595u + (uint32_t)p[1] * 38470u + (uint32_t)p[2] * 7471u + 0x8000u) >> 16);
}

/* One channel of Image.blend(d, v, alpha): d + alpha * (v - d) in float, truncated, clipped to [0, 255]. */
static inline MBT_HD uint8_t mbt_px_blend(int d, int v, float alpha) {
    float t = (float)d + alpha * (float)(v - d);
    if (t <= 0.0f) return 0;
    if (t >= 255.0f) return 255;
    return (uint8_t)t;
}

/* ImageEnhance.Contrast's degenerate value: the mean of the 'L' image rounded as int(mean + 0.5), from
 * the sum of the 'L' values of its n pixels. */
static inline MBT_HD int mbt_px_contrast_mean(uint64_t luma_sum, size_t n) {
    return (int)((double)luma_sum / (double)n + 0.5);
}

static inline MBT_HD uint8_t mbt_px_clip_int(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* C's round() for x >= 0 (half away from zero), without a library call: x - trunc(x) is exact. */
static inline MBT_HD int mbt_px_round_pos(double x) {
    double t = trunc(x);
    return (int)t + (x - t >= 0.5);
}

/* PIL's RGB -> HSV (after colorsys): float arithmetic, H and S scaled by 255 and truncated. */
static inline MBT_HD void mbt_px_to_hsv(const uint8_t *p, uint8_t *h_out, uint8_t *s_out, uint8_t *v_out) {
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
    *h_out = mbt_px_clip_int((int)(h * 255.0));
    *s_out = mbt_px_clip_int((int)(s * 255.0));
}

/* PIL's HSV -> RGB: sector from floor(h * 6 / 255), p, q, t rounded to nearest. */
static inline MBT_HD void mbt_px_from_hsv(uint8_t h, uint8_t s, uint8_t v, uint8_t *p) {
    if (s == 0) {
        p[0] = p[1] = p[2] = v;
        return;
    }
    double h6 = (float)h * 6.0 / 255.0; /* >= 0: the cast floors */
    int sector = (int)h6;
    float f = (float)(h6 - (float)sector);
    float fs = (float)((float)s / 255.0);
    uint8_t vp = mbt_px_clip_int(mbt_px_round_pos((float)v * (1.0 - fs)));
    uint8_t vq = mbt_px_clip_int(mbt_px_round_pos((float)v * (1.0 - fs * f)));
    uint8_t vt = mbt_px_clip_int(mbt_px_round_pos((float)v * (1.0 - fs * (1.0 - f))));
    switch (sector % 6) {
    case 0: p[0] = v, p[1] = vt, p[2] = vp; break;
    case 1: p[0] = vq, p[1] = v, p[2] = vp; break;
    case 2: p[0] = vp, p[1] = v, p[2] = vt; break;
    case 3: p[0] = vp, p[1] = vq, p[2] = v; break;
    case 4: p[0] = vt, p[1] = vp, p[2] = v; break;
    default: p[0] = v, p[1] = vp, p[2] = vq; break;
    }
}

/* torchvision adjust_hue's shift: numpy's uint8(hue * 255), truncation toward zero then modulo 256. */
static inline MBT_HD uint8_t mbt_px_hue_shift(float hue) { return (uint8_t)(int)(hue * 255.0); }

/* One pixel's hue rotation by `shift` through PIL's HSV, in place. */
static inline MBT_HD void mbt_px_hue(uint8_t *p, uint8_t shift) {
    uint8_t h, s, v;
    mbt_px_to_hsv(p, &h, &s, &v);
    mbt_px_from_hsv((uint8_t)(h + shift), s, v, p);
}

/* ToTensor + Normalize of one 8-bit value. */
static inline MBT_HD float mbt_px_normalize(uint8_t v, float mean, float std) {
    return ((float)v / 255.0f - mean) / std;
}

#endif
