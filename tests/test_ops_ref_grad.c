/* The double-precision reference ops' backward functions (src/ops/ref.h) against central finite
 * differences of L = sum(dy * f(x)) for a random dy: conv2d (strides 1/2, pads 0/1/3, kernels
 * 1/3/7, odd sizes, c_in != c_out, batch > 1), batch norm training (hw = 1 and > 1; x, gamma, beta),
 * max pooling (no ties), global average pooling, linear (with and without bias), ReLU (away from 0),
 * L2 normalisation (incl. a row below the clamp), NT-Xent rows (views 2 and 3, tau 0.5 and 0.2). Also: dx is overwritten (prefilled with garbage)
 * and parameter gradients accumulate (two backward calls give twice the gradient). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "ops/ref.h"

#define H 1e-5     /* finite-difference step for O(1) inputs */
#define FD_TOL 1e-7 /* max |fd - analytic| relative to max |analytic| */
#define GARBAGE 7.0 /* prefilled into dx to check that backward overwrites it */

static mbt_rng rng;

static double *rand_d(size_t n, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0);
    return a;
}

static double *filled(size_t n, double v) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = v;
    return a;
}

static double dot(size_t n, const double *a, const double *b) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Compares grad[0..n) with central differences of f with respect to p[0..n) (step h). */
static void fd_check(const char *what, loss_fn f, void *ctx, double *p, size_t n, const double *grad, double h) {
    double err = 0, scale = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double save = p[i];
        p[i] = save + h;
        double lp = f(ctx);
        p[i] = save - h;
        double lm = f(ctx);
        p[i] = save;
        double fd = (lp - lm) / (2 * h), e = fabs(fd - grad[i]);
        if (isnan(e) || e > err) {
            err = isnan(e) ? INFINITY : e;
            worst = i;
        }
        scale = fmax(scale, fabs(grad[i]));
    }
    CHECK_MSG(scale > 0 && err <= FD_TOL * scale, "%s: max |fd - analytic| %.3g at %zu (scale %.3g)", what, err,
              worst, scale);
}

/* b == 2 * a elementwise (accumulation of two identical backward calls into zeroed gradients). */
static void check_doubled(const char *what, const double *a, const double *b, size_t n) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs(b[i] - 2 * a[i]));
        scale = fmax(scale, fabs(a[i]));
    }
    CHECK_MSG(scale > 0 && err <= 1e-12 * scale, "%s: second backward did not accumulate (err %.3g)", what, err);
}

/* ---- conv2d ------------------------------------------------------------------------------------ */

typedef struct {
    mbt_conv2d_shape s;
    double *x, *w, *dy, *y;
    size_t ny;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = p;
    mbt_ref_conv2d_forward(&c->s, c->x, c->w, c->y);
    return dot(c->ny, c->dy, c->y);
}

static void test_conv(int n, int cin, int h, int w, int cout, int k, int stride, int pad) {
    conv_ctx c = {{n, cin, h, w, cout, k, stride, pad}, 0, 0, 0, 0, 0};
    size_t nx = (size_t)n * cin * h * w, nw = (size_t)cout * cin * k * k;
    c.ny = (size_t)n * cout * mbt_conv2d_h_out(&c.s) * mbt_conv2d_w_out(&c.s);
    c.x = rand_d(nx, 1);
    c.w = rand_d(nw, 0.5);
    c.dy = rand_d(c.ny, 1);
    c.y = malloc(c.ny * sizeof(double));
    double *dx = filled(nx, GARBAGE), *dw = calloc(nw, sizeof(double)), *dw2 = calloc(nw, sizeof(double));
    mbt_ref_conv2d_backward(&c.s, c.x, c.w, c.dy, dx, dw);
    char what[96];
    snprintf(what, sizeof what, "conv2d n%d %dx%dx%d -> %d k%d s%d p%d", n, cin, h, w, cout, k, stride, pad);
    char wx[112], ww[112];
    snprintf(wx, sizeof wx, "%s dx", what);
    snprintf(ww, sizeof ww, "%s dw", what);
    fd_check(wx, conv_loss, &c, c.x, nx, dx, H);
    fd_check(ww, conv_loss, &c, c.w, nw, dw, H);
    mbt_ref_conv2d_backward(&c.s, c.x, c.w, c.dy, NULL, dw2); /* dx not wanted */
    mbt_ref_conv2d_backward(&c.s, c.x, c.w, c.dy, NULL, dw2);
    check_doubled(ww, dw, dw2, nw);
    free(c.x); free(c.w); free(c.dy); free(c.y); free(dx); free(dw); free(dw2);
}

/* ---- batch norm -------------------------------------------------------------------------------- */

typedef struct {
    mbt_batchnorm_shape s;
    double *x, *gamma, *beta, *dy, *y, *mean, *var;
    size_t nx;
} bn_ctx;

static double bn_loss(void *p) {
    bn_ctx *c = p;
    mbt_ref_batchnorm_forward_train(&c->s, c->x, c->gamma, c->beta, c->y, c->mean, c->var, NULL, NULL);
    return dot(c->nx, c->dy, c->y);
}

static void test_batchnorm(int n, int ch, int hw) {
    bn_ctx c = {{n, ch, hw, 1e-5f, 0.1f}, 0, 0, 0, 0, 0, 0, 0, (size_t)n * ch * hw};
    c.x = rand_d(c.nx, 2);
    c.gamma = rand_d(ch, 1.5);
    c.beta = rand_d(ch, 1);
    c.dy = rand_d(c.nx, 1);
    c.y = malloc(c.nx * sizeof(double));
    c.mean = malloc(ch * sizeof(double));
    c.var = malloc(ch * sizeof(double));
    for (size_t i = 0; i < c.nx; i++) c.x[i] += 0.5; /* a non-zero mean */
    bn_loss(&c);                                     /* save_mean/save_var at x */
    double *dx = filled(c.nx, GARBAGE), *dg = calloc(ch, 8), *db = calloc(ch, 8), *dg2 = calloc(ch, 8),
           *db2 = calloc(ch, 8), *dx2 = malloc(c.nx * 8);
    mbt_ref_batchnorm_backward(&c.s, c.x, c.gamma, c.mean, c.var, c.dy, dx, dg, db);
    char what[64], w2[96];
    snprintf(what, sizeof what, "batchnorm n%d c%d hw%d", n, ch, hw);
    snprintf(w2, sizeof w2, "%s dx", what);
    fd_check(w2, bn_loss, &c, c.x, c.nx, dx, H);
    snprintf(w2, sizeof w2, "%s dgamma", what);
    fd_check(w2, bn_loss, &c, c.gamma, ch, dg, H);
    snprintf(w2, sizeof w2, "%s dbeta", what);
    fd_check(w2, bn_loss, &c, c.beta, ch, db, H);
    bn_loss(&c);
    mbt_ref_batchnorm_backward(&c.s, c.x, c.gamma, c.mean, c.var, c.dy, dx2, dg2, db2);
    mbt_ref_batchnorm_backward(&c.s, c.x, c.gamma, c.mean, c.var, c.dy, dx2, dg2, db2);
    snprintf(w2, sizeof w2, "%s dgamma", what);
    check_doubled(w2, dg, dg2, ch);
    snprintf(w2, sizeof w2, "%s dbeta", what);
    check_doubled(w2, db, db2, ch);
    free(c.x); free(c.gamma); free(c.beta); free(c.dy); free(c.y); free(c.mean); free(c.var);
    free(dx); free(dg); free(db); free(dg2); free(db2); free(dx2);
}

/* ---- pooling ----------------------------------------------------------------------------------- */

typedef struct {
    mbt_pool_shape s;
    double *x, *dy, *y;
    size_t ny;
} pool_ctx;

static double maxpool_loss(void *p) {
    pool_ctx *c = p;
    mbt_ref_maxpool_forward(&c->s, c->x, c->y);
    return dot(c->ny, c->dy, c->y);
}

static void test_maxpool(int n, int ch, int h, int w, int k, int stride, int pad) {
    pool_ctx c = {{n, ch, h, w, k, stride, pad}, 0, 0, 0, 0};
    size_t nx = (size_t)n * ch * h * w;
    c.ny = (size_t)n * ch * mbt_pool_h_out(&c.s) * mbt_pool_w_out(&c.s);
    /* Distinct values 0.01 apart (a random permutation), so no ties and no arg-max change within H. */
    int32_t *perm = malloc(nx * sizeof(int32_t));
    mbt_rng_permutation(&rng, perm, (int)nx);
    c.x = malloc(nx * sizeof(double));
    for (size_t i = 0; i < nx; i++) c.x[i] = 0.01 * perm[i] - 0.005 * (double)nx;
    c.dy = rand_d(c.ny, 1);
    c.y = malloc(c.ny * sizeof(double));
    double *dx = filled(nx, GARBAGE);
    mbt_ref_maxpool_backward(&c.s, c.x, c.dy, dx);
    char what[96];
    snprintf(what, sizeof what, "maxpool n%d c%d %dx%d k%d s%d p%d dx", n, ch, h, w, k, stride, pad);
    fd_check(what, maxpool_loss, &c, c.x, nx, dx, H);
    free(perm); free(c.x); free(c.dy); free(c.y); free(dx);
}

static double avgpool_loss(void *p) {
    pool_ctx *c = p;
    mbt_ref_avgpool_forward(c->s.n, c->s.c, c->s.h * c->s.w, c->x, c->y);
    return dot(c->ny, c->dy, c->y);
}

static void test_avgpool(int n, int ch, int hw) {
    pool_ctx c = {{n, ch, hw, 1, 0, 0, 0}, 0, 0, 0, (size_t)n * ch};
    size_t nx = (size_t)n * ch * hw;
    c.x = rand_d(nx, 1);
    c.dy = rand_d(c.ny, 1);
    c.y = malloc(c.ny * sizeof(double));
    double *dx = filled(nx, GARBAGE);
    mbt_ref_avgpool_backward(n, ch, hw, c.dy, dx);
    fd_check("avgpool dx", avgpool_loss, &c, c.x, nx, dx, H);
    free(c.x); free(c.dy); free(c.y); free(dx);
}

/* ---- linear, relu, l2norm ---------------------------------------------------------------------- */

typedef struct {
    int n, in, out;
    double *x, *w, *b, *dy, *y;
} lin_ctx;

static double linear_loss(void *p) {
    lin_ctx *c = p;
    mbt_ref_linear_forward(c->n, c->in, c->out, c->x, c->w, c->b, c->y);
    return dot((size_t)c->n * c->out, c->dy, c->y);
}

static void test_linear(int n, int in, int out, int bias) {
    lin_ctx c = {n, in, out, rand_d((size_t)n * in, 1), rand_d((size_t)out * in, 0.5), bias ? rand_d(out, 1) : NULL,
                 rand_d((size_t)n * out, 1), malloc((size_t)n * out * sizeof(double))};
    size_t nx = (size_t)n * in, nw = (size_t)out * in;
    double *dx = filled(nx, GARBAGE), *dw = calloc(nw, 8), *db = calloc(out, 8), *dw2 = calloc(nw, 8),
           *db2 = calloc(out, 8);
    mbt_ref_linear_backward(n, in, out, c.x, c.w, c.dy, dx, dw, bias ? db : NULL);
    fd_check(bias ? "linear+bias dx" : "linear dx", linear_loss, &c, c.x, nx, dx, H);
    fd_check(bias ? "linear+bias dw" : "linear dw", linear_loss, &c, c.w, nw, dw, H);
    if (bias) fd_check("linear+bias db", linear_loss, &c, c.b, out, db, H);
    mbt_ref_linear_backward(n, in, out, c.x, c.w, c.dy, NULL, dw2, bias ? db2 : NULL);
    mbt_ref_linear_backward(n, in, out, c.x, c.w, c.dy, NULL, dw2, bias ? db2 : NULL);
    check_doubled("linear dw", dw, dw2, nw);
    if (bias) check_doubled("linear db", db, db2, out);
    free(c.x); free(c.w); free(c.b); free(c.dy); free(c.y); free(dx); free(dw); free(db); free(dw2); free(db2);
}

typedef struct {
    int n, d;
    double *x, *dy, *y;
} row_ctx;

static double relu_loss(void *p) {
    row_ctx *c = p;
    mbt_ref_relu_forward((long)c->n * c->d, c->x, c->y);
    return dot((size_t)c->n * c->d, c->dy, c->y);
}

static void test_relu(void) {
    row_ctx c = {1, 200, rand_d(200, 1), rand_d(200, 1), malloc(200 * sizeof(double))};
    for (int i = 0; i < 200; i++) c.x[i] += c.x[i] > 0 ? 0.01 : -0.01; /* away from the kink */
    double *dx = filled(200, GARBAGE);
    mbt_ref_relu_forward(200, c.x, c.y);
    mbt_ref_relu_backward(200, c.y, c.dy, dx);
    fd_check("relu dx", relu_loss, &c, c.x, 200, dx, H);
    free(c.x); free(c.dy); free(c.y); free(dx);
}

static double l2norm_loss(void *p) {
    row_ctx *c = p;
    mbt_ref_l2norm_forward(c->n, c->d, c->x, c->y);
    return dot((size_t)c->n * c->d, c->dy, c->y);
}

static void test_l2norm(void) {
    int n = 4, d = 13;
    row_ctx c = {n, d, rand_d((size_t)n * d, 1), rand_d((size_t)n * d, 1), malloc((size_t)n * d * sizeof(double))};
    for (int j = 0; j < d; j++) c.x[3 * d + j] *= 1e-14; /* norm ~4e-14 < eps = 1e-12 */
    double *dx = filled((size_t)n * d, GARBAGE);
    mbt_ref_l2norm_backward(n, d, c.x, c.dy, dx);
    fd_check("l2norm dx (rows above the clamp)", l2norm_loss, &c, c.x, (size_t)3 * d, dx, H);
    /* below the clamp y = x / eps: a step far below the row's norm keeps it clamped */
    fd_check("l2norm dx (row below the clamp)", l2norm_loss, &c, c.x + 3 * d, (size_t)d, dx + 3 * d, 1e-17);
    free(c.x); free(c.dy); free(c.y); free(dx);
}

typedef struct {
    int views, B;
    double tau, *g;
} ntxent_ctx;

static double ntxent_loss(void *ctx) {
    ntxent_ctx *c = ctx;
    double l;
    mbt_ref_ntxent_rows(c->views, c->B, c->tau, c->g, 0.3, 0.0, NULL, &l);
    return l;
}

/* NT-Xent rows: with grad_scale = loss_scale / tau, w is dL/dg over every entry of a general g. */
static void test_ntxent(int views, int B, double tau) {
    const size_t n = (size_t)views * B;
    ntxent_ctx c = {views, B, tau, rand_d(n * n, 2)};
    double *w = filled(n * n, GARBAGE), l;
    mbt_ref_ntxent_rows(views, B, tau, c.g, 0.3, 0.3 / tau, w, &l);
    CHECK_MSG(l == ntxent_loss(&c), "ntxent: the loss depends on whether w is asked for");
    char what[64];
    snprintf(what, sizeof what, "ntxent dL/dg (%d views, B=%d, tau %g)", views, B, tau);
    fd_check(what, ntxent_loss, &c, c.g, n * n, w, H);
    free(c.g); free(w);
}

int main(void) {
    mbt_rng_init(&rng, 11, 0);
    test_conv(2, 3, 7, 9, 4, 3, 1, 1);
    test_conv(2, 3, 7, 9, 5, 3, 2, 1);
    test_conv(2, 2, 7, 9, 3, 7, 2, 3);
    test_conv(1, 2, 7, 9, 3, 7, 1, 3);
    test_conv(2, 2, 9, 7, 3, 7, 1, 0);
    test_conv(3, 4, 7, 9, 2, 1, 2, 0);
    test_conv(2, 3, 6, 8, 4, 1, 1, 0);
    test_conv(2, 4, 8, 8, 3, 3, 2, 0);
    test_batchnorm(6, 3, 1);
    test_batchnorm(3, 4, 5);
    test_maxpool(2, 3, 7, 7, 3, 2, 1);
    test_maxpool(2, 3, 8, 8, 3, 2, 1);
    test_maxpool(1, 2, 9, 6, 2, 2, 0);
    test_avgpool(3, 4, 10);
    test_linear(5, 7, 4, 0);
    test_linear(5, 7, 4, 1);
    test_relu();
    test_l2norm();
    test_ntxent(2, 5, 0.5);
    test_ntxent(3, 4, 0.2);
    return check_report("test_ops_ref_grad");
}
