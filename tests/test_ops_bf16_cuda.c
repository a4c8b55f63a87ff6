/* The bf16-activation ops of the CUDA backend against the same ops in fp32 on the GPU, on inputs that
 * are exactly representable in bf16 (so both start from the same values):
 *   - element-wise (add, add+ReLU, ReLU backward), max pooling and the average pool: the fp32 result
 *     rounded to bf16 (nearest even, as mbt_f32_to_bf16), bit for bit, since the bf16 kernels compute
 *     the same float expression and round once;
 *   - batch norm (training forward, backward, evaluation; with and without the fused ReLU): batch
 *     statistics, running statistics, dgamma and dbeta within 1e-6 of fp32 (the same double sums of
 *     the same values), y and dx within half a bf16 unit in the last place of the fp32 result (2^-8
 *     relative: what rounding to nearest allows, where truncation would err by up to 2^-7) plus 1e-6
 *     of the tensor's scale;
 *   - convolutions (3x3, strided, 1x1 downsample, the fp32 NCHW network input) with exact fp32 as the
 *     reference (MIXBT_NO_TF32=1): max |bf16 - fp32| within 1e-2 of the tensor's largest value for y,
 *     dx and the accumulated dw (bf16 rounds each output by up to 2^-8 relative; cuDNN's bf16
 *     algorithms accumulate in fp32 in their own order).
 * Skipped (exit 77) without a CUDA build or a GPU; the CPU's refusal of bf16 is test_precision's. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "io/state_dict.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/eltwise.h"
#include "ops/pool.h"
#ifdef MIXBT_HAVE_CUDA
#include <float.h>

#include "core/cuda.h"
#include "ops/backend_cuda.h" /* the backend's bf16 conversions */
#endif

#ifdef MIXBT_HAVE_CUDA

#define TOL_CONV 1e-2

static mbt_rng rng;

static float bf16_round(float v) { return mbt_bf16_to_f32(mbt_f32_to_bf16(v)); }

/* n random values in [-scale, scale) (plus shift), each exactly a bf16. */
static float *rand_bf16(size_t n, double scale, double shift) {
    float *a = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = bf16_round((float)(shift + scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0)));
    return a;
}

static void *dev_alloc(size_t bytes) {
    void *d = NULL;
    CHECK_OK(mbt_cuda_alloc("test", &d, bytes));
    return d;
}

static float *dev_f32(const float *h, size_t n) {
    float *d = dev_alloc(n * sizeof(float));
    if (d) CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    return d;
}

/* A device bf16 array of the host floats (rounded; exact for rand_bf16 values). */
static void *dev_bf16(const float *h, size_t n) {
    uint16_t *b = malloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++) b[i] = mbt_f32_to_bf16(h[i]);
    void *d = dev_alloc(n * sizeof(uint16_t));
    if (d) CHECK_OK(mbt_cuda_to_device(d, b, n * sizeof(uint16_t)));
    free(b);
    return d;
}

/* A device array of n copies of v: bf16 when bf16, else fp32. */
static void *dev_fill(size_t n, float v, int bf16) {
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = v;
    void *d = bf16 ? dev_bf16(h, n) : (void *)dev_f32(h, n);
    free(h);
    return d;
}

static float *get_f32(const float *d, size_t n) {
    float *h = calloc(n, sizeof(float));
    CHECK_OK(mbt_cuda_synchronize("test"));
    CHECK_OK(mbt_cuda_to_host(h, d, n * sizeof(float)));
    return h;
}

static float *get_bf16(const void *d, size_t n) {
    uint16_t *b = calloc(n, sizeof(uint16_t));
    float *h = malloc(n * sizeof(float));
    CHECK_OK(mbt_cuda_synchronize("test"));
    CHECK_OK(mbt_cuda_to_host(b, d, n * sizeof(uint16_t)));
    for (size_t i = 0; i < n; i++) h[i] = mbt_bf16_to_f32(b[i]);
    free(b);
    return h;
}

/* The bf16 result (device) equals the fp32 one (host) rounded to bf16, bit for bit. */
static void expect_rounded(const char *what, const void *got_dev, const float *ref, size_t n) {
    float *got = get_bf16(got_dev, n);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &(float){bf16_round(ref[i])}, sizeof(float)) && !bad++) first = i;
    CHECK_MSG(bad == 0, "%s: %zu of %zu values are not the fp32 result rounded (first [%zu]: %.9g, fp32 %.9g)", what,
              bad, n, first, bad ? got[first] : 0.0, bad ? ref[first] : 0.0);
    free(got);
}

/* |got - ref| <= ulps * 2^-7 |ref| + 1e-6 max|ref| for every value (got bf16 on the device when bf16);
 * one bf16 ulp is 2^-7 of the value's binade. */
static void expect_near(const char *what, const void *got_dev, int bf16, const float *ref, size_t n, double ulps) {
    float *got = bf16 ? get_bf16(got_dev, n) : get_f32(got_dev, n);
    double scale = 0, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double v = fabs((double)got[i] - ref[i]) / (ulps * 0x1p-7 * fabs(ref[i]) + 1e-6 * scale);
        if (!(v <= worst)) worst = isnan(v) ? INFINITY : v, at = i;
    }
    CHECK_MSG(worst <= 1.0, "%s: [%zu] = %.9g against fp32 %.9g (%.3g times the bound)", what, at, got[at], ref[at],
              worst);
    free(got);
}

/* max |got - ref| within tol of the largest |ref| (got bf16 on the device). */
static void expect_close_scaled(const char *what, const void *got_dev, int bf16, const float *ref, size_t n,
                                double tol) {
    float *got = bf16 ? get_bf16(got_dev, n) : get_f32(got_dev, n);
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs((double)got[i] - ref[i]));
    if (isnan(err)) err = INFINITY;
    CHECK_MSG(err <= tol * (scale > 0 ? scale : 1), "%s: max error %.3g (scale %.3g, tolerance %g)", what, err, scale,
              tol);
    printf("  %s: max error / scale %.3g\n", what, scale > 0 ? err / scale : err);
    free(got);
}

/* The backend's conversions: fp32 -> bf16 as the host's nearest-even rounding, bit for bit; y += bf16 x. */
static void test_convert(void) {
    enum { N = 4096 };
    float *x = malloc(N * sizeof(float)), *acc = malloc(N * sizeof(float));
    const float special[] = {0.0f, -0.0f, 1.0f, -1.5f, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, FLT_MIN,
                             1e-40f /* subnormal */, -3e-39f, 65504.0f, 3.0e38f};
    const size_t n_special = sizeof special / sizeof *special;
    for (size_t i = 0; i < N; i++) {
        if (i < n_special) x[i] = special[i];
        else if (i % 3 == 0) { /* an exact tie: a bf16 value plus half its ulp (low 16 bits 0x8000) */
            uint32_t bits = (uint32_t)mbt_f32_to_bf16((float)(mbt_rng_uniform_double(&rng) * 8.0 - 4.0)) << 16;
            bits |= 0x8000u;
            memcpy(&x[i], &bits, sizeof bits);
        } else {
            x[i] = (float)((mbt_rng_uniform_double(&rng) * 2.0 - 1.0) * pow(2.0, (double)(int)(i % 40) - 20));
        }
        acc[i] = (float)(mbt_rng_uniform_double(&rng) - 0.5);
    }
    float *xd = dev_f32(x, N), *accd = dev_f32(acc, N);
    void *bd = dev_fill(N, 7.0f, 1);
    CHECK_OK(mbt_bf16_from_f32_cuda(N, xd, bd));
    uint16_t *got = calloc(N, sizeof(uint16_t));
    CHECK_OK(mbt_cuda_synchronize("test"));
    CHECK_OK(mbt_cuda_to_host(got, bd, N * sizeof(uint16_t)));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < N; i++)
        if (got[i] != mbt_f32_to_bf16(x[i]) && !bad++) first = i;
    CHECK_MSG(bad == 0, "bf16 from fp32: %zu of %d differ from nearest-even rounding (first: %.9g -> 0x%04x, expected 0x%04x)",
              bad, N, bad ? x[first] : 0.0, bad ? got[first] : 0, bad ? mbt_f32_to_bf16(x[first]) : 0);
    /* acc += the bf16 values (finite ones only: the specials include infinities) */
    CHECK_OK(mbt_bf16_accumulate_cuda(N - n_special, (const uint16_t *)bd + n_special, accd + n_special));
    float *sum = get_f32(accd, N);
    bad = 0;
    for (size_t i = n_special; i < N; i++)
        if (sum[i] != acc[i] + mbt_bf16_to_f32(got[i]) && !bad++) first = i;
    CHECK_MSG(bad == 0, "bf16 accumulate: %zu of %zu sums differ (first [%zu]: %.9g)", bad, N - n_special, first,
              bad ? sum[first] : 0.0);
    free(x), free(acc), free(got), free(sum);
    mbt_cuda_free(xd), mbt_cuda_free(accd), mbt_cuda_free(bd);
}

static void test_eltwise(void) {
    size_t n = 3001;
    float *a = rand_bf16(n, 2, 0), *b = rand_bf16(n, 2, 0), *ref = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i += 7) a[i] = 0.0f; /* ReLU's boundary */
    void *ad = dev_bf16(a, n), *bd = dev_bf16(b, n), *yd = dev_fill(n, 7.0f, 1);
    CHECK_OK(mbt_add_bf16(MBT_DEVICE_CUDA, n, ad, bd, yd));
    for (size_t i = 0; i < n; i++) ref[i] = a[i] + b[i];
    expect_rounded("add (bf16)", yd, ref, n);
    CHECK_OK(mbt_add_relu_forward_bf16(MBT_DEVICE_CUDA, n, ad, bd, yd));
    for (size_t i = 0; i < n; i++) ref[i] = a[i] + b[i] > 0.0f ? a[i] + b[i] : 0.0f;
    expect_rounded("add_relu (bf16)", yd, ref, n);
    CHECK_OK(mbt_relu_backward_bf16(MBT_DEVICE_CUDA, n, ad, bd, yd)); /* y = a, dy = b */
    for (size_t i = 0; i < n; i++) ref[i] = a[i] > 0.0f ? b[i] : 0.0f;
    expect_rounded("relu backward (bf16)", yd, ref, n);
    CHECK_OK(mbt_add_bf16(MBT_DEVICE_CUDA, n, ad, bd, ad)); /* in place */
    for (size_t i = 0; i < n; i++) ref[i] = a[i] + b[i];
    expect_rounded("add (bf16) in place", ad, ref, n);
    mbt_cuda_free(ad), mbt_cuda_free(bd), mbt_cuda_free(yd);
    free(a), free(b), free(ref);
}

static void test_pool(void) {
    mbt_pool_shape s = {2, 5, 9, 9, 3, 2, 1};
    int ho = mbt_pool_h_out(&s);
    size_t nx = (size_t)2 * 5 * 9 * 9, ny = (size_t)2 * 5 * ho * ho;
    float *x = rand_bf16(nx, 1, 0), *dy = rand_bf16(ny, 1, 0);
    for (size_t i = 0; i < nx; i += 5) x[i] = 1.0f; /* ties at the maximum (the values are below 1) */
    mbt_maxpool *p32 = NULL, *p16 = NULL;
    if (CHECK_OK(mbt_maxpool_create(&p32, MBT_DEVICE_CUDA, &s, MBT_POOL_TRAINING)) &&
        CHECK_OK(mbt_maxpool_create(&p16, MBT_DEVICE_CUDA, &s, MBT_POOL_TRAINING | MBT_POOL_BF16))) {
        void *w32 = dev_alloc(mbt_maxpool_workspace_bytes(p32)), *w16 = dev_alloc(mbt_maxpool_workspace_bytes(p16));
        float *x32 = dev_f32(x, nx), *dy32 = dev_f32(dy, ny), *y32 = dev_fill(ny, 7, 0), *dx32 = dev_fill(nx, 7, 0);
        void *x16 = dev_bf16(x, nx), *dy16 = dev_bf16(dy, ny), *y16 = dev_fill(ny, 7, 1), *dx16 = dev_fill(nx, 7, 1);
        CHECK_OK(mbt_maxpool_forward(p32, x32, y32, w32));
        CHECK_OK(mbt_maxpool_backward(p32, w32, dy32, dx32));
        CHECK_OK(mbt_maxpool_forward(p16, x16, y16, w16));
        CHECK_OK(mbt_maxpool_backward(p16, w16, dy16, dx16));
        float *y = get_f32(y32, ny), *dx = get_f32(dx32, nx);
        expect_rounded("maxpool forward (bf16)", y16, y, ny);
        expect_rounded("maxpool backward (bf16)", dx16, dx, nx);
        free(y), free(dx);
        mbt_cuda_free(w32), mbt_cuda_free(w16), mbt_cuda_free(x32), mbt_cuda_free(dy32), mbt_cuda_free(y32);
        mbt_cuda_free(dx32), mbt_cuda_free(x16), mbt_cuda_free(dy16), mbt_cuda_free(y16), mbt_cuda_free(dx16);
    }
    mbt_maxpool_destroy(p32);
    mbt_maxpool_destroy(p16);
    free(x), free(dy);

    int n = 3, c = 32, hw = 16;
    size_t na = (size_t)n * c * hw, nf = (size_t)n * c;
    float *xa = rand_bf16(na, 1, 0.5), *df = rand_bf16(nf, 1, 0);
    float *xa32 = dev_f32(xa, na), *f32 = dev_fill(nf, 7, 0), *f16 = dev_fill(nf, 7, 0), *df32 = dev_f32(df, nf);
    float *dxa32 = dev_fill(na, 7, 0);
    void *xa16 = dev_bf16(xa, na), *dxa16 = dev_fill(na, 7, 1);
    CHECK_OK(mbt_avgpool_forward(MBT_DEVICE_CUDA, n, c, hw, xa32, f32));
    CHECK_OK(mbt_avgpool_forward_bf16(MBT_DEVICE_CUDA, n, c, hw, xa16, f16));
    CHECK_OK(mbt_avgpool_backward(MBT_DEVICE_CUDA, n, c, hw, df32, dxa32));
    CHECK_OK(mbt_avgpool_backward_bf16(MBT_DEVICE_CUDA, n, c, hw, df32, dxa16));
    float *fa = get_f32(f32, nf), *fb = get_f32(f16, nf), *dxa = get_f32(dxa32, na);
    CHECK_MSG(!memcmp(fa, fb, nf * sizeof(float)), "avgpool forward (bf16): features differ from fp32's");
    expect_rounded("avgpool backward (bf16)", dxa16, dxa, na);
    free(fa), free(fb), free(dxa), free(xa), free(df);
    mbt_cuda_free(xa32), mbt_cuda_free(f32), mbt_cuda_free(f16), mbt_cuda_free(df32), mbt_cuda_free(dxa32);
    mbt_cuda_free(xa16), mbt_cuda_free(dxa16);
}

static void test_bn(int n, int c, int hw, int relu) {
    mbt_batchnorm_shape s = {n, c, hw, 1e-5f, 0.1f};
    size_t nx = (size_t)n * c * hw;
    float *x = rand_bf16(nx, 2, 0.7), *dy = rand_bf16(nx, 1, 0), *gamma = rand_bf16(c, 1.5, 0);
    float *beta = rand_bf16(c, 1, 0), *rm = rand_bf16(c, 0.5, 0), *rv = rand_bf16(c, 0.5, 1.0);
    char what[96], w2[160];
    snprintf(what, sizeof what, "batchnorm (bf16) n%d c%d hw%d%s", n, c, hw, relu ? " relu" : "");
    int flags = relu ? MBT_BN_FUSE_RELU : 0;
    mbt_batchnorm *b32 = NULL, *b16 = NULL;
    if (CHECK_OK(mbt_batchnorm_create(&b32, MBT_DEVICE_CUDA, &s, flags)) &&
        CHECK_OK(mbt_batchnorm_create(&b16, MBT_DEVICE_CUDA, &s, flags | MBT_BN_BF16))) {
        float *gd = dev_f32(gamma, c), *bd = dev_f32(beta, c);
        float *rm32 = dev_f32(rm, c), *rv32 = dev_f32(rv, c), *rm16 = dev_f32(rm, c), *rv16 = dev_f32(rv, c);
        float *sm32 = dev_fill(c, 7, 0), *sv32 = dev_fill(c, 7, 0), *sm16 = dev_fill(c, 7, 0), *sv16 = dev_fill(c, 7, 0);
        float *dg32 = dev_fill(c, 0.25f, 0), *db32 = dev_fill(c, 0.25f, 0), *dg16 = dev_fill(c, 0.25f, 0),
              *db16 = dev_fill(c, 0.25f, 0);
        float *x32 = dev_f32(x, nx), *dy32 = dev_f32(dy, nx), *y32 = dev_fill(nx, 7, 0), *dx32 = dev_fill(nx, 7, 0),
              *ye32 = dev_fill(nx, 7, 0);
        void *x16 = dev_bf16(x, nx), *dy16 = dev_bf16(dy, nx), *y16 = dev_fill(nx, 7, 1), *dx16 = dev_fill(nx, 7, 1),
             *ye16 = dev_fill(nx, 7, 1);
        void *ws32 = dev_alloc(mbt_batchnorm_workspace_bytes(b32) + 1), *ws16 = dev_alloc(mbt_batchnorm_workspace_bytes(b16) + 1);
        CHECK_OK(mbt_batchnorm_forward_train(b32, x32, gd, bd, y32, sm32, sv32, ws32, rm32, rv32));
        CHECK_OK(mbt_batchnorm_forward_train(b16, (const float *)x16, gd, bd, y16, sm16, sv16, ws16, rm16, rv16));
        CHECK_OK(mbt_batchnorm_backward(b32, x32, gd, bd, sm32, sv32, ws32, dy32, dx32, dg32, db32));
        CHECK_OK(mbt_batchnorm_backward(b16, x16, gd, bd, sm16, sv16, ws16, dy16, dx16, dg16, db16));
        CHECK_OK(mbt_batchnorm_forward_eval(b32, x32, gd, bd, rm32, rv32, ye32));
        CHECK_OK(mbt_batchnorm_forward_eval(b16, x16, gd, bd, rm16, rv16, ye16));
        struct { const char *name; float *a32, *a16; size_t count; } f32s[] = {
            {"save_mean", sm32, sm16, c}, {"save_var", sv32, sv16, c}, {"running_mean", rm32, rm16, c},
            {"running_var", rv32, rv16, c}, {"dgamma", dg32, dg16, c},    {"dbeta", db32, db16, c}};
        for (size_t k = 0; k < sizeof f32s / sizeof *f32s; k++) {
            float *ref = get_f32(f32s[k].a32, f32s[k].count);
            snprintf(w2, sizeof w2, "%s %s", what, f32s[k].name);
            expect_near(w2, f32s[k].a16, 0, ref, f32s[k].count, 1e-4); /* 1e-4 ulps of bf16: about 1e-6 */
            free(ref);
        }
        struct { const char *name; float *a32; void *a16; } acts[] = {{"train y", y32, y16}, {"dx", dx32, dx16},
                                                                     {"eval y", ye32, ye16}};
        for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
            float *ref = get_f32(acts[k].a32, nx);
            snprintf(w2, sizeof w2, "%s %s", what, acts[k].name);
            expect_near(w2, acts[k].a16, 1, ref, nx, 0.5);
            free(ref);
        }
        mbt_cuda_free(gd), mbt_cuda_free(bd), mbt_cuda_free(rm32), mbt_cuda_free(rv32), mbt_cuda_free(rm16);
        mbt_cuda_free(rv16), mbt_cuda_free(sm32), mbt_cuda_free(sv32), mbt_cuda_free(sm16), mbt_cuda_free(sv16);
        mbt_cuda_free(dg32), mbt_cuda_free(db32), mbt_cuda_free(dg16), mbt_cuda_free(db16), mbt_cuda_free(x32);
        mbt_cuda_free(dy32), mbt_cuda_free(y32), mbt_cuda_free(dx32), mbt_cuda_free(ye32), mbt_cuda_free(x16);
        mbt_cuda_free(dy16), mbt_cuda_free(y16), mbt_cuda_free(dx16), mbt_cuda_free(ye16), mbt_cuda_free(ws32);
        mbt_cuda_free(ws16);
    }
    mbt_batchnorm_destroy(b32);
    mbt_batchnorm_destroy(b16);
    free(x), free(dy), free(gamma), free(beta), free(rm), free(rv);
}

/* conv of shape (n, cin, h, cout, k, stride, pad) in bf16 against fp32; nchw: the fp32 network input. */
static void test_conv(int n, int cin, int h, int cout, int k, int stride, int pad, int nchw) {
    mbt_conv2d_shape s = {n, cin, h, h, cout, k, stride, pad};
    int ho = mbt_conv2d_h_out(&s);
    size_t nx = (size_t)n * cin * h * h, nw = (size_t)cout * cin * k * k, ny = (size_t)n * cout * ho * ho;
    float *x = rand_bf16(nx, 1, 0), *w = rand_bf16(nw, 0.3, 0), *dy = rand_bf16(ny, 1, 0);
    char what[96], w2[160];
    snprintf(what, sizeof what, "conv2d (bf16) n%d %dx%dx%d -> %d k%d s%d p%d%s", n, cin, h, h, cout, k, stride, pad,
             nchw ? " nchw" : "");
    int flags = nchw ? MBT_CONV_INPUT_NCHW : 0;
    mbt_conv2d *c32 = NULL, *c16 = NULL;
    if (CHECK_OK(mbt_conv2d_create(&c32, MBT_DEVICE_CUDA, &s, flags)) &&
        CHECK_OK(mbt_conv2d_create(&c16, MBT_DEVICE_CUDA, &s, flags | MBT_CONV_BF16))) {
        float *x32 = dev_f32(x, nx), *w32 = dev_f32(w, nw), *dy32 = dev_f32(dy, ny), *y32 = dev_fill(ny, 7, 0);
        float *dx32 = dev_fill(nx, 7, 0), *dw32 = dev_fill(nw, 1, 0), *dw16 = dev_fill(nw, 1, 0);
        void *x16 = nchw ? (void *)dev_f32(x, nx) : dev_bf16(x, nx); /* the network input stays fp32 */
        void *dy16 = dev_bf16(dy, ny), *y16 = dev_fill(ny, 7, 1), *dx16 = dev_fill(nx, 7, 1);
        CHECK_OK(mbt_conv2d_set_weights(c32, w32));
        CHECK_OK(mbt_conv2d_set_weights(c16, w32)); /* fp32 weights, rounded by the op */
        CHECK_OK(mbt_conv2d_forward(c32, x32, y32));
        CHECK_OK(mbt_conv2d_forward(c16, x16, y16));
        CHECK_OK(mbt_conv2d_backward(c32, x32, dy32, nchw ? NULL : dx32, dw32));
        CHECK_OK(mbt_conv2d_backward(c16, x16, dy16, nchw ? NULL : dx16, dw16));
        float *y = get_f32(y32, ny), *dx = get_f32(dx32, nx), *dw = get_f32(dw32, nw);
        snprintf(w2, sizeof w2, "%s forward", what);
        expect_close_scaled(w2, y16, 1, y, ny, TOL_CONV);
        snprintf(w2, sizeof w2, "%s dw (accumulated in fp32)", what);
        expect_close_scaled(w2, dw16, 0, dw, nw, TOL_CONV);
        if (!nchw) {
            snprintf(w2, sizeof w2, "%s dx", what);
            expect_close_scaled(w2, dx16, 1, dx, nx, TOL_CONV);
        }
        free(y), free(dx), free(dw);
        mbt_cuda_free(x32), mbt_cuda_free(w32), mbt_cuda_free(dy32), mbt_cuda_free(y32), mbt_cuda_free(dx32);
        mbt_cuda_free(dw32), mbt_cuda_free(dw16), mbt_cuda_free(x16), mbt_cuda_free(dy16), mbt_cuda_free(y16);
        mbt_cuda_free(dx16);
    }
    mbt_conv2d_destroy(c32);
    mbt_conv2d_destroy(c16);
    free(x), free(w), free(dy);
}

int main(void) {
    setenv("MIXBT_NO_TF32", "1", 1); /* the fp32 reference convolutions exact (before the context exists) */
    int skip = check_cuda_or_skip("test_ops_bf16_cuda");
    if (skip) return skip;
    mbt_rng_init(&rng, 11, 0);
    test_convert();
    test_eltwise();
    test_pool();
    for (int relu = 0; relu < 2; relu++) {
        test_bn(4, 32, 35, relu);
        test_bn(7, 3, 3000, relu); /* several slices of samples per channel */
    }
    test_conv(4, 3, 16, 16, 3, 1, 1, 1);  /* the CIFAR stem on the fp32 input */
    test_conv(4, 16, 8, 32, 3, 1, 1, 0);
    test_conv(4, 32, 9, 16, 3, 2, 1, 0);  /* stride 2, odd size */
    test_conv(4, 16, 8, 32, 1, 2, 0, 0);  /* downsample 1x1/2 */
    test_conv(2, 3, 16, 16, 7, 2, 3, 1);  /* the ImageNet stem */
    return check_report("test_ops_bf16_cuda");
}

#else

int main(void) { return check_cuda_or_skip("test_ops_bf16_cuda"); }

#endif
