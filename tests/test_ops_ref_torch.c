/* The double-precision reference ops (src/ops/ref.h) against PyTorch float64 values and autograd
 * gradients (tests/fixtures/ref_ops.bin, tools/make_ref_op_fixtures.py): conv2d 7x7/2/3 and 3x3/2/1
 * (odd size), batch norm training (2d and 1d, incl. saved and running statistics) and evaluation,
 * max pooling 3x3/2/1 (without and with ties), global average pooling, linear with bias, L2 normalisation (incl. a row
 * below the clamp), ReLU, add. Each tensor must match to 1e-10 of its largest magnitude. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "ops/ref.h"

#define RTOL 1e-10

static fixture_file fx;
static int missing;

/* The fixture array "<case>_<key>" (NULL and a failed check if absent or not of `numel` values;
 * numel 0 accepts any size). */
static const double *arr(const char *c, const char *key, size_t numel) {
    char name[96];
    snprintf(name, sizeof name, "%s_%s", c, key);
    const fixture_array *a = fixture_get(&fx, name);
    CHECK_MSG(a && (numel == 0 || a->numel == numel), "fixture %s: missing or not %zu values", name, numel);
    if (!a || (numel && a->numel != numel)) {
        missing = 1;
        return NULL;
    }
    return a->data;
}

/* Copy of a fixture array (the reference ops' outputs accumulate or overwrite). */
static double *copy(const double *a, size_t n) {
    double *c = malloc(n * sizeof(double));
    memcpy(c, a, n * sizeof(double));
    return c;
}

static double *zeros(size_t n) { return calloc(n, sizeof(double)); }

static void expect(const char *c, const char *key, const double *got, size_t n) {
    const double *ref = arr(c, key, n);
    if (!ref) return;
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - ref[i]);
        err = isnan(e) ? INFINITY : fmax(err, e);
    }
    CHECK_MSG(scale > 0 && err <= RTOL * scale, "%s %s: max error %.3g (scale %.3g)", c, key, err, scale);
}

static void test_conv(const char *c) {
    const double *cfg = arr(c, "cfg", 8);
    if (!cfg) return;
    mbt_conv2d_shape s = {(int)cfg[0], (int)cfg[1], (int)cfg[2], (int)cfg[3],
                          (int)cfg[4], (int)cfg[5], (int)cfg[6], (int)cfg[7]};
    size_t nx = (size_t)s.n * s.c_in * s.h * s.w, nw = (size_t)s.c_out * s.c_in * s.kernel * s.kernel;
    size_t ny = (size_t)s.n * s.c_out * mbt_conv2d_h_out(&s) * mbt_conv2d_w_out(&s);
    const double *x = arr(c, "x", nx), *w = arr(c, "w", nw), *dy = arr(c, "dy", ny);
    if (!x || !w || !dy) return;
    double *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw);
    mbt_ref_conv2d_forward(&s, x, w, y);
    mbt_ref_conv2d_backward(&s, x, w, dy, dx, dw);
    expect(c, "y", y, ny);
    expect(c, "dx", dx, nx);
    expect(c, "dw", dw, nw);
    free(y); free(dx); free(dw);
}

static void test_bn_train(const char *c) {
    const double *cfg = arr(c, "cfg", 5);
    if (!cfg) return;
    mbt_batchnorm_shape s = {(int)cfg[0], (int)cfg[1], (int)cfg[2], (float)cfg[3], (float)cfg[4]};
    size_t nx = (size_t)s.n * s.c * s.hw, nc = (size_t)s.c;
    const double *x = arr(c, "x", nx), *g = arr(c, "gamma", nc), *b = arr(c, "beta", nc), *dy = arr(c, "dy", nx);
    const double *rm0 = arr(c, "running_mean_in", nc), *rv0 = arr(c, "running_var_in", nc);
    if (!x || !g || !b || !dy || !rm0 || !rv0) return;
    double *y = zeros(nx), *mean = zeros(nc), *var = zeros(nc), *rm = copy(rm0, nc), *rv = copy(rv0, nc);
    double *dx = zeros(nx), *dg = zeros(nc), *db = zeros(nc);
    mbt_ref_batchnorm_forward_train(&s, x, g, b, y, mean, var, rm, rv);
    mbt_ref_batchnorm_backward(&s, x, g, mean, var, dy, dx, dg, db);
    expect(c, "y", y, nx);
    expect(c, "save_mean", mean, nc);
    expect(c, "save_var", var, nc);
    expect(c, "running_mean", rm, nc);
    expect(c, "running_var", rv, nc);
    expect(c, "dx", dx, nx);
    expect(c, "dgamma", dg, nc);
    expect(c, "dbeta", db, nc);
    free(y); free(mean); free(var); free(rm); free(rv); free(dx); free(dg); free(db);
}

static void test_bn_eval(void) {
    const char *c = "bneval";
    const double *cfg = arr(c, "cfg", 5);
    if (!cfg) return;
    mbt_batchnorm_shape s = {(int)cfg[0], (int)cfg[1], (int)cfg[2], (float)cfg[3], (float)cfg[4]};
    size_t nx = (size_t)s.n * s.c * s.hw, nc = (size_t)s.c;
    const double *x = arr(c, "x", nx), *g = arr(c, "gamma", nc), *b = arr(c, "beta", nc);
    const double *rm = arr(c, "running_mean", nc), *rv = arr(c, "running_var", nc);
    if (!x || !g || !b || !rm || !rv) return;
    double *y = zeros(nx);
    mbt_ref_batchnorm_forward_eval(&s, x, g, b, rm, rv, y);
    expect(c, "y", y, nx);
    free(y);
}

static void test_maxpool(const char *c) {
    const double *cfg = arr(c, "cfg", 7);
    if (cfg) {
        mbt_pool_shape s = {(int)cfg[0], (int)cfg[1], (int)cfg[2], (int)cfg[3], (int)cfg[4], (int)cfg[5], (int)cfg[6]};
        size_t nx = (size_t)s.n * s.c * s.h * s.w, ny = (size_t)s.n * s.c * mbt_pool_h_out(&s) * mbt_pool_w_out(&s);
        const double *x = arr(c, "x", nx), *dy = arr(c, "dy", ny);
        if (x && dy) {
            double *y = zeros(ny), *dx = zeros(nx);
            mbt_ref_maxpool_forward(&s, x, y);
            mbt_ref_maxpool_backward(&s, x, dy, dx);
            expect(c, "y", y, ny);
            expect(c, "dx", dx, nx);
            free(y); free(dx);
        }
    }
}

static void test_avgpool(void) {
    const double *cfg = arr("avgpool", "cfg", 3);
    if (cfg) {
        int n = (int)cfg[0], c = (int)cfg[1], hw = (int)cfg[2];
        size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
        const double *x = arr("avgpool", "x", nx), *dy = arr("avgpool", "dy", ny);
        if (x && dy) {
            double *y = zeros(ny), *dx = zeros(nx);
            mbt_ref_avgpool_forward(n, c, hw, x, y);
            mbt_ref_avgpool_backward(n, c, hw, dy, dx);
            expect("avgpool", "y", y, ny);
            expect("avgpool", "dx", dx, nx);
            free(y); free(dx);
        }
    }
}

static void test_linear_l2_eltwise(void) {
    const double *cfg = arr("linear", "cfg", 3);
    if (cfg) {
        int n = (int)cfg[0], in = (int)cfg[1], out = (int)cfg[2];
        size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
        const double *x = arr("linear", "x", nx), *w = arr("linear", "w", nw), *b = arr("linear", "b", out),
                     *dy = arr("linear", "dy", ny);
        if (x && w && b && dy) {
            double *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(out);
            mbt_ref_linear_forward(n, in, out, x, w, b, y);
            mbt_ref_linear_backward(n, in, out, x, w, dy, dx, dw, db);
            expect("linear", "y", y, ny);
            expect("linear", "dx", dx, nx);
            expect("linear", "dw", dw, nw);
            expect("linear", "db", db, out);
            free(y); free(dx); free(dw); free(db);
        }
    }
    cfg = arr("l2norm", "cfg", 2);
    if (cfg) {
        int n = (int)cfg[0], d = (int)cfg[1];
        size_t nx = (size_t)n * d;
        const double *x = arr("l2norm", "x", nx), *dy = arr("l2norm", "dy", nx);
        if (x && dy) {
            double *y = zeros(nx), *dx = zeros(nx);
            mbt_ref_l2norm_forward(n, d, x, y);
            mbt_ref_l2norm_backward(n, d, x, dy, dx);
            expect("l2norm", "y", y, nx);
            expect("l2norm", "dx", dx, nx);
            /* the clamped last row is ~1e12 times larger in dx: check the others on their own scale */
            const double *ref = arr("l2norm", "dx", nx);
            double scale = 0, err = 0;
            for (size_t i = 0; ref && i < nx - d; i++) {
                scale = fmax(scale, fabs(ref[i]));
                err = fmax(err, fabs(dx[i] - ref[i]));
            }
            CHECK_MSG(scale > 0 && err <= RTOL * scale, "l2norm dx (rows above the clamp): max error %.3g", err);
            free(y); free(dx);
        }
    }
    const fixture_array *rx = fixture_get(&fx, "relu_x");
    const double *dy = arr("relu", "dy", 0);
    if (rx && dy) {
        size_t n = rx->numel;
        double *y = zeros(n), *dx = zeros(n);
        mbt_ref_relu_forward((long)n, rx->data, y);
        mbt_ref_relu_backward((long)n, y, dy, dx);
        expect("relu", "y", y, n);
        expect("relu", "dx", dx, n);
        free(y); free(dx);
    } else {
        CHECK_MSG(0, "fixture relu_x missing");
    }
    const fixture_array *a = fixture_get(&fx, "add_a");
    const double *b = a ? arr("add", "b", a->numel) : NULL;
    if (a && b) {
        double *y = zeros(a->numel);
        mbt_ref_add_forward((long)a->numel, a->data, b, y);
        expect("add", "y", y, a->numel);
        free(y);
    } else {
        CHECK_MSG(0, "fixture add_a/add_b missing");
    }
}

int main(void) {
    if (fixture_load(&fx, "ref_ops.bin")) {
        CHECK_MSG(0, "cannot load ref_ops.bin");
        return check_report("test_ops_ref_torch");
    }
    test_conv("conv7");
    test_conv("conv3");
    test_bn_train("bn2d");
    test_bn_train("bn1d");
    test_bn_eval();
    test_maxpool("maxpool");
    test_maxpool("maxpool_ties");
    test_avgpool();
    test_linear_l2_eltwise();
    CHECK(!missing);
    fixture_free(&fx);
    return check_report("test_ops_ref_torch");
}
