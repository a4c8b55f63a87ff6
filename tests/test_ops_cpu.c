/* The CPU backend's ops against the double-precision reference ops (src/ops/ref.h): convolution
 * (strides, paddings, 1x1/3x3/7x7, NCHW input; each direction by oneDNN and by the im2col + sgemm
 * path, and the per-layer choice), batch norm (1d/2d, fused ReLU, train/eval/backward),
 * max (incl. ties) and average pooling, linear, L2 normalisation, ReLU. Inputs are random;
 * activations are converted between NCHW and the backend's native layout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/conv2d_impl_cpu.h"
#include "ops/cpu_backend.h"
#include "ops/eltwise.h"
#include "ops/layout.h"
#include "ops/linear.h"
#include "ops/pool.h"
#include "ops/ref.h"

#define TOL 2e-5 /* float32 against double, relative to the tensor's largest value */

static mbt_rng rng;

static double *rand_d(size_t n, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0);
    return a;
}

static float *to_f(const double *a, size_t n) {
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f[i] = (float)a[i];
    return f;
}

/* NCHW double -> native float (c % block == 0) */
static float *to_native(const double *a, int n, int c, int hw) {
    float *plain = to_f(a, (size_t)n * c * hw), *nat = malloc((size_t)n * c * hw * sizeof(float));
    mbt_layout_from_nchw(MBT_DEVICE_CPU, n, c, hw, plain, nat);
    free(plain);
    return nat;
}

static float *from_native(const float *a, int n, int c, int hw) {
    float *plain = malloc((size_t)n * c * hw * sizeof(float));
    mbt_layout_to_nchw(MBT_DEVICE_CPU, n, c, hw, a, plain);
    return plain;
}

static void expect_close(const char *what, const float *got, const double *ref, size_t n) {
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(got[i] - ref[i]));
    if (isnan(err)) err = INFINITY;
    CHECK_MSG(err <= TOL * (scale > 0 ? scale : 1), "%s: max error %.3g (scale %.3g)", what, err, scale);
}

/* choice: the implementation of each direction, NULL for the backend's own rule. */
static void test_conv_impl(int n, int cin, int h, int w, int cout, int k, int stride, int pad, int nchw_input,
                           const mbt_conv_choice *choice) {
    mbt_conv2d_shape s = {n, cin, h, w, cout, k, stride, pad};
    int ho = mbt_conv2d_h_out(&s), wo = mbt_conv2d_w_out(&s);
    size_t nx = (size_t)n * cin * h * w, nw = (size_t)cout * cin * k * k, ny = (size_t)n * cout * ho * wo;
    double *x = rand_d(nx, 1), *wt = rand_d(nw, 0.3), *dy = rand_d(ny, 1);
    double *y = calloc(ny, sizeof(double)), *dx = calloc(nx, sizeof(double)), *dw = calloc(nw, sizeof(double));
    mbt_ref_conv2d_forward(&s, x, wt, y);
    mbt_ref_conv2d_backward(&s, x, wt, dy, nchw_input ? NULL : dx, dw);
    mbt_conv2d *op;
    char what[128];
    char impls[16] = "rule";
    if (choice) snprintf(impls, sizeof impls, "%d%d%d", choice->fwd, choice->bwd_data, choice->bwd_weights);
    snprintf(what, sizeof what, "conv2d n%d %dx%dx%d -> %d k%d s%d p%d%s impl %s", n, cin, h, w, cout, k, stride, pad,
             nchw_input ? " nchw" : "", impls);
    mbt_conv2d_cpu_override(choice);
    mbt_status created = mbt_conv2d_create(&op, MBT_DEVICE_CPU, &s, nchw_input ? MBT_CONV_INPUT_NCHW : 0);
    mbt_conv2d_cpu_override(NULL);
    if (!CHECK_OK(created)) return;
    float *wf = to_f(wt, nw), *xf = nchw_input ? to_f(x, nx) : to_native(x, n, cin, h * w);
    float *yf = malloc(ny * sizeof(float)), *dyf = to_native(dy, n, cout, ho * wo);
    float *dxf = malloc(nx * sizeof(float)), *dwf = calloc(nw, sizeof(float));
    CHECK_OK(mbt_conv2d_set_weights(op, wf));
    CHECK_OK(mbt_conv2d_forward(op, xf, yf));
    float *yp = from_native(yf, n, cout, ho * wo);
    expect_close(what, yp, y, ny);
    for (size_t i = 0; i < nw; i++) dwf[i] = 1.0f; /* backward accumulates into dw */
    for (size_t i = 0; i < nx; i++) dxf[i] = 7.0f;  /* and overwrites dx */
    for (size_t i = 0; i < nw; i++) dw[i] += 1.0;
    CHECK_OK(mbt_conv2d_backward(op, xf, dyf, nchw_input ? NULL : dxf, dwf));
    expect_close(what, dwf, dw, nw);
    if (!nchw_input) {
        float *dxp = from_native(dxf, n, cin, h * w);
        expect_close(what, dxp, dx, nx);
        free(dxp);
    }
    mbt_conv2d_destroy(op);
    free(x); free(wt); free(dy); free(y); free(dx); free(dw);
    free(wf); free(xf); free(yf); free(dyf); free(dxf); free(dwf); free(yp);
}

/* Each implementation for every direction (where it does not apply, oneDNN runs), mixes of them in
 * one op, and the backend's rule. */
static void test_conv(int n, int cin, int h, int w, int cout, int k, int stride, int pad, int nchw_input) {
#define D MBT_CONV_IMPL_ONEDNN
#define G MBT_CONV_IMPL_GEMM
#define W MBT_CONV_IMPL_WINOGRAD
#define W4 MBT_CONV_IMPL_WINOGRAD4
    static const mbt_conv_choice choices[] = {{D, D, D}, {G, G, G}, {W, W, W}, {W4, W4, W4},
                                              {W, G, D}, {G, D, W}, {D, W4, G}, {W4, W, W4}};
#undef D
#undef G
#undef W
#undef W4
    for (unsigned i = 0; i < sizeof choices / sizeof *choices; i++)
        test_conv_impl(n, cin, h, w, cout, k, stride, pad, nchw_input, &choices[i]);
    test_conv_impl(n, cin, h, w, cout, k, stride, pad, nchw_input, NULL);
}

static void test_bad_conv_shapes(void) {
    mbt_conv2d *op = NULL;
    mbt_conv2d_shape s = {2, 5, 8, 8, 16, 3, 1, 1}; /* 5 channels: not a multiple of the block */
    CHECK(mbt_conv2d_create(&op, MBT_DEVICE_CPU, &s, 0) == MBT_ERR_UNSUPPORTED && op == NULL);
    CHECK(strstr(mbt_error_message(), "conv2d") && strstr(mbt_error_message(), "multiples"));
    mbt_conv2d_shape z = {2, 16, 2, 2, 16, 7, 1, 0}; /* kernel larger than the input */
    CHECK(mbt_conv2d_create(&op, MBT_DEVICE_CPU, &z, 0) == MBT_ERR_SHAPE);
    CHECK(strstr(mbt_error_message(), "kernel=7") != NULL);
}

/* NCHW double -> the batch norm's native float layout ([n, c] when hw = 1), and back. */
static float *bn_in(const double *a, int n, int c, int hw) {
    return hw == 1 ? to_f(a, (size_t)n * c) : to_native(a, n, c, hw);
}

static float *bn_out(const float *a, int n, int c, int hw) {
    if (hw > 1) return from_native(a, n, c, hw);
    float *p = malloc((size_t)n * c * sizeof(float));
    memcpy(p, a, (size_t)n * c * sizeof(float));
    return p;
}

/* Batch norm (1d: hw = 1, 2d: blocked layout), fused ReLU or not: training forward (y, saved
 * statistics, running statistics), backward (dx overwritten, dgamma/dbeta accumulated onto 0.25),
 * evaluation forward with the updated running statistics on the training op and an inference op. */
static void test_bn(int n, int c, int hw, int relu) {
    mbt_batchnorm_shape s = {n, c, hw, 1e-5f, 0.1f};
    size_t nx = (size_t)n * c * hw;
    double *x = rand_d(nx, 2), *gamma = rand_d(c, 1.5), *beta = rand_d(c, 1), *dy = rand_d(nx, 1);
    double *rm = rand_d(c, 0.5), *rv = rand_d(c, 0.5);
    /* channel means away from 0; every third channel with a small variance (and small running
     * variance), where eps matters */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
            for (int p = 0; p < hw; p++) {
                size_t at = ((size_t)i * c + k) * hw + p;
                x[at] = (k % 3 ? x[at] : 0.01 * x[at]) + 0.3 * (k % 7);
            }
    for (int k = 0; k < c; k++) rv[k] = k % 3 ? rv[k] + 1.0 : 1e-3 * (rv[k] + 1.0);
    /* float copies first: the reference starts from the same (rounded) values */
    float *xf = bn_in(x, n, c, hw), *gf = to_f(gamma, c), *bf = to_f(beta, c), *dyf = bn_in(dy, n, c, hw);
    float *rmf = to_f(rm, c), *rvf = to_f(rv, c);
    for (size_t i = 0; i < nx; i++) x[i] = (double)(float)x[i];
    for (int k = 0; k < c; k++) {
        gamma[k] = (float)gamma[k];
        beta[k] = (float)beta[k];
        rm[k] = (float)rm[k];
        rv[k] = (float)rv[k];
    }
    for (size_t i = 0; i < nx; i++) dy[i] = (double)(float)dy[i];

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

    char what[96];
    snprintf(what, sizeof what, "batchnorm n%d c%d hw%d%s", n, c, hw, relu ? " relu" : "");
    char w2[160];
#define BN_CHECK(name, got, ref, count) \
    (snprintf(w2, sizeof w2, "%s %s", what, name), expect_close(w2, got, ref, count))
    mbt_batchnorm *op = NULL, *inf = NULL;
    int flags = relu ? MBT_BN_FUSE_RELU : 0;
    if (!CHECK_OK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &s, flags))) return;
    if (!CHECK_OK(mbt_batchnorm_create(&inf, MBT_DEVICE_CPU, &s, flags | MBT_BN_INFERENCE))) return;
    void *ws = malloc(mbt_batchnorm_workspace_bytes(op) + 1);
    float *yf = malloc(nx * 4), *smf = malloc(c * 4), *svf = malloc(c * 4), *dxf = malloc(nx * 4),
          *dgf = malloc(c * 4), *dbf = malloc(c * 4), *yef = malloc(nx * 4), *yif = malloc(nx * 4);
    for (size_t i = 0; i < nx; i++) dxf[i] = 7.0f; /* overwritten */
    for (int k = 0; k < c; k++) dgf[k] = dbf[k] = 0.25f;
    CHECK_OK(mbt_batchnorm_forward_train(op, xf, gf, bf, yf, smf, svf, ws, rmf, rvf));
    CHECK_OK(mbt_batchnorm_backward(op, xf, gf, bf, smf, svf, ws, dyf, dxf, dgf, dbf));
    CHECK_OK(mbt_batchnorm_forward_eval(op, xf, gf, bf, rmf, rvf, yef));
    CHECK_OK(mbt_batchnorm_forward_eval(inf, xf, gf, bf, rmf, rvf, yif));
    float *yp = bn_out(yf, n, c, hw), *dxp = bn_out(dxf, n, c, hw), *yep = bn_out(yef, n, c, hw),
          *yip = bn_out(yif, n, c, hw);
    BN_CHECK("train y", yp, y, nx);
    BN_CHECK("save_mean", smf, mean, c);
    BN_CHECK("save_var", svf, var, c);
    BN_CHECK("running_mean", rmf, rm, c);
    BN_CHECK("running_var", rvf, rv, c);
    BN_CHECK("dx", dxp, dx, nx);
    BN_CHECK("dgamma", dgf, dg, c);
    BN_CHECK("dbeta", dbf, db, c);
    BN_CHECK("eval y (training op)", yep, ye, nx);
    BN_CHECK("eval y (inference op)", yip, ye, nx);
#undef BN_CHECK
    mbt_batchnorm_destroy(op);
    mbt_batchnorm_destroy(inf);
    free(x); free(gamma); free(beta); free(dy); free(rm); free(rv); free(xf); free(gf); free(bf); free(dyf);
    free(rmf); free(rvf); free(y); free(mean); free(var); free(dyb); free(dx); free(dg); free(db); free(ye);
    free(ws); free(yf); free(smf); free(svf); free(dxf); free(dgf); free(dbf); free(yef); free(yif);
    free(yp); free(dxp); free(yep); free(yip);
}

static void test_pool_linear_l2(void) {
    /* max pool 3x3/2/1 on odd and even sizes; random values, then negative integers -1..-3 (ties go
     * to the first maximum in window order; zero padding would win at the borders) */
    for (int t = 0; t < 4; t++) {
        int h = 7 + t % 2, ties = t / 2;
        mbt_pool_shape s = {2, 16, h, h, 3, 2, 1};
        int ho = mbt_pool_h_out(&s);
        size_t nx = (size_t)2 * 16 * h * h, ny = (size_t)2 * 16 * ho * ho;
        double *x = rand_d(nx, 1), *dy = rand_d(ny, 1), *y = calloc(ny, 8), *dx = calloc(nx, 8);
        if (ties)
            for (size_t i = 0; i < nx; i++) x[i] = -1.0 - mbt_rng_below(&rng, 3);
        mbt_ref_maxpool_forward(&s, x, y);
        mbt_ref_maxpool_backward(&s, x, dy, dx);
        mbt_maxpool *op;
        if (!CHECK_OK(mbt_maxpool_create(&op, MBT_DEVICE_CPU, &s, MBT_POOL_TRAINING))) continue;
        void *ws = malloc(mbt_maxpool_workspace_bytes(op) + 1);
        float *xf = to_native(x, 2, 16, h * h), *yf = malloc(ny * 4), *dyf = to_native(dy, 2, 16, ho * ho),
              *dxf = malloc(nx * 4);
        CHECK_OK(mbt_maxpool_forward(op, xf, yf, ws));
        CHECK_OK(mbt_maxpool_backward(op, ws, dyf, dxf));
        float *yp = from_native(yf, 2, 16, ho * ho), *dxp = from_native(dxf, 2, 16, h * h);
        expect_close(ties ? "maxpool forward (ties)" : "maxpool forward", yp, y, ny);
        expect_close(ties ? "maxpool backward (ties)" : "maxpool backward", dxp, dx, nx);
        mbt_maxpool_destroy(op);
        free(x); free(dy); free(y); free(dx); free(ws); free(xf); free(yf); free(dyf); free(dxf); free(yp); free(dxp);
    }
    /* global average pool */
    {
        int n = 3, c = 32, hw = 16;
        double *x = rand_d((size_t)n * c * hw, 1), *dy = rand_d((size_t)n * c, 1);
        double *y = calloc((size_t)n * c, 8), *dx = calloc((size_t)n * c * hw, 8);
        mbt_ref_avgpool_forward(n, c, hw, x, y);
        mbt_ref_avgpool_backward(n, c, hw, dy, dx);
        float *xf = to_native(x, n, c, hw), *yf = malloc((size_t)n * c * 4), *dyf = to_f(dy, (size_t)n * c),
              *dxf = malloc((size_t)n * c * hw * 4);
        CHECK_OK(mbt_avgpool_forward(MBT_DEVICE_CPU, n, c, hw, xf, yf));
        CHECK_OK(mbt_avgpool_backward(MBT_DEVICE_CPU, n, c, hw, dyf, dxf));
        float *dxp = from_native(dxf, n, c, hw);
        expect_close("avgpool forward", yf, y, (size_t)n * c);
        expect_close("avgpool backward", dxp, dx, (size_t)n * c * hw);
        free(x); free(dy); free(y); free(dx); free(xf); free(yf); free(dyf); free(dxf); free(dxp);
    }
    /* linear with and without bias; l2norm incl. a row below the clamp */
    for (int bias = 0; bias < 2; bias++) {
        int n = 5, in = 37, out = 23;
        double *x = rand_d((size_t)n * in, 1), *w = rand_d((size_t)out * in, 0.3), *b = rand_d(out, 0.3),
               *dy = rand_d((size_t)n * out, 1);
        double *y = calloc((size_t)n * out, 8), *dx = calloc((size_t)n * in, 8), *dw = calloc((size_t)out * in, 8),
               *db = calloc(out, 8);
        /* dw and db accumulate onto 0.5, dx is overwritten */
        for (int i = 0; i < out * in; i++) dw[i] = 0.5;
        for (int i = 0; i < out; i++) db[i] = 0.5;
        mbt_ref_linear_forward(n, in, out, x, w, bias ? b : NULL, y);
        mbt_ref_linear_backward(n, in, out, x, w, dy, dx, dw, bias ? db : NULL);
        float *xf = to_f(x, (size_t)n * in), *wf = to_f(w, (size_t)out * in), *bf = to_f(b, out),
              *dyf = to_f(dy, (size_t)n * out), *yf = malloc((size_t)n * out * 4), *dxf = malloc((size_t)n * in * 4),
              *dwf = calloc((size_t)out * in, 4), *dbf = calloc(out, 4);
        for (int i = 0; i < out * in; i++) dwf[i] = 0.5f;
        for (int i = 0; i < out; i++) dbf[i] = 0.5f;
        for (int i = 0; i < n * in; i++) dxf[i] = 7.0f;
        CHECK_OK(mbt_linear_forward(MBT_DEVICE_CPU, n, in, out, xf, wf, bias ? bf : NULL, yf));
        CHECK_OK(mbt_linear_backward(MBT_DEVICE_CPU, n, in, out, xf, wf, dyf, dxf, dwf, bias ? dbf : NULL));
        expect_close("linear forward", yf, y, (size_t)n * out);
        expect_close("linear dx", dxf, dx, (size_t)n * in);
        expect_close("linear dw", dwf, dw, (size_t)out * in);
        if (bias) expect_close("linear db", dbf, db, out);
        free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
        free(xf); free(wf); free(bf); free(dyf); free(yf); free(dxf); free(dwf); free(dbf);
    }
    {
        int n = 4, d = 19;
        double *x = rand_d((size_t)n * d, 1), *dy = rand_d((size_t)n * d, 1);
        for (int j = 0; j < d; j++) x[3 * d + j] *= 1e-14; /* norm below the 1e-12 clamp */
        double *y = calloc((size_t)n * d, 8), *dx = calloc((size_t)n * d, 8);
        mbt_ref_l2norm_forward(n, d, x, y);
        mbt_ref_l2norm_backward(n, d, x, dy, dx);
        float *xf = to_f(x, (size_t)n * d), *dyf = to_f(dy, (size_t)n * d), *yf = malloc((size_t)n * d * 4),
              *dxf = malloc((size_t)n * d * 4);
        CHECK_OK(mbt_l2norm_forward(MBT_DEVICE_CPU, n, d, xf, yf));
        CHECK_OK(mbt_l2norm_backward(MBT_DEVICE_CPU, n, d, xf, dyf, dxf));
        expect_close("l2norm forward", yf, y, (size_t)n * d);
        expect_close("l2norm backward (rows above the clamp)", dxf, dx, (size_t)3 * d);
        expect_close("l2norm backward (row below the clamp)", dxf + 3 * d, dx + 3 * d, (size_t)d);
        free(x); free(dy); free(y); free(dx); free(xf); free(dyf); free(yf); free(dxf);
    }
    /* relu */
    {
        size_t n = 1000;
        double *x = rand_d(n, 1), *dy = rand_d(n, 1), *y = calloc(n, 8), *dx = calloc(n, 8);
        mbt_ref_relu_forward((long)n, x, y);
        mbt_ref_relu_backward((long)n, y, dy, dx);
        float *xf = to_f(x, n), *dyf = to_f(dy, n), *yf = malloc(n * 4), *dxf = malloc(n * 4);
        CHECK_OK(mbt_relu_forward(MBT_DEVICE_CPU, n, xf, yf));
        CHECK_OK(mbt_relu_backward(MBT_DEVICE_CPU, n, yf, dyf, dxf));
        expect_close("relu forward", yf, y, n);
        expect_close("relu backward", dxf, dx, n);
        free(x); free(dy); free(y); free(dx); free(xf); free(dyf); free(yf); free(dxf);
    }
}

int main(void) {
    mbt_set_threads(2);
    mbt_rng_init(&rng, 3, 0);
    int b = mbt_cpu_channel_block();
    test_conv(2, 3, 9, 9, b, 3, 1, 1, 1);       /* network input, NCHW, odd size */
    test_conv(2, 3, 16, 16, 2 * b, 7, 2, 3, 1); /* ImageNet stem 7x7/2/3 */
    test_conv(2, b, 9, 9, 2 * b, 3, 1, 1, 0);
    test_conv(3, 2 * b, 9, 7, b, 3, 2, 1, 0);   /* stride 2, odd and non-square */
    test_conv(2, 2 * b, 8, 8, 4 * b, 1, 2, 0, 0); /* downsample 1x1/2 */
    test_conv(2, b, 6, 6, b, 1, 1, 0, 0);
    test_conv(1, b, 10, 10, b, 7, 1, 3, 0);
    test_conv(3, 2 * b, 4, 4, 2 * b, 3, 1, 1, 0);   /* the last ResNet stage's 4x4 (3 images: uneven split) */
    test_conv(2, b, 7, 5, 2 * b, 3, 1, 0, 0);      /* no padding */
    test_conv(16, 16 * b, 16, 16, b, 3, 1, 1, 0);  /* several chunks (gemm per thread, Winograd weights) */
    test_conv(3, 16 * b, 44, 44, b, 3, 2, 1, 0);   /* several chunks, stride 2 */
    test_bad_conv_shapes();
    for (int relu = 0; relu < 2; relu++) {
        test_bn(8, 24, 1, relu);      /* BatchNorm1d, c not a multiple of the block */
        test_bn(4, 2 * b, 7 * 5, relu); /* BatchNorm2d, odd spatial size */
        test_bn(2, b, 1 * 3, relu);
    }
    test_pool_linear_l2();
    return check_report("test_ops_cpu");
}
