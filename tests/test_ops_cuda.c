/* The CUDA backend's image ops on the GPU against the double-precision reference ops (src/ops/ref.h),
 * on the shapes of test_ops_cpu: convolution (strides, paddings, 1x1/3x3/7x7, NCHW input, odd
 * channel counts, the algorithm table), batch norm (1d/2d, fused ReLU, train/eval/backward, running
 * statistics), max (incl. ties) and average pooling, layout copies and CUDA plans. Inputs are random
 * and copied to the device; results are copied back. Outputs that must be overwritten start as 7,
 * gradients that must accumulate start as 1 (conv dw) or 0.25 (dgamma, dbeta).
 *
 * Precision: exact fp32 by default (the test sets MIXBT_NO_TF32=1 before the CUDA context exists);
 * MIXBT_TEST_TF32=1 runs the convolutions with TF32 tensor cores instead. Errors are measured as
 * max |got - ref| over the tensor's largest |ref|:
 *   TOL      2e-5  batch norm, pooling (own kernels, fp32 either way)
 *   TOL_CONV 1e-4  convolutions in fp32 (cuDNN may pick FFT or Winograd algorithms, which round
 *                  more than a direct sum)
 *   TOL_TF32 5e-3  convolutions with TF32 (10-bit mantissa inputs: 2^-11 relative per product)
 *
 * Without a GPU (or in a build without CUDA) it checks that CUDA use fails with a clear message, then
 * exits 77 (skipped). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/plan.h"
#include "core/rng.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/layout.h"
#include "ops/pool.h"
#include "ops/ref.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

#define TOL 2e-5
#define TOL_CONV 1e-4
#define TOL_TF32 5e-3

/* Creating a CUDA convolution fails with `status` and a message containing `text`. */
static void expect_cuda_refused(mbt_status status, const char *text) {
    mbt_conv2d *op = (mbt_conv2d *)1;
    mbt_conv2d_shape s = {2, 16, 8, 8, 16, 3, 1, 1};
    CHECK(mbt_conv2d_create(&op, MBT_DEVICE_CUDA, &s, 0) == status && op == NULL);
    CHECK_MSG(strstr(mbt_error_message(), text) != NULL, "message \"%s\" lacks \"%s\"", mbt_error_message(), text);
}

#ifdef MIXBT_HAVE_CUDA

static mbt_rng rng;
static double conv_tol = TOL_CONV;

static double *rand_d(size_t n, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0);
    return a;
}

/* A device copy of a (rounded to float). */
static float *dev_from(const double *a, size_t n) {
    float *h = malloc(n * sizeof(float)), *d = NULL;
    for (size_t i = 0; i < n; i++) h[i] = (float)a[i];
    if (CHECK_OK(mbt_cuda_alloc("test", (void **)&d, n * sizeof(float))))
        CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    free(h);
    return d;
}

/* A device buffer of n copies of v. */
static float *dev_fill(size_t n, float v) {
    float *h = malloc(n * sizeof(float)), *d = NULL;
    for (size_t i = 0; i < n; i++) h[i] = v;
    if (CHECK_OK(mbt_cuda_alloc("test", (void **)&d, n * sizeof(float))))
        CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    free(h);
    return d;
}

/* A host copy of n floats of device memory (after the stream's work). */
static float *host_from(const float *d, size_t n) {
    float *h = calloc(n, sizeof(float));
    CHECK_OK(mbt_cuda_synchronize("test"));
    CHECK_OK(mbt_cuda_to_host(h, d, n * sizeof(float)));
    return h;
}

/* Rounds a to float in place (the reference then starts from the values the GPU gets). */
static void round_f(double *a, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = (float)a[i];
}

static void expect_close(const char *what, const float *dev, const double *ref, size_t n, double tol) {
    float *got = host_from(dev, n);
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(got[i] - ref[i]));
    if (isnan(err)) err = INFINITY;
    CHECK_MSG(err <= tol * (scale > 0 ? scale : 1), "%s: max error %.3g (scale %.3g, tolerance %g)", what, err, scale,
              tol);
    free(got);
}

static void test_conv(int n, int cin, int h, int w, int cout, int k, int stride, int pad, int nchw_input) {
    mbt_conv2d_shape s = {n, cin, h, w, cout, k, stride, pad};
    int ho = mbt_conv2d_h_out(&s), wo = mbt_conv2d_w_out(&s);
    size_t nx = (size_t)n * cin * h * w, nw = (size_t)cout * cin * k * k, ny = (size_t)n * cout * ho * wo;
    double *x = rand_d(nx, 1), *wt = rand_d(nw, 0.3), *dy = rand_d(ny, 1);
    round_f(x, nx), round_f(wt, nw), round_f(dy, ny);
    double *y = calloc(ny, sizeof(double)), *dx = calloc(nx, sizeof(double)), *dw = calloc(nw, sizeof(double));
    mbt_ref_conv2d_forward(&s, x, wt, y);
    for (size_t i = 0; i < nw; i++) dw[i] = 1.0; /* backward accumulates into dw */
    mbt_ref_conv2d_backward(&s, x, wt, dy, nchw_input ? NULL : dx, dw);
    char what[128];
    snprintf(what, sizeof what, "conv2d n%d %dx%dx%d -> %d k%d s%d p%d%s", n, cin, h, w, cout, k, stride, pad,
             nchw_input ? " nchw" : "");
    mbt_conv2d *op = NULL;
    if (CHECK_OK(mbt_conv2d_create(&op, MBT_DEVICE_CUDA, &s, nchw_input ? MBT_CONV_INPUT_NCHW : 0))) {
        float *xd = dev_from(x, nx), *wd = dev_from(wt, nw), *dyd = dev_from(dy, ny);
        float *yd = dev_fill(ny, 7.0f), *dxd = dev_fill(nx, 7.0f), *dwd = dev_fill(nw, 1.0f);
        CHECK_OK(mbt_conv2d_set_weights(op, wd));
        CHECK_OK(mbt_conv2d_forward(op, xd, yd));
        CHECK_OK(mbt_conv2d_backward(op, xd, dyd, nchw_input ? NULL : dxd, dwd));
        char w2[160];
        snprintf(w2, sizeof w2, "%s forward", what);
        expect_close(w2, yd, y, ny, conv_tol);
        snprintf(w2, sizeof w2, "%s dw", what);
        expect_close(w2, dwd, dw, nw, conv_tol);
        if (!nchw_input) {
            snprintf(w2, sizeof w2, "%s dx", what);
            expect_close(w2, dxd, dx, nx, conv_tol);
        }
        mbt_cuda_free(xd), mbt_cuda_free(wd), mbt_cuda_free(dyd), mbt_cuda_free(yd), mbt_cuda_free(dxd);
        mbt_cuda_free(dwd);
    }
    mbt_conv2d_destroy(op);
    free(x), free(wt), free(dy), free(y), free(dx), free(dw);
}

/* A second op of the same shape (its algorithms from the table) computes the same bits; errors. */
static void test_conv_table_and_errors(void) {
    mbt_conv2d_shape s = {2, 16, 9, 9, 32, 3, 1, 1};
    size_t nx = 2 * 16 * 81, nw = 32 * 16 * 9, ny = 2 * 32 * 81;
    double *x = rand_d(nx, 1), *wt = rand_d(nw, 0.3);
    float *xd = dev_from(x, nx), *wd = dev_from(wt, nw), *y1 = dev_fill(ny, 7.0f), *y2 = dev_fill(ny, 7.0f);
    mbt_conv2d *a = NULL, *b = NULL;
    if (CHECK_OK(mbt_conv2d_create(&a, MBT_DEVICE_CUDA, &s, 0)) &&
        CHECK_OK(mbt_conv2d_create(&b, MBT_DEVICE_CUDA, &s, 0))) {
        CHECK_OK(mbt_conv2d_set_weights(a, wd));
        CHECK_OK(mbt_conv2d_set_weights(b, wd));
        CHECK_OK(mbt_conv2d_forward(a, xd, y1));
        CHECK_OK(mbt_conv2d_forward(b, xd, y2));
        float *h1 = host_from(y1, ny), *h2 = host_from(y2, ny);
        CHECK_MSG(memcmp(h1, h2, ny * sizeof(float)) == 0, "conv2d: two ops of one shape differ");
        free(h1), free(h2);
    }
    mbt_conv2d_destroy(a);
    mbt_conv2d_destroy(b);
    mbt_conv2d *inf = NULL, *in = NULL;
    if (CHECK_OK(mbt_conv2d_create(&inf, MBT_DEVICE_CUDA, &s, MBT_CONV_INFERENCE))) {
        CHECK(mbt_conv2d_backward(inf, xd, y1, NULL, wd) == MBT_ERR_ARG);
        CHECK(strstr(mbt_error_message(), "inference") != NULL);
    }
    if (CHECK_OK(mbt_conv2d_create(&in, MBT_DEVICE_CUDA, &s, MBT_CONV_INPUT_NCHW))) {
        CHECK(mbt_conv2d_backward(in, xd, y1, xd, wd) == MBT_ERR_ARG);
        CHECK(strstr(mbt_error_message(), "dx = NULL") != NULL);
    }
    mbt_conv2d_destroy(inf);
    mbt_conv2d_destroy(in);
    mbt_conv2d *bad = NULL;
    mbt_conv2d_shape z = {2, 16, 2, 2, 16, 7, 1, 0}; /* kernel larger than the input */
    CHECK(mbt_conv2d_create(&bad, MBT_DEVICE_CUDA, &z, 0) == MBT_ERR_SHAPE && bad == NULL);
    CHECK(strstr(mbt_error_message(), "kernel=7") != NULL);
    mbt_cuda_free(xd), mbt_cuda_free(wd), mbt_cuda_free(y1), mbt_cuda_free(y2);
    free(x), free(wt);
}

/* Batch norm, as test_ops_cpu's test_bn: channel means away from 0, every third channel with a small
 * variance (and running variance) where eps matters. */
static void test_bn(int n, int c, int hw, int relu) {
    mbt_batchnorm_shape s = {n, c, hw, 1e-5f, 0.1f};
    size_t nx = (size_t)n * c * hw;
    double *x = rand_d(nx, 2), *gamma = rand_d(c, 1.5), *beta = rand_d(c, 1), *dy = rand_d(nx, 1);
    double *rm = rand_d(c, 0.5), *rv = rand_d(c, 0.5);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
            for (int p = 0; p < hw; p++) {
                size_t at = ((size_t)i * c + k) * hw + p;
                x[at] = (k % 3 ? x[at] : 0.01 * x[at]) + 0.3 * (k % 7);
            }
    for (int k = 0; k < c; k++) rv[k] = k % 3 ? rv[k] + 1.0 : 1e-3 * (rv[k] + 1.0);
    round_f(x, nx), round_f(gamma, c), round_f(beta, c), round_f(dy, nx), round_f(rm, c), round_f(rv, c);
    float *xd = dev_from(x, nx), *gd = dev_from(gamma, c), *bd = dev_from(beta, c), *dyd = dev_from(dy, nx);
    float *rmd = dev_from(rm, c), *rvd = dev_from(rv, c);

    double *y = malloc(nx * 8), *mean = malloc(c * 8), *var = malloc(c * 8), *dyb = malloc(nx * 8),
           *dx = malloc(nx * 8), *dg = malloc(c * 8), *db = malloc(c * 8), *ye = malloc(nx * 8);
    mbt_ref_batchnorm_forward_train(&s, x, gamma, beta, y, mean, var, rm, rv);
    if (relu) mbt_ref_relu_forward((long)nx, y, y);
    if (relu) mbt_ref_relu_backward((long)nx, y, dy, dyb);
    else memcpy(dyb, dy, nx * 8);
    for (int k = 0; k < c; k++) dg[k] = db[k] = 0.25;
    mbt_ref_batchnorm_backward(&s, x, gamma, mean, var, dyb, dx, dg, db);
    mbt_ref_batchnorm_forward_eval(&s, x, gamma, beta, rm, rv, ye);
    if (relu) mbt_ref_relu_forward((long)nx, ye, ye);

    char what[96], w2[160];
    snprintf(what, sizeof what, "batchnorm n%d c%d hw%d%s", n, c, hw, relu ? " relu" : "");
#define BN_CHECK(name, got, ref, count) \
    (snprintf(w2, sizeof w2, "%s %s", what, name), expect_close(w2, got, ref, count, TOL))
    mbt_batchnorm *op = NULL, *inf = NULL;
    int flags = relu ? MBT_BN_FUSE_RELU : 0;
    if (CHECK_OK(mbt_batchnorm_create(&op, MBT_DEVICE_CUDA, &s, flags)) &&
        CHECK_OK(mbt_batchnorm_create(&inf, MBT_DEVICE_CUDA, &s, flags | MBT_BN_INFERENCE))) {
        void *ws = NULL;
        CHECK_OK(mbt_cuda_alloc("test", &ws, mbt_batchnorm_workspace_bytes(op)));
        float *yd = dev_fill(nx, 7.0f), *smd = dev_fill(c, 7.0f), *svd = dev_fill(c, 7.0f),
              *dxd = dev_fill(nx, 7.0f), *dgd = dev_fill(c, 0.25f), *dbd = dev_fill(c, 0.25f),
              *yed = dev_fill(nx, 7.0f), *yid = dev_fill(nx, 7.0f);
        CHECK_OK(mbt_batchnorm_forward_train(op, xd, gd, bd, yd, smd, svd, ws, rmd, rvd));
        CHECK_OK(mbt_batchnorm_backward(op, xd, gd, bd, smd, svd, ws, dyd, dxd, dgd, dbd));
        CHECK_OK(mbt_batchnorm_forward_eval(op, xd, gd, bd, rmd, rvd, yed));
        CHECK_OK(mbt_batchnorm_forward_eval(inf, xd, gd, bd, rmd, rvd, yid));
        BN_CHECK("train y", yd, y, nx);
        BN_CHECK("save_mean", smd, mean, c);
        BN_CHECK("save_var", svd, var, c);
        BN_CHECK("running_mean", rmd, rm, c);
        BN_CHECK("running_var", rvd, rv, c);
        BN_CHECK("dx", dxd, dx, nx);
        BN_CHECK("dgamma", dgd, dg, c);
        BN_CHECK("dbeta", dbd, db, c);
        BN_CHECK("eval y (training op)", yed, ye, nx);
        BN_CHECK("eval y (inference op)", yid, ye, nx);
        mbt_cuda_free(ws), mbt_cuda_free(yd), mbt_cuda_free(smd), mbt_cuda_free(svd), mbt_cuda_free(dxd);
        mbt_cuda_free(dgd), mbt_cuda_free(dbd), mbt_cuda_free(yed), mbt_cuda_free(yid);
    }
#undef BN_CHECK
    mbt_batchnorm_destroy(op);
    mbt_batchnorm_destroy(inf);
    mbt_cuda_free(xd), mbt_cuda_free(gd), mbt_cuda_free(bd), mbt_cuda_free(dyd), mbt_cuda_free(rmd);
    mbt_cuda_free(rvd);
    free(x), free(gamma), free(beta), free(dy), free(rm), free(rv), free(y), free(mean), free(var), free(dyb);
    free(dx), free(dg), free(db), free(ye);
}

/* Max pool 3x3/2/1 on odd and even sizes, random values then negative integers -1..-3 (ties go to
 * the first maximum; zero padding would win at the borders); global average pool. */
static void test_pool(void) {
    for (int t = 0; t < 4; t++) {
        int h = 7 + t % 2, ties = t / 2, c = 5; /* any channel count on CUDA */
        mbt_pool_shape s = {2, c, h, h, 3, 2, 1};
        int ho = mbt_pool_h_out(&s);
        size_t nx = (size_t)2 * c * h * h, ny = (size_t)2 * c * ho * ho;
        double *x = rand_d(nx, 1), *dy = rand_d(ny, 1), *y = calloc(ny, 8), *dx = calloc(nx, 8);
        if (ties)
            for (size_t i = 0; i < nx; i++) x[i] = -1.0 - mbt_rng_below(&rng, 3);
        round_f(x, nx), round_f(dy, ny);
        mbt_ref_maxpool_forward(&s, x, y);
        mbt_ref_maxpool_backward(&s, x, dy, dx);
        mbt_maxpool *op = NULL;
        if (CHECK_OK(mbt_maxpool_create(&op, MBT_DEVICE_CUDA, &s, MBT_POOL_TRAINING))) {
            void *ws = NULL;
            CHECK_OK(mbt_cuda_alloc("test", &ws, mbt_maxpool_workspace_bytes(op)));
            float *xd = dev_from(x, nx), *dyd = dev_from(dy, ny), *yd = dev_fill(ny, 7.0f), *dxd = dev_fill(nx, 7.0f);
            CHECK_OK(mbt_maxpool_forward(op, xd, yd, ws));
            CHECK_OK(mbt_maxpool_backward(op, ws, dyd, dxd));
            expect_close(ties ? "maxpool forward (ties)" : "maxpool forward", yd, y, ny, TOL);
            expect_close(ties ? "maxpool backward (ties)" : "maxpool backward", dxd, dx, nx, TOL);
            mbt_cuda_free(ws), mbt_cuda_free(xd), mbt_cuda_free(dyd), mbt_cuda_free(yd), mbt_cuda_free(dxd);
        }
        mbt_maxpool_destroy(op);
        free(x), free(dy), free(y), free(dx);
    }
    int n = 3, c = 32, hw = 16;
    size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
    double *x = rand_d(nx, 1), *dy = rand_d(ny, 1), *y = calloc(ny, 8), *dx = calloc(nx, 8);
    round_f(x, nx), round_f(dy, ny);
    mbt_ref_avgpool_forward(n, c, hw, x, y);
    mbt_ref_avgpool_backward(n, c, hw, dy, dx);
    float *xd = dev_from(x, nx), *dyd = dev_from(dy, ny), *yd = dev_fill(ny, 7.0f), *dxd = dev_fill(nx, 7.0f);
    CHECK_OK(mbt_avgpool_forward(MBT_DEVICE_CUDA, n, c, hw, xd, yd));
    CHECK_OK(mbt_avgpool_backward(MBT_DEVICE_CUDA, n, c, hw, dyd, dxd));
    expect_close("avgpool forward", yd, y, ny, TOL);
    expect_close("avgpool backward", dxd, dx, nx, TOL);
    mbt_cuda_free(xd), mbt_cuda_free(dyd), mbt_cuda_free(yd), mbt_cuda_free(dxd);
    free(x), free(dy), free(y), free(dx);
}

/* Layout conversions are copies (CUDA activations are NCHW); a CUDA plan is zeroed device memory. */
static void test_layout_and_plan(void) {
    int n = 2, c = 3, hw = 5;
    size_t cnt = (size_t)n * c * hw;
    double *x = rand_d(cnt, 1);
    round_f(x, cnt);
    float *xd = dev_from(x, cnt), *nat = dev_fill(cnt, 7.0f), *back = dev_fill(cnt, 7.0f);
    CHECK_OK(mbt_layout_from_nchw(MBT_DEVICE_CUDA, n, c, hw, xd, nat));
    CHECK_OK(mbt_layout_to_nchw(MBT_DEVICE_CUDA, n, c, hw, nat, back));
    float *h1 = host_from(nat, cnt), *h2 = host_from(back, cnt);
    int same = 1;
    for (size_t i = 0; i < cnt; i++) same &= h1[i] == (float)x[i] && h2[i] == (float)x[i];
    CHECK_MSG(same, "layout (cuda): NCHW copies differ from the input");
    free(h1), free(h2), free(x);
    mbt_cuda_free(xd), mbt_cuda_free(nat), mbt_cuda_free(back);

    mbt_plan plan;
    float *a = NULL, *b = NULL;
    mbt_plan_init(&plan, MBT_DEVICE_CUDA);
    mbt_plan_floats(&plan, &a, 1000);
    mbt_plan_floats(&plan, &b, 3);
    if (CHECK_OK(mbt_plan_commit(&plan))) {
        CHECK(a != NULL && b != NULL && (char *)b - (char *)a >= 4000);
        float *h = host_from(a, mbt_plan_float_count(&plan));
        int zero = 1;
        for (size_t i = 0; i < mbt_plan_float_count(&plan); i++) zero &= h[i] == 0.0f;
        CHECK_MSG(zero, "CUDA plan: memory not zero-filled");
        free(h);
    }
    mbt_plan_free(&plan);
    CHECK(a == NULL && b == NULL);
}

static int run_on_gpu(void) {
    mbt_rng_init(&rng, 3, 0);
    const char *tf = getenv("MIXBT_TEST_TF32");
    if (tf && !strcmp(tf, "1")) setenv("MIXBT_NO_TF32", "0", 1);
    else setenv("MIXBT_NO_TF32", "1", 1);
    conv_tol = mbt_cuda_tf32_enabled() ? TOL_TF32 : TOL_CONV;
    printf("test_ops_cuda: %s, convolution tolerance %g\n", mbt_cuda_tf32_enabled() ? "TF32" : "fp32", conv_tol);
    int b = 16;
    test_conv(2, 3, 9, 9, b, 3, 1, 1, 1);         /* network input, NCHW, odd size */
    test_conv(2, 3, 16, 16, 2 * b, 7, 2, 3, 1);   /* ImageNet stem 7x7/2/3 */
    test_conv(2, b, 9, 9, 2 * b, 3, 1, 1, 0);
    test_conv(3, 2 * b, 9, 7, b, 3, 2, 1, 0);     /* stride 2, odd and non-square */
    test_conv(2, 2 * b, 8, 8, 4 * b, 1, 2, 0, 0); /* downsample 1x1/2 */
    test_conv(2, b, 6, 6, b, 1, 1, 0, 0);
    test_conv(1, b, 10, 10, b, 7, 1, 3, 0);
    test_conv(2, 5, 7, 7, 7, 3, 1, 1, 0);         /* channel counts of no block size */
    test_conv_table_and_errors();
    for (int relu = 0; relu < 2; relu++) {
        test_bn(8, 24, 1, relu);        /* BatchNorm1d */
        test_bn(4, 2 * b, 7 * 5, relu); /* BatchNorm2d, odd spatial size */
        test_bn(2, b, 1 * 3, relu);
        test_bn(7, 3, 3000, relu);      /* three slices of samples per channel (3, 3, 1) */
    }
    test_pool();
    test_layout_and_plan();
    return check_report("test_ops_cuda");
}

#endif /* MIXBT_HAVE_CUDA */

int main(void) {
#ifdef MIXBT_HAVE_CUDA
    if (mbt_cuda_device_count() > 0) return run_on_gpu();
    /* no device: the context and every CUDA op are refused with a message */
    mbt_cuda_context *ctx = (mbt_cuda_context *)1;
    CHECK(mbt_cuda_context_get(&ctx) == MBT_ERR_UNSUPPORTED && ctx == NULL);
    CHECK_MSG(strstr(mbt_error_message(), "CUDA device") != NULL, "message: %s", mbt_error_message());
    CHECK(mbt_cuda_select(0) == MBT_ERR_ARG);
    expect_cuda_refused(MBT_ERR_UNSUPPORTED, "CUDA device");
#else
    expect_cuda_refused(MBT_ERR_UNSUPPORTED, "built without the CUDA backend");
#endif
    /* a CUDA plan cannot be committed without a CUDA context */
    mbt_plan plan;
    float *a = NULL;
    mbt_plan_init(&plan, MBT_DEVICE_CUDA);
    mbt_plan_floats(&plan, &a, 10);
    CHECK(mbt_plan_commit(&plan) == MBT_ERR_UNSUPPORTED && a == NULL);
    mbt_plan_free(&plan);
    if (check_failures) return check_report("test_ops_cuda");
    return check_cuda_or_skip("test_ops_cuda");
}
