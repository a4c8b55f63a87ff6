/* One table of op cases run on every backend built: the CPU always, CUDA when the build has it and a GPU
 * is present. Each case is listed once and checked against the double-precision reference ops
 * (src/ops/ref.h) on each backend, in the manner of ggml's test-backend-ops (it replaces the two case
 * lists test_ops_cpu and test_ops_cuda had; they keep only their backend's own checks).
 *   image ops: convolution (strides, paddings, 1x1/3x3/7x7, NCHW input; on the CPU each implementation
 *     of each direction, mixes of them and the backend's rule), batch norm (1d/2d, fused ReLU,
 *     train/eval/backward, running statistics, an inference op), max (incl. ties) and average pooling;
 *     activations go through the backend's layout (mbt_layout_from_nchw), and a shape whose channels
 *     the layout cannot hold (the CPU's channel block) runs on the backends that can;
 *   dense ops: linear, L2 normalisation, ReLU, sgemm (every transpose, beta 0 and 1), ssyrk (full
 *     matrix), the dot product in double, axpby, the pair loss's accumulated dot and squared distance
 *     and out += alpha (x - y), NT-Xent's rows (value and dL/dG), batch standardisation (forward with the bad-column
 *     report, backward), the input mix, the mixed residual, the scatter through a perm with repeated
 *     entries, the gather of rows, the cross-correlation parts, the batched Cholesky factor, its inverse
 *     and the backward of A -> chol(A)^{-1} (well-conditioned SPD matrices, cond < 10, so TOL holds;
 *     W-MSE's ill-conditioned ones are tests/test_wmse.c's), and a group that is not positive definite.
 * Inputs are random, rounded to float before the reference runs; outputs that must be overwritten start
 * as 7, gradients that must accumulate start as 1 (conv dw) or 0.25 (dgamma, dbeta, linear 0.5).
 * Error: max |got - ref| over the largest |ref|: TOL (2e-5), except CUDA convolutions 1e-4 (cuDNN may
 * pick FFT or Winograd algorithms) and, with MIXBT_TEST_TF32=1 (CUDA products in TF32), 5e-3 for
 * convolutions and matrix products; sums in double TOL_SUM. CUDA runs in fp32 unless asked.
 * The name holds "cuda" so that the GPU check (scripts/gpu_check.sh: tests/test_*cuda*.c, ctest -R cuda)
 * builds and runs it too. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/device.h"
#include "core/runtime.h"
#include "core/plan.h"
#include "core/rng.h"
#include "ops/batchnorm.h"
#include "ops/blas.h"
#include "ops/cholesky.h"
#include "ops/conv2d.h"
#include "ops/conv2d_impl_cpu.h"
#include "ops/onednn_context.h"
#include "ops/eltwise.h"
#include "ops/layout.h"
#include "ops/linear.h"
#include "ops/mix.h"
#include "ops/ntxent.h"
#include "ops/pool.h"
#include "ops/reduce.h"
#include "ops/ref.h"
#include "ops/standardize.h"
#include "ops/xcorr.h"

#define TOL 2e-5       /* float results, relative to the tensor's largest value */
#define TOL_CONV 1e-4  /* CUDA convolutions in fp32 */
#define TOL_TF32 5e-3  /* CUDA convolutions and matrix products in TF32 (MIXBT_TEST_TF32=1) */
#define TOL_SUM 1e-12  /* sums in double of float products (exact in double), relative */
#define MAX_BUFS 256

static mbt_rng rng;

/* The device of the case being run and its buffers (one plan each, freed after the case). */
static struct {
    mbt_device device;
    const char *name;
    int block;          /* channel counts the backend's activation layout holds: multiples of it */
    int unit;           /* the channel unit of the image cases' shapes */
    double tol_conv;    /* convolutions */
    double tol_product; /* sgemm, ssyrk */
    int skipped;        /* shapes of image cases the layout cannot hold */
    mbt_plan plans[MAX_BUFS];
    int count;
} be;

static void *dev_bytes(size_t bytes) {
    void *p = NULL;
    if (be.count == MAX_BUFS) return NULL;
    mbt_plan *plan = &be.plans[be.count++];
    mbt_plan_init(plan, be.device);
    mbt_plan_bytes(plan, &p, bytes);
    return CHECK_OK(mbt_plan_commit(plan)) ? p : NULL;
}

static void dev_free_all(void) {
    for (int i = 0; i < be.count; i++) mbt_plan_free(&be.plans[i]);
    be.count = 0;
}

/* Random values in [-scale, scale), rounded to float (the reference starts from what the device gets). */
static double *rand_d(size_t n, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0));
    return a;
}

/* A device copy of a, as floats. */
static float *dev_from(const double *a, size_t n) {
    float *h = malloc(n * sizeof(float)), *d = dev_bytes(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = (float)a[i];
    if (d) CHECK_OK(mbt_device_from_host(be.device, d, h, n * sizeof(float)));
    free(h);
    return d;
}

static int32_t *dev_perm(const int32_t *p, int n) {
    int32_t *d = dev_bytes((size_t)n * sizeof(int32_t));
    if (d) CHECK_OK(mbt_device_from_host(be.device, d, p, (size_t)n * sizeof(int32_t)));
    return d;
}

static void expect_close_tol(const char *what, const float *dev, const double *ref, size_t n, double tol) {
    float *got = malloc(n * sizeof(float));
    double scale = 0, err = 0;
    CHECK_OK(mbt_device_to_host(be.device, got, dev, n * sizeof(float)));
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(got[i] - ref[i]));
    if (isnan(err)) err = INFINITY;
    CHECK_MSG(err <= tol * (scale > 0 ? scale : 1), "%s on %s: max error %.3g (scale %.3g, tolerance %g)", what,
              be.name, err, scale, tol);
    free(got);
}

static void expect_close(const char *what, const float *dev, const double *ref, size_t n) {
    expect_close_tol(what, dev, ref, n, TOL);
}

/* A device buffer of n copies of v. */
static float *dev_fill(size_t n, float v) {
    float *h = malloc(n * sizeof(float)), *d = dev_bytes(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = v;
    if (d) CHECK_OK(mbt_device_from_host(be.device, d, h, n * sizeof(float)));
    free(h);
    return d;
}

/* NCHW values a as the backend's native activations [n, c, hw] on the device. */
static float *dev_native(const double *a, int n, int c, int hw) {
    float *plain = dev_from(a, (size_t)n * c * hw), *nat = dev_bytes((size_t)n * c * hw * sizeof(float));
    if (plain && nat) CHECK_OK(mbt_layout_from_nchw(be.device, n, c, hw, plain, nat));
    return nat;
}

/* Native activations compared in NCHW. */
static void expect_native(const char *what, const float *nat, const double *ref, int n, int c, int hw, double tol) {
    float *plain = dev_bytes((size_t)n * c * hw * sizeof(float));
    if (plain && CHECK_OK(mbt_layout_to_nchw(be.device, n, c, hw, nat, plain)))
        expect_close_tol(what, plain, ref, (size_t)n * c * hw, tol);
}

/* 1 when the backend's layout holds c channels, else counts the shape as skipped. */
static int holds(int c) {
    if (c % be.block == 0) return 1;
    be.skipped++;
    return 0;
}

static void expect_sum(const char *what, const double *dev, double ref) {
    double got = NAN;
    CHECK_OK(mbt_device_to_host(be.device, &got, dev, sizeof got));
    CHECK_MSG(fabs(got - ref) <= TOL_SUM * fabs(ref) + 1e-300, "%s on %s: %.17g, reference %.17g", what, be.name, got,
              ref);
}

/* One convolution on the backend; choice: the CPU implementation of each direction (NULL: the rule). */
static void conv_once(int n, int cin, int h, int w, int cout, int k, int stride, int pad, int nchw_input,
                      const mbt_conv_choice *choice) {
    mbt_conv2d_shape s = {n, cin, h, w, cout, k, stride, pad};
    int ho = mbt_conv2d_h_out(&s), wo = mbt_conv2d_w_out(&s);
    size_t nx = (size_t)n * cin * h * w, nw = (size_t)cout * cin * k * k, ny = (size_t)n * cout * ho * wo;
    double *x = rand_d(nx, 1), *wt = rand_d(nw, 0.3), *dy = rand_d(ny, 1);
    double *y = calloc(ny, sizeof(double)), *dx = calloc(nx, sizeof(double)), *dw = calloc(nw, sizeof(double));
    mbt_ref_conv2d_forward(&s, x, wt, y);
    for (size_t i = 0; i < nw; i++) dw[i] = 1.0; /* backward accumulates into dw */
    mbt_ref_conv2d_backward(&s, x, wt, dy, nchw_input ? NULL : dx, dw);
    char what[128], impls[16] = "rule", w2[160];
    if (choice) snprintf(impls, sizeof impls, "%d%d%d", choice->fwd, choice->bwd_data, choice->bwd_weights);
    snprintf(what, sizeof what, "conv2d n%d %dx%dx%d -> %d k%d s%d p%d%s impl %s", n, cin, h, w, cout, k, stride, pad,
             nchw_input ? " nchw" : "", impls);
    mbt_conv2d *op = NULL;
    if (choice) mbt_conv2d_cpu_override(choice);
    mbt_status created = mbt_conv2d_create(&op, be.device, &s, nchw_input ? MBT_CONV_INPUT_NCHW : 0);
    if (choice) mbt_conv2d_cpu_override(NULL);
    if (CHECK_OK(created)) {
        float *xd = nchw_input ? dev_from(x, nx) : dev_native(x, n, cin, h * w), *wd = dev_from(wt, nw);
        float *dyd = dev_native(dy, n, cout, ho * wo), *yd = dev_fill(ny, 7.0f), *dxd = dev_fill(nx, 7.0f);
        float *dwd = dev_fill(nw, 1.0f);
        CHECK_OK(mbt_conv2d_set_weights(op, wd));
        CHECK_OK(mbt_conv2d_forward(op, xd, yd));
        CHECK_OK(mbt_conv2d_backward(op, xd, dyd, nchw_input ? NULL : dxd, dwd));
        snprintf(w2, sizeof w2, "%s forward", what);
        expect_native(w2, yd, y, n, cout, ho * wo, be.tol_conv);
        snprintf(w2, sizeof w2, "%s dw", what);
        expect_close_tol(w2, dwd, dw, nw, be.tol_conv);
        if (!nchw_input) {
            snprintf(w2, sizeof w2, "%s dx", what);
            expect_native(w2, dxd, dx, n, cin, h * w, be.tol_conv);
        }
    }
    mbt_conv2d_destroy(op);
    dev_free_all();
    free(x), free(wt), free(dy), free(y), free(dx), free(dw);
}

/* The backend's rule, and on the CPU each implementation for every direction (where one does not apply,
 * oneDNN runs) and mixes of them in one op. */
static void conv(int n, int cin, int h, int w, int cout, int k, int stride, int pad, int nchw_input) {
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
    if (!(nchw_input || holds(cin)) || !holds(cout)) return;
    if (be.device == MBT_DEVICE_CPU)
        for (unsigned i = 0; i < sizeof choices / sizeof *choices; i++)
            conv_once(n, cin, h, w, cout, k, stride, pad, nchw_input, &choices[i]);
    conv_once(n, cin, h, w, cout, k, stride, pad, nchw_input, NULL);
}

static void case_conv(void) {
    const int b = be.unit;
    conv(2, 3, 9, 9, b, 3, 1, 1, 1);           /* network input, NCHW, odd size */
    conv(2, 3, 16, 16, 2 * b, 7, 2, 3, 1);     /* ImageNet stem 7x7/2/3 */
    conv(2, b, 9, 9, 2 * b, 3, 1, 1, 0);
    conv(3, 2 * b, 9, 7, b, 3, 2, 1, 0);       /* stride 2, odd and non-square */
    conv(2, 2 * b, 8, 8, 4 * b, 1, 2, 0, 0);   /* downsample 1x1/2 */
    conv(2, b, 6, 6, b, 1, 1, 0, 0);
    conv(1, b, 10, 10, b, 7, 1, 3, 0);
    conv(3, 2 * b, 4, 4, 2 * b, 3, 1, 1, 0);   /* the last ResNet stage's 4x4 (3 images: uneven split) */
    conv(2, b, 7, 5, 2 * b, 3, 1, 0, 0);       /* no padding */
    conv(16, 16 * b, 16, 16, b, 3, 1, 1, 0);   /* several chunks (gemm per thread, Winograd weights) */
    conv(3, 16 * b, 44, 44, b, 3, 2, 1, 0);    /* several chunks, stride 2 */
    conv(2, 5, 7, 7, 7, 3, 1, 1, 0);           /* channel counts of no block size */
}

/* Batch norm activations: [n, c] when hw = 1, else the native layout. */
static float *bn_in(const double *a, int n, int c, int hw) {
    return hw == 1 ? dev_from(a, (size_t)n * c) : dev_native(a, n, c, hw);
}

static void bn_expect(const char *what, const float *dev, const double *ref, int n, int c, int hw) {
    if (hw == 1) expect_close(what, dev, ref, (size_t)n * c);
    else expect_native(what, dev, ref, n, c, hw, TOL);
}

/* Batch norm, fused ReLU or not: training forward (y, saved statistics, running statistics), backward
 * (dx overwritten, dgamma/dbeta accumulated onto 0.25), evaluation forward with the updated running
 * statistics on the training op and on an inference op. */
static void bn(int n, int c, int hw, int relu) {
    if (hw > 1 && !holds(c)) return;
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
                x[at] = (float)((k % 3 ? x[at] : 0.01 * x[at]) + 0.3 * (k % 7));
            }
    for (int k = 0; k < c; k++) rv[k] = (float)(k % 3 ? rv[k] + 1.0 : 1e-3 * (rv[k] + 1.0));
    float *xd = bn_in(x, n, c, hw), *gd = dev_from(gamma, c), *bd = dev_from(beta, c), *dyd = bn_in(dy, n, c, hw);
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
#define BN_ACT(name, got, ref) (snprintf(w2, sizeof w2, "%s %s", what, name), bn_expect(w2, got, ref, n, c, hw))
#define BN_VEC(name, got, ref) (snprintf(w2, sizeof w2, "%s %s", what, name), expect_close(w2, got, ref, c))
    mbt_batchnorm *op = NULL, *inf = NULL;
    int flags = relu ? MBT_BN_FUSE_RELU : 0;
    if (CHECK_OK(mbt_batchnorm_create(&op, be.device, &s, flags)) &&
        CHECK_OK(mbt_batchnorm_create(&inf, be.device, &s, flags | MBT_BN_INFERENCE))) {
        void *ws = dev_bytes(mbt_batchnorm_workspace_bytes(op) + 1);
        float *yd = dev_fill(nx, 7.0f), *smd = dev_fill(c, 7.0f), *svd = dev_fill(c, 7.0f), *dxd = dev_fill(nx, 7.0f),
              *dgd = dev_fill(c, 0.25f), *dbd = dev_fill(c, 0.25f), *yed = dev_fill(nx, 7.0f),
              *yid = dev_fill(nx, 7.0f);
        CHECK_OK(mbt_batchnorm_forward_train(op, xd, gd, bd, yd, smd, svd, ws, rmd, rvd));
        CHECK_OK(mbt_batchnorm_backward(op, xd, gd, bd, smd, svd, ws, dyd, dxd, dgd, dbd));
        CHECK_OK(mbt_batchnorm_forward_eval(op, xd, gd, bd, rmd, rvd, yed));
        CHECK_OK(mbt_batchnorm_forward_eval(inf, xd, gd, bd, rmd, rvd, yid));
        BN_ACT("train y", yd, y);
        BN_VEC("save_mean", smd, mean);
        BN_VEC("save_var", svd, var);
        BN_VEC("running_mean", rmd, rm);
        BN_VEC("running_var", rvd, rv);
        BN_ACT("dx", dxd, dx);
        BN_VEC("dgamma", dgd, dg);
        BN_VEC("dbeta", dbd, db);
        BN_ACT("eval y (training op)", yed, ye);
        BN_ACT("eval y (inference op)", yid, ye);
    }
#undef BN_ACT
#undef BN_VEC
    mbt_batchnorm_destroy(op);
    mbt_batchnorm_destroy(inf);
    dev_free_all();
    free(x), free(gamma), free(beta), free(dy), free(rm), free(rv), free(y), free(mean), free(var), free(dyb);
    free(dx), free(dg), free(db), free(ye);
}

static void case_bn(void) {
    const int b = be.unit;
    for (int relu = 0; relu < 2; relu++) {
        bn(8, 24, 1, relu);        /* BatchNorm1d, c not a multiple of the block */
        bn(4, 2 * b, 7 * 5, relu); /* BatchNorm2d, odd spatial size */
        bn(2, b, 1 * 3, relu);
        bn(7, 3, 3000, relu);      /* CUDA: three slices of samples per channel (3, 3, 1) */
    }
}

/* Max pool 3x3/2/1 on odd and even sizes, random values then negative integers -1..-3 (ties go to the
 * first maximum in window order; zero padding would win at the borders); global average pool. */
static void case_pool(void) {
    for (int t = 0; t < 8; t++) {
        int h = 7 + t % 2, ties = (t / 2) % 2, c = t < 4 ? be.unit : 5;
        if (!holds(c)) continue;
        mbt_pool_shape s = {2, c, h, h, 3, 2, 1};
        int ho = mbt_pool_h_out(&s);
        size_t nx = (size_t)2 * c * h * h, ny = (size_t)2 * c * ho * ho;
        double *x = rand_d(nx, 1), *dy = rand_d(ny, 1), *y = calloc(ny, 8), *dx = calloc(nx, 8);
        if (ties)
            for (size_t i = 0; i < nx; i++) x[i] = -1.0 - mbt_rng_below(&rng, 3);
        mbt_ref_maxpool_forward(&s, x, y);
        mbt_ref_maxpool_backward(&s, x, dy, dx);
        mbt_maxpool *op = NULL;
        if (CHECK_OK(mbt_maxpool_create(&op, be.device, &s, MBT_POOL_TRAINING))) {
            void *ws = dev_bytes(mbt_maxpool_workspace_bytes(op) + 1);
            float *xd = dev_native(x, 2, c, h * h), *dyd = dev_native(dy, 2, c, ho * ho), *yd = dev_fill(ny, 7.0f),
                  *dxd = dev_fill(nx, 7.0f);
            CHECK_OK(mbt_maxpool_forward(op, xd, yd, ws));
            CHECK_OK(mbt_maxpool_backward(op, ws, dyd, dxd));
            char what[64];
            snprintf(what, sizeof what, "maxpool c%d h%d forward%s", c, h, ties ? " (ties)" : "");
            expect_native(what, yd, y, 2, c, ho * ho, TOL);
            snprintf(what, sizeof what, "maxpool c%d h%d backward%s", c, h, ties ? " (ties)" : "");
            expect_native(what, dxd, dx, 2, c, h * h, TOL);
        }
        mbt_maxpool_destroy(op);
        dev_free_all();
        free(x), free(dy), free(y), free(dx);
    }
    const int n = 3, c = 32, hw = 16;
    if (!holds(c)) return;
    size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
    double *x = rand_d(nx, 1), *dy = rand_d(ny, 1), *y = calloc(ny, 8), *dx = calloc(nx, 8);
    mbt_ref_avgpool_forward(n, c, hw, x, y);
    mbt_ref_avgpool_backward(n, c, hw, dy, dx);
    float *xd = dev_native(x, n, c, hw), *dyd = dev_from(dy, ny), *yd = dev_fill(ny, 7.0f), *dxd = dev_fill(nx, 7.0f);
    if (CHECK_OK(mbt_avgpool_forward(be.device, n, c, hw, xd, yd))) expect_close("avgpool forward", yd, y, ny);
    if (CHECK_OK(mbt_avgpool_backward(be.device, n, c, hw, dyd, dxd)))
        expect_native("avgpool backward", dxd, dx, n, c, hw, TOL);
    free(x), free(dy), free(y), free(dx);
}

/* Linear with and without bias (dw, db accumulate onto 0.5, dx is overwritten); L2 normalisation with a
 * row below the clamp; ReLU. */
static void case_linear_l2_relu(void) {
    for (int bias = 0; bias < 2; bias++) {
        int n = 5, in = 37, out = 23;
        double *x = rand_d((size_t)n * in, 1), *w = rand_d((size_t)out * in, 0.3), *b = rand_d(out, 0.3),
               *dy = rand_d((size_t)n * out, 1);
        double *y = calloc((size_t)n * out, 8), *dx = calloc((size_t)n * in, 8), *dw = calloc((size_t)out * in, 8),
               *db = calloc(out, 8);
        for (int i = 0; i < out * in; i++) dw[i] = 0.5;
        for (int i = 0; i < out; i++) db[i] = 0.5;
        mbt_ref_linear_forward(n, in, out, x, w, bias ? b : NULL, y);
        mbt_ref_linear_backward(n, in, out, x, w, dy, dx, dw, bias ? db : NULL);
        float *xd = dev_from(x, (size_t)n * in), *wd = dev_from(w, (size_t)out * in), *bd = dev_from(b, out),
              *dyd = dev_from(dy, (size_t)n * out), *yd = dev_fill((size_t)n * out, 7.0f),
              *dxd = dev_fill((size_t)n * in, 7.0f), *dwd = dev_fill((size_t)out * in, 0.5f), *dbd = dev_fill(out, 0.5f);
        CHECK_OK(mbt_linear_forward(be.device, n, in, out, xd, wd, bias ? bd : NULL, yd));
        CHECK_OK(mbt_linear_backward(be.device, n, in, out, xd, wd, dyd, dxd, dwd, bias ? dbd : NULL));
        expect_close_tol("linear forward", yd, y, (size_t)n * out, be.tol_product);
        expect_close_tol("linear dx", dxd, dx, (size_t)n * in, be.tol_product);
        expect_close_tol("linear dw", dwd, dw, (size_t)out * in, be.tol_product);
        if (bias) expect_close("linear db", dbd, db, out);
        free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    }
    {
        int n = 4, d = 19;
        double *x = rand_d((size_t)n * d, 1), *dy = rand_d((size_t)n * d, 1);
        for (int j = 0; j < d; j++) x[3 * d + j] = (float)(x[3 * d + j] * 1e-14); /* norm below the 1e-12 clamp */
        double *y = calloc((size_t)n * d, 8), *dx = calloc((size_t)n * d, 8);
        mbt_ref_l2norm_forward(n, d, x, y);
        mbt_ref_l2norm_backward(n, d, x, dy, dx);
        float *xd = dev_from(x, (size_t)n * d), *dyd = dev_from(dy, (size_t)n * d), *yd = dev_fill((size_t)n * d, 7.0f),
              *dxd = dev_fill((size_t)n * d, 7.0f);
        CHECK_OK(mbt_l2norm_forward(be.device, n, d, xd, yd));
        CHECK_OK(mbt_l2norm_backward(be.device, n, d, xd, dyd, dxd));
        expect_close("l2norm forward", yd, y, (size_t)n * d);
        expect_close("l2norm backward (rows above the clamp)", dxd, dx, (size_t)3 * d);
        expect_close("l2norm backward (row below the clamp)", dxd + 3 * d, dx + 3 * d, (size_t)d);
        free(x), free(dy), free(y), free(dx);
    }
    size_t n = 1000;
    double *x = rand_d(n, 1), *dy = rand_d(n, 1), *y = calloc(n, 8), *dx = calloc(n, 8);
    mbt_ref_relu_forward((long)n, x, y);
    mbt_ref_relu_backward((long)n, y, dy, dx);
    float *xd = dev_from(x, n), *dyd = dev_from(dy, n), *yd = dev_fill(n, 7.0f), *dxd = dev_fill(n, 7.0f);
    CHECK_OK(mbt_relu_forward(be.device, n, xd, yd));
    CHECK_OK(mbt_relu_backward(be.device, n, yd, dyd, dxd));
    expect_close("relu forward", yd, y, n);
    expect_close("relu backward", dxd, dx, n);
    free(x), free(dy), free(y), free(dx);
}

static void case_sgemm(void) {
    const int m = 13, n = 21, k = 37;
    for (int t = 0; t < 8; t++) {
        const int ta = t & 1, tb = (t >> 1) & 1, accumulate = t >> 2;
        const int lda = ta ? m : k, ldb = tb ? k : n;
        double *a = rand_d((size_t)m * k, 1), *b = rand_d((size_t)k * n, 1), *c = rand_d((size_t)m * n, 1);
        float *ad = dev_from(a, (size_t)m * k), *bd = dev_from(b, (size_t)k * n), *cd = dev_from(c, (size_t)m * n);
        const float beta = accumulate ? 1.0f : 0.0f;
        mbt_ref_gemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, beta, c, n);
        char what[64];
        snprintf(what, sizeof what, "sgemm %c%c beta %g", ta ? 'T' : 'N', tb ? 'T' : 'N', (double)beta);
        if (CHECK_OK(mbt_sgemm(be.device, ta, tb, m, n, k, 0.5f, ad, lda, bd, ldb, beta, cd, n)))
            expect_close_tol(what, cd, c, (size_t)m * n, be.tol_product);
        free(a), free(b), free(c);
    }
}

static void case_ssyrk(void) {
    const int n = 19, k = 45;
    double *a = rand_d((size_t)n * k, 1), *c = rand_d((size_t)n * n, 9); /* C is overwritten (beta 0) */
    float *ad = dev_from(a, (size_t)n * k), *cd = dev_from(c, (size_t)n * n);
    mbt_ref_syrk(n, k, 1.0, a, k, 0.0, c, n);
    if (CHECK_OK(mbt_ssyrk(be.device, n, k, 1.0f, ad, k, 0.0f, cd, n)))
        expect_close_tol("ssyrk", cd, c, (size_t)n * n, be.tol_product);
    free(a), free(c);
}

static void case_dot_axpby(void) {
    const size_t n = 5000;
    double *x = rand_d(n, 1), *y = rand_d(n, 1), *out = malloc(n * sizeof(double)), ref = 0;
    for (size_t i = 0; i < n; i++) ref += x[i] * y[i];
    float *xd = dev_from(x, n), *yd = dev_from(y, n), *od = dev_from(x, n);
    double *sum = dev_bytes(sizeof(double)), *scratch = dev_bytes(MBT_DOT_SCRATCH * sizeof(double));
    if (CHECK_OK(mbt_dot(be.device, n, xd, yd, scratch, sum))) expect_sum("dot", sum, ref);
    for (size_t i = 0; i < n; i++) out[i] = 0.75 * x[i] - 1.5 * y[i];
    if (CHECK_OK(mbt_axpby(be.device, n, 0.75f, xd, -1.5f, yd, od))) expect_close("axpby", od, out, n);
    free(x), free(y), free(out);
}

/* The pair loss's reductions, accumulated onto a value already there, and out += alpha (x - y). */
static void case_pair_parts(void) {
    const size_t n = 4999;
    double *x = rand_d(n, 1), *y = rand_d(n, 2), *out = rand_d(n, 1), dot = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        dot += x[i] * y[i];
        sq += (x[i] - y[i]) * (x[i] - y[i]);
    }
    float *xd = dev_from(x, n), *yd = dev_from(y, n), *od = dev_from(out, n);
    double *acc = dev_bytes(2 * sizeof(double)), *scratch = dev_bytes(MBT_DOT_SCRATCH * sizeof(double));
    const double start[2] = {0.5, -3.0};
    CHECK_OK(mbt_device_from_host(be.device, acc, start, sizeof start));
    if (CHECK_OK(mbt_dot_accumulate(be.device, n, xd, yd, scratch, -0.25, 2.0, acc)))
        expect_sum("dot accumulated", acc, 0.5 + 2.0 - 0.25 * dot);
    if (CHECK_OK(mbt_sqdist_accumulate(be.device, n, xd, yd, scratch, 0.125, acc + 1)))
        expect_sum("squared distance accumulated", acc + 1, -3.0 + 0.125 * sq);
    for (size_t i = 0; i < n; i++) out[i] += 0.375 * (x[i] - y[i]);
    if (CHECK_OK(mbt_axpy_diff(be.device, n, 0.375f, xd, yd, od))) expect_close("axpy of a difference", od, out, n);
    free(x), free(y), free(out);
}

/* NT-Xent rows over a Gram matrix of unit rows (logits up to 1 / tau), 2 and 3 views, with and without w. */
static void case_ntxent(void) {
    static const struct {
        int views, B;
        double tau;
    } shapes[] = {{2, 37, 0.5}, {3, 20, 0.2}};
    for (int k = 0; k < 2; k++) {
        const int V = shapes[k].views, B = shapes[k].B, n = V * B, d = 16;
        double *z = rand_d((size_t)n * d, 1), *g = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n * n);
        mbt_ref_l2norm_forward(n, d, z, z);
        mbt_ref_syrk(n, d, 1.0, z, d, 0.0, g, n);
        for (size_t i = 0; i < (size_t)n * n; i++) g[i] = (float)g[i];
        const float tau = (float)shapes[k].tau;
        double loss;
        mbt_ref_ntxent_rows(V, B, tau, g, 0.25, 0.125, w, &loss);
        float *gd = dev_from(g, (size_t)n * n), *wd = dev_fill((size_t)n * n, 7.0f);
        double *rows = dev_bytes(n * sizeof(double)), *ld = dev_bytes(2 * sizeof(double));
        char what[64];
        snprintf(what, sizeof what, "nt-xent rows (%d views, B=%d)", V, B);
        if (CHECK_OK(mbt_ntxent_rows(be.device, V, B, tau, gd, 0.25, 0.125f, wd, rows, ld))) {
            expect_close(what, wd, w, (size_t)n * n);
            double got = NAN; /* float logits and exp: ~1e-7 relative, not TOL_SUM */
            CHECK_OK(mbt_device_to_host(be.device, &got, ld, sizeof got));
            CHECK_MSG(fabs(got - loss) <= 1e-6 * fabs(loss), "%s value on %s: %.12g, reference %.12g", what, be.name,
                      got, loss);
        }
        if (CHECK_OK(mbt_ntxent_rows(be.device, V, B, tau, gd, 0.25, 0.125f, NULL, rows, ld + 1))) {
            double a = NAN, b = NAN;
            CHECK_OK(mbt_device_to_host(be.device, &a, ld, sizeof a));
            CHECK_OK(mbt_device_to_host(be.device, &b, ld + 1, sizeof b));
            CHECK_MSG(a == b, "%s on %s: value %.17g without w, %.17g with it", what, be.name, b, a);
        }
        free(z), free(g), free(w);
    }
}

static void case_standardize(void) {
    const int B = 24, d = 150; /* two column blocks, the second one partial */
    const size_t n = (size_t)B * d;
    double *z = rand_d(n, 3), *zn = malloc(n * sizeof(double)), *is = malloc(d * sizeof(double));
    double *g = rand_d(n, 1);
    float *zd = dev_from(z, n), *znd = dev_bytes(n * sizeof(float)), *isd = dev_bytes(d * sizeof(float));
    float *gd = dev_from(g, n);
    unsigned *bad = dev_bytes(sizeof(unsigned)), got = 0;
    mbt_ref_standardize_forward(B, d, z, zn, is);
    mbt_ref_standardize_backward(B, d, zn, is, g);
    if (CHECK_OK(mbt_standardize_forward(be.device, B, d, zd, znd, isd, bad))) {
        expect_close("standardize forward", znd, zn, n);
        CHECK_OK(mbt_device_to_host(be.device, &got, bad, sizeof got));
        CHECK_MSG(got == UINT_MAX, "standardize on %s: bad column %u reported for good data", be.name, got);
    }
    if (CHECK_OK(mbt_standardize_backward(be.device, B, d, znd, isd, gd))) expect_close("standardize backward", gd, g, n);
    for (int b = 0; b < B; b++) z[(size_t)b * d + 131] = 0.5; /* constant columns 131 and 140 */
    for (int b = 0; b < B; b++) z[(size_t)b * d + 140] = -2.0;
    zd = dev_from(z, n);
    if (CHECK_OK(mbt_standardize_forward(be.device, B, d, zd, znd, isd, bad))) {
        CHECK_OK(mbt_device_to_host(be.device, &got, bad, sizeof got));
        CHECK_MSG(got == 131, "standardize on %s: first bad column %u, expected 131", be.name, got);
    }
    free(z), free(zn), free(is), free(g);
}

static void case_mix(void) {
    const int rows = 11, row = 70;
    const size_t n = (size_t)rows * row;
    int32_t perm[11], rep[11];
    mbt_rng_permutation(&rng, perm, rows);
    for (int b = 0; b < rows; b++) rep[b] = perm[b % 4]; /* repeated entries: a gather, and a racy scatter */
    double *x1 = rand_d(n, 1), *x2 = rand_d(n, 1), *x3 = rand_d(n, 1), *ref = malloc(n * sizeof(double));
    float *x1d = dev_from(x1, n), *x2d = dev_from(x2, n), *x3d = dev_from(x3, n), *od = dev_bytes(n * sizeof(float));
    for (int p = 0; p < 2; p++) {
        const int32_t *pp = p ? rep : perm;
        int32_t *pd = dev_perm(pp, rows);
        const char *tag = p ? " (repeated perm)" : "";
        char what[64];
        mbt_ref_mix_rows(rows, row, 0.3, x1, x2, pp, ref);
        snprintf(what, sizeof what, "mix rows%s", tag);
        if (CHECK_OK(mbt_mix_rows(be.device, rows, (size_t)row, 0.3f, x1d, x2d, pd, od))) expect_close(what, od, ref, n);
        mbt_ref_mix_residual(rows, row, 0.3, x1, x2, x3, pp, ref);
        snprintf(what, sizeof what, "mix residual%s", tag);
        if (CHECK_OK(mbt_mix_residual(be.device, rows, row, 0.3f, x1d, x2d, x3d, pd, od)))
            expect_close(what, od, ref, n);
        memcpy(ref, x3, n * sizeof(double));
        mbt_ref_scatter_sub(rows, row, 0.7, pp, x1, ref);
        float *yd = dev_from(x3, n);
        snprintf(what, sizeof what, "scatter%s", tag);
        if (CHECK_OK(mbt_scatter_sub(be.device, rows, row, 0.7f, pd, x1d, yd))) expect_close(what, yd, ref, n);
        for (int b = 0; b < rows; b++) memcpy(ref + (size_t)b * row, x2 + (size_t)pp[b] * row, row * sizeof(double));
        snprintf(what, sizeof what, "gather rows%s", tag);
        if (CHECK_OK(mbt_gather_rows(be.device, rows, row, pd, x2d, od))) expect_close_tol(what, od, ref, n, 0);
    }
    free(x1), free(x2), free(x3), free(ref);
}

/* C = X^T Y / B from the reference product; the diagonal, its sums and gradient; the d x d sums and dL/dC. */
static void case_xcorr(void) {
    const int B = 20, d = 140;
    const size_t n = (size_t)B * d, dd = (size_t)d * d;
    double *x = rand_d(n, 1), *y = rand_d(n, 1), *c = calloc(dd, sizeof(double));
    double *gx = rand_d(n, 1), *gy = rand_d(n, 1), *diag = malloc(d * sizeof(double));
    float *xd = dev_from(x, n), *yd = dev_from(y, n), *gxd = dev_from(gx, n), *gyd = dev_from(gy, n);
    float *diagd = dev_bytes(d * sizeof(float));
    double *acc = dev_bytes(d * sizeof(double)), *sums = dev_bytes(2 * sizeof(double));
    mbt_ref_gemm(1, 0, d, d, B, 1.0 / B, x, d, y, d, 0.0, c, d);
    double on = 0, sq = 0, off = 0;
    for (int j = 0; j < d; j++) {
        diag[j] = c[(size_t)j * d + j];
        on += (diag[j] - 1) * (diag[j] - 1);
        sq += diag[j] * diag[j];
    }
    for (size_t i = 0; i < dd; i++) off += c[i] * c[i];
    off -= sq;
    if (CHECK_OK(mbt_xcorr_diagonal(be.device, B, d, xd, yd, acc, diagd, sums, sums + 1))) {
        expect_close("xcorr diagonal", diagd, diag, d);
        expect_sum("xcorr sum (C_ii - 1)^2", sums, on);
        expect_sum("xcorr sum C_ii^2", sums + 1, sq);
    }
    const double lb = 0.25;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < d; j++) {
            const size_t at = (size_t)b * d + j;
            const double g = (2 * (diag[j] - 1) - 2 * lb * diag[j]) / B;
            gx[at] += g * y[at];
            gy[at] += g * x[at];
        }
    float *diagf = dev_from(diag, d); /* the diagonal as the device rounded it does not matter at TOL */
    if (CHECK_OK(mbt_xcorr_diag_grad(be.device, B, d, (float)lb, diagf, xd, yd, gxd, gyd))) {
        expect_close("xcorr diagonal gradient (x)", gxd, gx, n);
        expect_close("xcorr diagonal gradient (y)", gyd, gy, n);
    }
    for (size_t i = 0; i < dd; i++) c[i] = (float)c[i]; /* the terms start from a float C */
    on = off = 0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            const double v = c[(size_t)i * d + j];
            if (i == j) on += (v - 1) * (v - 1);
            else off += v * v;
        }
    float *cd = dev_from(c, dd);
    if (CHECK_OK(mbt_xcorr_cov_terms(be.device, d, cd, sums, sums + 1))) {
        expect_sum("xcorr d x d sum (C_ii - 1)^2", sums, on);
        CHECK_OK(mbt_device_to_host(be.device, &sq, sums + 1, sizeof sq));
        CHECK_MSG(fabs(sq - off) <= 1e-9 * off, "xcorr d x d off-diagonal sum on %s: %.17g, reference %.17g", be.name,
                  sq, off);
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double *v = c + (size_t)i * d + j;
            *v = i == j ? 2 * (*v - 1) : 0.5 * *v;
        }
    if (CHECK_OK(mbt_xcorr_cov_grad(be.device, d, 0.5f, cd))) expect_close("xcorr dL/dC", cd, c, dd);
    free(x), free(y), free(c), free(gx), free(gy), free(diag);
}

/* Double-precision Cholesky factor (lower) and its inverse of d x d row-major s. */
static void ref_cholesky(int d, const double *s, double *l, double *w) {
    memset(l, 0, sizeof(double) * d * d);
    memset(w, 0, sizeof(double) * d * d);
    for (int j = 0; j < d; j++) {
        double v = s[j * d + j];
        for (int k = 0; k < j; k++) v -= l[j * d + k] * l[j * d + k];
        l[j * d + j] = sqrt(v);
        for (int i = j + 1; i < d; i++) {
            double u = s[i * d + j];
            for (int k = 0; k < j; k++) u -= l[i * d + k] * l[j * d + k];
            l[i * d + j] = u / l[j * d + j];
        }
    }
    for (int c = 0; c < d; c++)
        for (int i = c; i < d; i++) {
            double v = i == c;
            for (int k = c; k < i; k++) v -= l[i * d + k] * w[k * d + c];
            w[i * d + c] = v / l[i * d + i];
        }
}

/* The batched factor and inverse, the backward (the formulas of ops/cholesky.h in double) and the error
 * of a group that is not positive definite (CPU: at once; CUDA: through info). */
static void case_cholesky(void) {
    const int G = 3, d = 40, n = 60;
    const size_t dd = (size_t)d * d, all = G * dd;
    double *x = rand_d((size_t)n * d, 1), *a = malloc(all * sizeof(double)), *l = malloc(all * sizeof(double));
    double *w = malloc(all * sizeof(double)), *gw = rand_d(all, 1), *ga = malloc(all * sizeof(double));
    double *t1 = malloc(dd * sizeof(double)), *t2 = malloc(dd * sizeof(double));
    for (int g = 0; g < G; g++) {
        double *ag = a + g * dd;
        mbt_ref_gemm(1, 0, d, d, n, 1.0 / n, x, d, x, d, 0.0, ag, d); /* X^T X / n + (0.5 + g) I */
        for (int i = 0; i < d; i++) ag[i * d + i] += 0.5 + g;
        for (size_t i = 0; i < dd; i++) ag[i] = (float)ag[i];
        ref_cholesky(d, ag, l + g * dd, w + g * dd);
        const double *L = l + g * dd, *W = w + g * dd;
        mbt_ref_gemm(0, 1, d, d, d, 1.0, gw + g * dd, d, W, d, 0.0, t1, d);
        mbt_ref_gemm(1, 0, d, d, d, 1.0, W, d, t1, d, 0.0, t2, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) t2[i * d + j] = j <= i ? -t2[i * d + j] : 0.0; /* gL */
        mbt_ref_gemm(1, 0, d, d, d, 1.0, L, d, t2, d, 0.0, t1, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) t1[i * d + j] = t1[j * d + i] = 0.5 * t1[i * d + j]; /* P */
        mbt_ref_gemm(0, 0, d, d, d, 1.0, t1, d, W, d, 0.0, t2, d);
        mbt_ref_gemm(1, 0, d, d, d, 1.0, W, d, t2, d, 0.0, ga + g * dd, d);
    }
    float *ad = dev_from(a, all), *ld = dev_fill(all, 7), *wd = dev_fill(all, 7), *gwd = dev_from(gw, all);
    float *gad = dev_fill(all, 7), *scratch = dev_bytes(2 * all * sizeof(float));
    int32_t *info = dev_bytes(G * sizeof(int32_t)), got[3] = {-1, -1, -1};
    void *ws = dev_bytes(mbt_cholesky_workspace_bytes(G));
    if (CHECK_OK(mbt_cholesky_inverse(be.device, G, d, ad, ld, wd, info, ws))) {
        expect_close("cholesky factor", ld, l, all);
        expect_close("cholesky inverse factor", wd, w, all);
        CHECK_OK(mbt_device_to_host(be.device, got, info, sizeof got));
        CHECK_MSG(got[0] == 0 && got[1] == 0 && got[2] == 0, "cholesky on %s: info %d %d %d", be.name, got[0],
                  got[1], got[2]);
    }
    if (CHECK_OK(mbt_cholesky_inverse_backward(be.device, G, d, ld, wd, gwd, gad, scratch)))
        expect_close_tol("cholesky backward", gad, ga, all, be.tol_product);
    a[dd + 5 * d + 5] = -1.0; /* group 1's leading minor of order 6 is not positive definite */
    float *bad = dev_from(a, all);
    mbt_status st = mbt_cholesky_inverse(be.device, G, d, bad, ld, wd, info, ws);
    if (be.device == MBT_DEVICE_CPU) CHECK(st == MBT_ERR_NUMERIC);
    else CHECK_OK(st);
    CHECK_OK(mbt_device_to_host(be.device, got, info, sizeof got));
    CHECK_MSG(got[0] == 0 && got[1] == 6 && got[2] == 0, "cholesky of a bad group 1 on %s: info %d %d %d", be.name,
              got[0], got[1], got[2]);
    CHECK(mbt_cholesky_info_status("test", G, d, got) == MBT_ERR_NUMERIC);
    CHECK_MSG(strstr(mbt_error_message(), "group 1") != NULL, "cholesky error message '%s'", mbt_error_message());
    free(x), free(a), free(l), free(w), free(gw), free(ga), free(t1), free(t2);
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"conv2d", case_conv},
    {"batchnorm", case_bn},
    {"pooling", case_pool},
    {"linear, l2norm, relu", case_linear_l2_relu},
    {"sgemm", case_sgemm},
    {"ssyrk", case_ssyrk},
    {"dot, axpby", case_dot_axpby},
    {"pair loss parts", case_pair_parts},
    {"nt-xent rows", case_ntxent},
    {"standardize", case_standardize},
    {"mix", case_mix},
    {"xcorr", case_xcorr},
    {"cholesky", case_cholesky},
};

static void run_backend(mbt_device device, const char *name, int tf32) {
    be.device = device;
    be.name = name;
    be.skipped = 0;
    be.block = device == MBT_DEVICE_CPU ? mbt_cpu_channel_block() : 1;
    be.unit = device == MBT_DEVICE_CPU ? be.block : 16;
    be.tol_conv = tf32 ? TOL_TF32 : device == MBT_DEVICE_CPU ? TOL : TOL_CONV;
    be.tol_product = tf32 ? TOL_TF32 : TOL;
    mbt_rng_init(&rng, 3, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].run();
        CHECK_OK(mbt_device_synchronize(device, cases[i].name));
        dev_free_all();
    }
    printf("test_ops_cpu_cuda: %zu cases on %s%s (%d shapes its layout cannot hold skipped)\n",
           sizeof cases / sizeof cases[0], name, tf32 ? " with TF32 products" : "", be.skipped);
}

int main(void) {
    mbt_set_threads(2);
    run_backend(MBT_DEVICE_CPU, "cpu", 0);
    /* CUDA in fp32 unless MIXBT_TEST_TF32=1; set before the context exists */
    const char *tf = getenv("MIXBT_TEST_TF32");
    const int tf32 = tf && !strcmp(tf, "1");
    setenv("MIXBT_NO_TF32", tf32 ? "0" : "1", 1);
    mbt_device cuda;
    if (check_cuda_or_skip("test_ops_cpu_cuda (cuda)") == 0 && CHECK_OK(mbt_device_open("cuda", "test", &cuda)))
        run_backend(cuda, "cuda", tf32);
    return check_report("test_ops_cpu_cuda");
}
