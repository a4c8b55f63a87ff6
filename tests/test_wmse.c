/* Tests of W-MSE (methods/wmse.h, methods/wmse_whiten.h) on the CPU: the whitening of one group and the
 * whole loss against float64 PyTorch autograd fixtures of ssl-sota's code (tools/make_wmse_fixtures.py),
 * a double-precision C implementation (tests/wmse_ref.c) checked against the same fixtures and against
 * its own central finite differences, then used as the reference at the scripts' shapes (dim 64, w_size
 * 128 and 64), the error paths (a covariance that is not positive definite, a batch that is not a
 * multiple of w_size) and the draw of the groups.
 *
 * Tolerance rules. The inputs are the fixtures' float32 numbers, so only the float arithmetic differs.
 * The whitening solves with the Cholesky factor of S = (1 - eps) C + eps I, whose rounding errors grow
 * with kappa = cond(S) (at most (lambda_max(C) + eps) / eps); measured float32 errors (relative to the
 * array's largest value) are printed by every check ("measured"), and the bounds are:
 *   values (loss, whitened rows): TOL_FLOAT * (1 + kappa_eff), gradients TOL_GRAD * (1 + kappa_eff),
 *   where kappa_eff = sqrt(kappa) (the factor's condition number, which is what the triangular inverse
 *   amplifies), TOL_FLOAT = 5e-7 and TOL_GRAD = 1e-5. Measured (this machine, OpenBLAS): error /
 *   (1 + kappa_eff) at most 1.4e-7 for values (whitened rows of the fixtures) and 2.5e-6 for gradients
 *   (dim 64, w_size 64, eps 1e-4: a rank-63 covariance shrunk by 1e-4, kappa_eff 377, dh off by 9.3e-4 of
 *   its scale; 1.5e-7 at w_size 128), so the bounds leave a margin of about 3.5 and 4;
 *   the double reference against the fixtures: 1e-10 relative; its central differences (step 1e-5,
 *   truncation ~1e-10 for these curvatures) against the fixtures: 1e-6 of the array's scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "core/status.h"
#include "fixture.h"
#include "methods/wmse.h"
#include "methods/wmse_whiten.h"
#include "wmse_ref.h"

#define TOL_FLOAT 5e-7
#define TOL_GRAD 1e-5
#define TOL_REF 1e-10
#define TOL_FD 1e-6
#define FD_STEP 1e-5

static double max_abs(const double *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* max |got - ref| / max |ref| (infinity on NaN) */
static double rel_err_f(const float *got, const double *ref, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = fabs((double)got[i] - ref[i]);
        e = isnan(v) ? INFINITY : fmax(e, v);
    }
    return e / fmax(max_abs(ref, n), 1e-300);
}

static double rel_err_d(const double *got, const double *ref, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, isnan(got[i] - ref[i]) ? INFINITY : fabs(got[i] - ref[i]));
    return e / fmax(max_abs(ref, n), 1e-300);
}

static float *to_float(const double *a, size_t n) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)a[i];
    return x;
}

/* The condition number bound of S for rows x [n, d] (power iteration on C for lambda_max). */
static double kappa_of(int n, int d, double eps, const double *x) {
    double *c = calloc((size_t)d * d, sizeof(double)), *m = calloc(d, sizeof(double)), *v = malloc(d * sizeof(double));
    double *u = malloc(d * sizeof(double)), lam = 0;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) m[j] += x[(size_t)r * d + j] / n;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                c[i * d + j] += (x[(size_t)r * d + i] - m[i]) * (x[(size_t)r * d + j] - m[j]) / (n - 1);
    for (int j = 0; j < d; j++) v[j] = 1.0 / sqrt(d);
    for (int k = 0; k < 200; k++) {
        double s = 0;
        for (int i = 0; i < d; i++) {
            u[i] = 0;
            for (int j = 0; j < d; j++) u[i] += c[i * d + j] * v[j];
            s += u[i] * u[i];
        }
        lam = sqrt(s);
        for (int i = 0; i < d; i++) v[i] = u[i] / lam;
    }
    free(c), free(m), free(v), free(u);
    return ((1 - eps) * lam + eps) / eps;
}

/* kappa_eff over the groups of a loss case: the largest sqrt(kappa) of any group of any view. */
static double kappa_eff_of(const wmse_shape *c, const double *h, const int32_t *perms) {
    const int n = c->w_size, d = c->dim;
    double *x = malloc(sizeof(double) * n * d), k = 0;
    for (int it = 0; it < c->w_iter; it++)
        for (int g = 0; g < c->batch / n; g++)
            for (int v = 0; v < c->views; v++) {
                for (int r = 0; r < n; r++)
                    memcpy(x + r * d, h + ((size_t)v * c->batch + perms[(size_t)it * c->batch + g * n + r]) * d,
                           sizeof(double) * d);
                k = fmax(k, sqrt(kappa_of(n, d, c->eps, x)));
            }
    free(x);
    return k;
}

/* ---- whitening of one group ---- */

typedef struct {
    int n, d;
    double eps;
    const double *x, *gy;
} whiten_job;

static double whiten_objective(const whiten_job *j, const double *x) {
    double *y = malloc(sizeof(double) * j->n * j->d), s = 0;
    ref_whiten(j->n, j->d, j->eps, x, y, NULL, NULL);
    for (int i = 0; i < j->n * j->d; i++) s += y[i] * j->gy[i];
    free(y);
    return s;
}

static void whiten_fixture(const fixture_file *f, int k) {
    char key[32];
#define GET(name) (snprintf(key, sizeof key, "w%d_%s", k, name), fixture_get(f, key))
    const fixture_array *xa = GET("x"), *gya = GET("gy"), *ya = GET("y"), *gxa = GET("gx"), *ea = GET("eps");
#undef GET
    CHECK(xa && gya && ya && gxa && ea);
    if (!(xa && gya && ya && gxa && ea)) return;
    const int n = (int)xa->dims[0], d = (int)xa->dims[1];
    const double eps = ea->data[0];
    const size_t nd = (size_t)n * d;
    const double ke = sqrt(kappa_of(n, d, eps, xa->data));
    /* the double reference, its finite differences */
    double *y = malloc(nd * sizeof(double)), *gx = malloc(nd * sizeof(double)), *fd = malloc(nd * sizeof(double));
    double *xp = malloc(nd * sizeof(double));
    CHECK(ref_whiten(n, d, eps, xa->data, y, gya->data, gx) == 0);
    CHECK_MSG(rel_err_d(y, ya->data, nd) <= TOL_REF, "whiten %d: double reference y off by %.3g", k,
              rel_err_d(y, ya->data, nd));
    CHECK_MSG(rel_err_d(gx, gxa->data, nd) <= TOL_REF, "whiten %d: double reference gx off by %.3g", k,
              rel_err_d(gx, gxa->data, nd));
    whiten_job job = {n, d, eps, xa->data, gya->data};
    memcpy(xp, xa->data, nd * sizeof(double));
    for (size_t i = 0; i < nd; i++) {
        const double x0 = xp[i];
        xp[i] = x0 + FD_STEP;
        const double up = whiten_objective(&job, xp);
        xp[i] = x0 - FD_STEP;
        const double down = whiten_objective(&job, xp);
        xp[i] = x0;
        fd[i] = (up - down) / (2 * FD_STEP);
    }
    CHECK_MSG(rel_err_d(fd, gxa->data, nd) <= TOL_FD, "whiten %d: central differences off the fixture by %.3g", k,
              rel_err_d(fd, gxa->data, nd));
    /* the float implementation */
    mbt_whiten_ws ws;
    if (!CHECK_OK(mbt_whiten_init(&ws, 1, n, d, MBT_DEVICE_CPU))) return;
    float *x = to_float(xa->data, nd), *gy = to_float(gya->data, nd), *yf = malloc(nd * sizeof(float));
    float *gxf = malloc(nd * sizeof(float));
    int32_t info = -1;
    if (CHECK_OK(mbt_whiten_forward(&ws, 1, (float)eps, x, yf, &info)) &&
        CHECK_OK(mbt_whiten_backward(&ws, 1, (float)eps, x, gy, gxf))) {
        const double ey = rel_err_f(yf, ya->data, nd), eg = rel_err_f(gxf, gxa->data, nd);
        const double efd = rel_err_f(gxf, fd, nd);
        printf("whiten %d (n %d, d %d, eps %g, sqrt(kappa) %.3g): measured y %.3g, gx %.3g (vs differences %.3g)\n",
               k, n, d, eps, ke, ey, eg, efd);
        CHECK(info == 0);
        CHECK_MSG(ey <= TOL_FLOAT * (1 + ke), "whiten %d: y off by %.3g > %.3g", k, ey, TOL_FLOAT * (1 + ke));
        CHECK_MSG(eg <= TOL_GRAD * (1 + ke), "whiten %d: gx off by %.3g > %.3g", k, eg, TOL_GRAD * (1 + ke));
        CHECK_MSG(efd <= TOL_GRAD * (1 + ke) + TOL_FD, "whiten %d: gx off the central differences by %.3g", k, efd);
    }
    mbt_whiten_free(&ws);
    free(y), free(gx), free(fd), free(xp), free(x), free(gy), free(yf), free(gxf);
}

/* ---- the whole loss ---- */

/* The float loss and gradient of case c; returns the status of the call. */
static mbt_status float_loss(const wmse_shape *c, const double *h, const int32_t *perms, double *loss, float *dh) {
    mbt_wmse_ws *ws = NULL;
    const size_t all = (size_t)c->views * c->batch * c->dim;
    float *hf = to_float(h, all);
    mbt_wmse_params p = {c->w_size, c->w_iter, (float)c->eps, c->normalize};
    mbt_status s = mbt_wmse_ws_create(&ws, c->batch, c->dim, c->views, c->w_size, c->w_iter, MBT_DEVICE_CPU);
    if (s == MBT_OK) s = mbt_wmse_loss(ws, c->batch, hf, perms, &p, loss, dh);
    mbt_wmse_ws_destroy(ws);
    free(hf);
    return s;
}

static void compare_loss(const char *ctx, const wmse_shape *c, const double *h, const int32_t *perms, double ref,
                         const double *ref_dh) {
    const size_t all = (size_t)c->views * c->batch * c->dim;
    const double ke = kappa_eff_of(c, h, perms);
    float *dh = malloc(all * sizeof(float));
    double loss = NAN;
    if (CHECK_OK(float_loss(c, h, perms, &loss, dh))) {
        const double el = fabs(loss - ref) / fabs(ref), eg = rel_err_f(dh, ref_dh, all);
        printf("%s (views %d, batch %d, dim %d, w_size %d, w_iter %d, eps %g, normalize %d, sqrt(kappa) %.3g): "
               "measured loss %.3g, dh %.3g\n",
               ctx, c->views, c->batch, c->dim, c->w_size, c->w_iter, c->eps, c->normalize, ke, el, eg);
        CHECK_MSG(el <= TOL_FLOAT * (1 + ke), "%s: loss %.9g, expected %.9g (relative %.3g > %.3g)", ctx, loss, ref,
                  el, TOL_FLOAT * (1 + ke));
        CHECK_MSG(eg <= TOL_GRAD * (1 + ke), "%s: dh off by %.3g of its scale > %.3g", ctx, eg,
                  TOL_GRAD * (1 + ke));
    }
    free(dh);
}

static void loss_fixture(const fixture_file *f, int k) {
    char key[32], ctx[48];
#define GET(name) (snprintf(key, sizeof key, "c%d_%s", k, name), fixture_get(f, key))
    const fixture_array *sa = GET("shape"), *ha = GET("h"), *pa = GET("perms"), *la = GET("loss"), *da = GET("dh");
#undef GET
    CHECK(sa && ha && pa && la && da);
    if (!(sa && ha && pa && la && da)) return;
    const double *s = sa->data;
    wmse_shape c = {(int)s[0], (int)s[1], (int)s[2], (int)s[3], (int)s[4], (int)s[6], s[5]};
    const size_t all = ha->numel;
    int32_t *perms = malloc(pa->numel * sizeof(int32_t));
    for (size_t i = 0; i < pa->numel; i++) perms[i] = (int32_t)pa->data[i];
    /* the double reference against the fixture, and its central differences */
    double loss, *dh = malloc(all * sizeof(double)), *fd = malloc(all * sizeof(double));
    double *hp = malloc(all * sizeof(double));
    snprintf(ctx, sizeof ctx, "loss case %d", k);
    CHECK(ref_wmse(&c, ha->data, perms, &loss, dh) == 0);
    CHECK_MSG(fabs(loss - la->data[0]) <= TOL_REF * fabs(la->data[0]), "%s: double reference %.15g, fixture %.15g",
              ctx, loss, la->data[0]);
    CHECK_MSG(rel_err_d(dh, da->data, all) <= TOL_REF, "%s: double reference dh off by %.3g", ctx,
              rel_err_d(dh, da->data, all));
    memcpy(hp, ha->data, all * sizeof(double));
    for (size_t i = 0; i < all; i++) {
        double up, down;
        const double x0 = hp[i];
        hp[i] = x0 + FD_STEP;
        ref_wmse(&c, hp, perms, &up, NULL);
        hp[i] = x0 - FD_STEP;
        ref_wmse(&c, hp, perms, &down, NULL);
        hp[i] = x0;
        fd[i] = (up - down) / (2 * FD_STEP);
    }
    CHECK_MSG(rel_err_d(fd, da->data, all) <= TOL_FD, "%s: central differences off the fixture by %.3g", ctx,
              rel_err_d(fd, da->data, all));
    compare_loss(ctx, &c, ha->data, perms, la->data[0], da->data);
    free(perms), free(dh), free(fd), free(hp);
}

/* Correlated rows for views sharing a signal, rounded to float. */
static double *make_h(mbt_rng *rng, int views, int batch, int d) {
    double *mix = malloc(sizeof(double) * d * d), *base = malloc(sizeof(double) * batch * d);
    double *h = malloc(sizeof(double) * views * batch * d), *row = malloc(sizeof(double) * d);
    for (int i = 0; i < d * d; i++) mix[i] = mbt_rng_normal(rng) / sqrt(d) + (i % (d + 1) == 0);
    for (int v = -1; v < views; v++)
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < d; j++) row[j] = mbt_rng_normal(rng);
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int k = 0; k < d; k++) s += row[k] * mix[k * d + j];
                if (v < 0) base[b * d + j] = s;
                else h[((size_t)v * batch + b) * d + j] = (float)(base[b * d + j] + 0.5 * s);
            }
        }
    free(mix), free(base), free(row);
    return h;
}

/* The scripts' shapes against the double reference (values and the gradient it computes, whose formulas
 * the fixtures and the differences above check). */
static void scripts_shape(int w_size, double eps, int normalize) {
    mbt_rng rng;
    mbt_rng_init(&rng, 11, (uint64_t)w_size);
    wmse_shape c = {2, 256, 64, w_size, 1, normalize, eps};
    double *h = make_h(&rng, c.views, c.batch, c.dim), loss, *dh = malloc(sizeof(double) * 2 * 256 * 64);
    int32_t *perms = malloc(sizeof(int32_t) * c.batch);
    mbt_wmse_draw_groups(5, 0, c.batch, 1, perms);
    char ctx[48];
    snprintf(ctx, sizeof ctx, "scripts' shape");
    const int info = ref_wmse(&c, h, perms, &loss, dh);
    CHECK(info == 0);
    if (info == 0) compare_loss(ctx, &c, h, perms, loss, dh);
    free(h), free(dh), free(perms);
}

/* ---- errors, the draw ---- */

static void errors(void) {
    mbt_rng rng;
    mbt_rng_init(&rng, 12, 0);
    wmse_shape c = {2, 16, 8, 16, 1, 1, 0.0};
    double *h = make_h(&rng, 2, 16, 8), loss;
    int32_t perms[16];
    mbt_wmse_draw_groups(1, 2, 16, 1, perms);
    /* eps 0 and a zero column in view 1's rows: the covariance's pivot is exactly 0 */
    for (int b = 0; b < 16; b++) h[(16 + b) * 8 + 3] = 0.25;
    CHECK(float_loss(&c, h, perms, &loss, NULL) == MBT_ERR_NUMERIC);
    CHECK_MSG(strstr(mbt_error_message(), "view 1, group 0") != NULL, "singular group: message '%s'",
              mbt_error_message());
    /* eps 0 and w_size 4 <= dim 8: a rank-3 covariance */
    for (int b = 0; b < 16; b++) h[(16 + b) * 8 + 3] = mbt_rng_normal(&rng);
    c.w_size = 4;
    CHECK(float_loss(&c, h, perms, &loss, NULL) == MBT_ERR_NUMERIC);
    CHECK_MSG(strstr(mbt_error_message(), "not positive definite") != NULL, "rank-deficient group: message '%s'",
              mbt_error_message());
    /* the same rows with eps 1e-2 are fine, on the same workspace after a failure */
    mbt_wmse_ws *ws = NULL;
    float *hf = to_float(h, 2 * 16 * 8), dh[2 * 16 * 8];
    mbt_wmse_params p = {4, 1, 0.0f, 1};
    if (CHECK_OK(mbt_wmse_ws_create(&ws, 16, 8, 2, 4, 1, MBT_DEVICE_CPU))) {
        CHECK(mbt_wmse_loss(ws, 16, hf, perms, &p, &loss, dh) == MBT_ERR_NUMERIC);
        p.eps = 1e-2f;
        CHECK_OK(mbt_wmse_loss(ws, 16, hf, perms, &p, &loss, dh));
        CHECK(isfinite(loss));
        /* a batch that is not a multiple of w_size */
        CHECK(mbt_wmse_loss(ws, 14, hf, perms, &p, &loss, dh) == MBT_ERR_ARG);
        p.w_size = 8;
        CHECK(mbt_wmse_loss(ws, 16, hf, perms, &p, &loss, dh) == MBT_ERR_ARG); /* not the planned w_size */
        p.w_size = 4;
        p.w_iter = 2;
        CHECK(mbt_wmse_loss(ws, 16, hf, perms, &p, &loss, dh) == MBT_ERR_ARG); /* more iterations than planned */
        p.w_iter = 1;
        CHECK(mbt_wmse_loss_collect(ws, &loss) == MBT_ERR_ARG); /* nothing queued */
        CHECK_OK(mbt_wmse_loss_queue(ws, 16, hf, perms, &p, NULL));
        CHECK(mbt_wmse_loss_queue(ws, 16, hf, perms, &p, NULL) == MBT_ERR_ARG); /* one call in flight */
        double again = NAN;
        CHECK_OK(mbt_wmse_loss_collect(ws, &again));
        CHECK_MSG(again == loss, "queued loss without gradient %.17g, with %.17g", again, loss);
    }
    wmse_shape bad = {2, 12, 8, 8, 1, 1, 1e-2}; /* batch 12, w_size 8: a workspace for it, then the call fails */
    CHECK(float_loss(&bad, h, perms, &loss, NULL) == MBT_ERR_ARG);
    mbt_wmse_ws_destroy(ws);
    free(h), free(hf);
}

static int is_permutation(const int32_t *p, int n) {
    char *seen = calloc(n, 1);
    int ok = 1;
    for (int i = 0; i < n && ok; i++) ok = p[i] >= 0 && p[i] < n && !seen[p[i]]++;
    free(seen);
    return ok;
}

static void draw(void) {
    int32_t a[2 * 64], b[2 * 64], c[2 * 64];
    mbt_wmse_draw_groups(7, 41, 64, 2, a);
    mbt_wmse_draw_groups(7, 41, 64, 2, b);
    mbt_wmse_draw_groups(7, 42, 64, 2, c);
    CHECK(is_permutation(a, 64) && is_permutation(a + 64, 64));
    CHECK(memcmp(a, b, sizeof a) == 0);      /* a pure function of (seed, step) */
    CHECK(memcmp(a, c, sizeof a) != 0);      /* another step, other groups */
    CHECK(memcmp(a, a + 64, sizeof a / 2) != 0); /* the iterations differ */
}

int main(void) {
    fixture_file f;
    const int loaded = fixture_load(&f, "wmse.bin") == 0;
    CHECK(loaded);
    if (loaded) {
        const int nw = (int)fixture_scalar(&f, "nwhiten"), nc = (int)fixture_scalar(&f, "ncases");
        for (int k = 0; k < nw; k++) whiten_fixture(&f, k);
        for (int k = 0; k < nc; k++) loss_fixture(&f, k);
        fixture_free(&f);
    }
    scripts_shape(128, 1e-2, 1);
    scripts_shape(128, 1e-4, 1);
    scripts_shape(64, 1e-2, 0);
    scripts_shape(64, 1e-4, 1);
    errors();
    draw();
    return check_report("test_wmse");
}
