/* PIL-compatible separable resampling of 8-bit RGB images (see resample.h for the contract). */
#include "data/resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/pixel_ops.h"

static double filter_support(mbt_filter f) { return f == MBT_FILTER_BICUBIC ? 2.0 : 1.0; }

static double filter_eval(mbt_filter f, double x) {
    if (x < 0.0) x = -x;
    if (f == MBT_FILTER_BILINEAR) return x < 1.0 ? 1.0 - x : 0.0;
    const double a = -0.5; /* bicubic convolution kernel */
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static int grow(void **p, size_t *cap, size_t count, size_t elem) {
    if (count <= *cap) return 1;
    void *q = realloc(*p, count * elem);
    if (!q) return 0;
    *p = q;
    *cap = count;
    return 1;
}

int mbt_resample_ksize(int in_size, int out_size, mbt_filter f) {
    double scale = (double)in_size / out_size;
    double fscale = scale < 1.0 ? 1.0 : scale;
    return (int)ceil(filter_support(f) * fscale) * 2 + 1;
}

void mbt_resample_coeffs(int in_size, int out_size, mbt_filter f, int ksize, double *pre, int32_t *kk,
                         int32_t *bounds) {
    double scale = (double)in_size / out_size;
    double fscale = scale < 1.0 ? 1.0 : scale;
    double support = filter_support(f) * fscale;
    double ss = 1.0 / fscale;
    for (int o = 0; o < out_size; o++) {
        double center = (o + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = (int)(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        int count = hi - lo;
        double sum = 0.0;
        for (int t = 0; t < count; t++) {
            double w = filter_eval(f, (t + lo - center + 0.5) * ss);
            pre[t] = w;
            sum += w;
        }
        int32_t *k = kk + (size_t)o * ksize;
        for (int t = 0; t < ksize; t++) {
            double w = 0.0;
            if (t < count) w = sum != 0.0 ? pre[t] / sum : pre[t];
            double q = w * (1 << MBT_RESAMPLE_PRECISION_BITS);
            k[t] = (int32_t)(w < 0 ? q - 0.5 : q + 0.5);
        }
        bounds[2 * o] = lo;
        bounds[2 * o + 1] = count;
    }
}

/* mbt_resample_coeffs into the scratch buffers *kp and *bp (grown as needed). */
static mbt_status make_coeffs(mbt_resample_scratch *s, int in_size, int out_size, mbt_filter f, int32_t **kp,
                              size_t *kcap, int32_t **bp, size_t *bcap, int *ksize_out) {
    int ksize = mbt_resample_ksize(in_size, out_size, f);
    size_t n = (size_t)out_size * (size_t)ksize;
    if (!grow((void **)&s->pre, &s->cap_pre, (size_t)ksize, sizeof(double)) ||
        !grow((void **)kp, kcap, n, sizeof(int32_t)) || !grow((void **)bp, bcap, (size_t)out_size * 2, sizeof(int32_t)))
        return MBT_FAIL(MBT_ERR_NOMEM, "resample: cannot allocate coefficients for %d -> %d", in_size, out_size);
    mbt_resample_coeffs(in_size, out_size, f, ksize, s->pre, *kp, *bp);
    *ksize_out = ksize;
    return MBT_OK;
}

/* Horizontal pass: rows of `in` (row stride in_stride bytes, starting at its first region pixel) to
 * out (out_w x rows, packed). */
static void pass_h(const uint8_t *in, size_t in_stride, int rows, uint8_t *out, int out_w, const int32_t *kk,
                   const int32_t *bounds, int ksize) {
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = in + (size_t)r * in_stride;
        uint8_t *o = out + (size_t)r * out_w * 3;
        for (int xx = 0; xx < out_w; xx++) {
            const int32_t *k = kk + (size_t)xx * ksize;
            const uint8_t *p = row + (size_t)bounds[2 * xx] * 3;
            int n = bounds[2 * xx + 1];
            mbt_px_resample_rgb(p, n, k, o + 3 * xx);
        }
    }
}

/* Vertical pass: `in` rows (stride in_stride, width w pixels) to out (w x out_h, packed). */
static void pass_v(const uint8_t *in, size_t in_stride, int w, uint8_t *out, int out_h, const int32_t *kk,
                   const int32_t *bounds, int ksize) {
    for (int yy = 0; yy < out_h; yy++) {
        const int32_t *k = kk + (size_t)yy * ksize;
        const uint8_t *base = in + (size_t)bounds[2 * yy] * in_stride;
        int n = bounds[2 * yy + 1];
        uint8_t *o = out + (size_t)yy * w * 3;
        for (int c = 0; c < w * 3; c++) o[c] = mbt_px_resample_tap(base + c, in_stride, n, k);
    }
}

mbt_status mbt_resample(const mbt_image *src, int x, int y, int w, int h, mbt_image *dst, int out_w, int out_h,
                        mbt_filter filter, mbt_resample_scratch *s) {
    if (filter != MBT_FILTER_BILINEAR && filter != MBT_FILTER_BICUBIC)
        return MBT_FAIL(MBT_ERR_ARG, "resample: unknown filter %d", (int)filter);
    if (w < 1 || h < 1 || x < 0 || y < 0 || x + w > src->width || y + h > src->height)
        return MBT_FAIL(MBT_ERR_ARG, "resample: region %dx%d at (%d, %d) is outside the %dx%d image", w, h, x, y,
                        src->width, src->height);
    MBT_TRY(mbt_image_reserve(dst, out_w, out_h));
    size_t stride = (size_t)src->width * 3;
    const uint8_t *region = src->data + (size_t)y * stride + (size_t)x * 3;
    int need_h = out_w != w, need_v = out_h != h;
    if (!need_h && !need_v) {
        for (int r = 0; r < h; r++) memcpy(dst->data + (size_t)r * w * 3, region + (size_t)r * stride, (size_t)w * 3);
        return MBT_OK;
    }
    int kx_size = 0, ky_size = 0;
    if (need_h) MBT_TRY(make_coeffs(s, w, out_w, filter, &s->kx, &s->cap_kx, &s->bx, &s->cap_bx, &kx_size));
    if (need_v) MBT_TRY(make_coeffs(s, h, out_h, filter, &s->ky, &s->cap_ky, &s->by, &s->cap_by, &ky_size));
    if (!need_v) {
        pass_h(region, stride, h, dst->data, out_w, s->kx, s->bx, kx_size);
        return MBT_OK;
    }
    if (!need_h) {
        pass_v(region, stride, w, dst->data, out_h, s->ky, s->by, ky_size);
        return MBT_OK;
    }
    /* only the rows the vertical pass reads go through the horizontal pass */
    int first = s->by[0], last = s->by[2 * (out_h - 1)] + s->by[2 * (out_h - 1) + 1];
    MBT_TRY(mbt_image_reserve(&s->tmp, out_w, last - first));
    pass_h(region + (size_t)first * stride, stride, last - first, s->tmp.data, out_w, s->kx, s->bx, kx_size);
    for (int o = 0; o < out_h; o++) s->by[2 * o] -= first;
    pass_v(s->tmp.data, (size_t)out_w * 3, out_w, dst->data, out_h, s->ky, s->by, ky_size);
    return MBT_OK;
}

void mbt_resample_scratch_free(mbt_resample_scratch *s) {
    free(s->pre);
    free(s->kx);
    free(s->ky);
    free(s->bx);
    free(s->by);
    mbt_image_free(&s->tmp);
    memset(s, 0, sizeof *s);
}
