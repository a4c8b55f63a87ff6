/* Tests of the ssl-sota baselines' losses: the pair loss (methods/pair_loss.h), SimCLR's NT-Xent
 * (methods/simclr.h) and BYOL's loss (methods/byol.h), against float64 PyTorch autograd fixtures
 * (tools/make_ssl_loss_fixtures.py), central finite differences of plain double-precision
 * implementations, smaller batches than planned, queued calls and the error paths.
 *
 * Tolerance rules (the inputs are the fixtures' float32 numbers, so only the C float arithmetic differs):
 *   values:    |L - L_ref| <= 1e-5 |L_ref| + 1e-6 (sums are in double; the float rounding of normalised rows
 *              and logits, a few ulp, moves L by ~1e-7 relative);
 *   gradients: |g - g_ref| <= 1e-5 (|g_ref| + max|g_ref|), i.e. 1e-5 of the array's scale, per element;
 *   finite differences of the double implementation (h = 1e-4, truncation ~1e-8):
 *              |g - fd| <= 1e-4 (|fd| + max|fd|). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "methods/byol.h"
#include "methods/pair_loss.h"
#include "methods/simclr.h"

static float *to_float(const fixture_array *a) {
    float *x = malloc(a->numel * sizeof(float));
    for (size_t i = 0; i < a->numel; i++) x[i] = (float)a->data[i];
    return x;
}

static const fixture_array *get(const fixture_file *f, const char *kind, int k, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "%s%d_%s", kind, k, name);
    return fixture_get(f, key);
}

static double scalar(const fixture_file *f, const char *kind, int k, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "%s%d_%s", kind, k, name);
    return fixture_scalar(f, key);
}

static double max_abs(const double *x, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static void check_value(const char *ctx, double got, double ref) {
    CHECK_MSG(fabs(got - ref) <= 1e-5 * fabs(ref) + 1e-6, "%s: loss %.9g, expected %.9g", ctx, got, ref);
}

/* The gradient rule above, against a float64 reference of n values. */
static void check_grad_ref(const char *ctx, const char *what, const float *got, const double *ref, long n) {
    long worst;
    double v = check_max_violation(got, ref, n, 1e-5, 1e-5 * max_abs(ref, n), &worst);
    CHECK_MSG(v <= 1.0, "%s %s: worst element %ld = %.9g, expected %.9g (violation %.3g)", ctx, what, worst,
              (double)got[worst], ref[worst], v);
}

static void check_grad(const char *ctx, const char *what, const float *got, const fixture_array *ref) {
    check_grad_ref(ctx, what, got, ref->data, (long)ref->numel);
}

/* The finite-difference rule above. */
static void check_fd(const char *ctx, const char *what, const float *got, const double *fd, long n) {
    long worst;
    double v = check_max_violation(got, fd, n, 1e-4, 1e-4 * max_abs(fd, n), &worst);
    CHECK_MSG(v <= 1.0, "%s %s: worst element %ld = %.9g, difference quotient %.9g (violation %.3g)", ctx, what,
              worst, (double)got[worst], fd[worst], v);
}

/* ------------------------------------------------------------------------------------------------
 * double-precision implementations (for the finite differences) */

static void normalize_rows_d(int n, int d, const double *x, double *y) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += x[i * d + j] * x[i * d + j];
        s = fmax(sqrt(s), 1e-12);
        for (int j = 0; j < d; j++) y[i * d + j] = x[i * d + j] / s;
    }
}

static double pair_loss_d(int normalize, int n, int d, const double *a, const double *b) {
    double s = 0;
    if (!normalize) {
        for (int i = 0; i < n * d; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return s / (n * d);
    }
    double *an = malloc(sizeof(double) * n * d), *bn = malloc(sizeof(double) * n * d);
    normalize_rows_d(n, d, a, an);
    normalize_rows_d(n, d, b, bn);
    for (int i = 0; i < n * d; i++) s += an[i] * bn[i];
    free(an);
    free(bn);
    return 2 - 2 * s / n;
}

/* Central differences of f at x (n doubles, perturbed in place and restored) into fd. */
typedef double (*loss_fn)(const void *ctx, const double *x);
static void central_differences(loss_fn f, const void *ctx, double *x, long n, double *fd) {
    const double h = 1e-4;
    for (long i = 0; i < n; i++) {
        const double x0 = x[i];
        x[i] = x0 + h;
        const double lp = f(ctx, x);
        x[i] = x0 - h;
        const double lm = f(ctx, x);
        x[i] = x0;
        fd[i] = (lp - lm) / (2 * h);
    }
}

/* ------------------------------------------------------------------------------------------------
 * pair loss */

static void pair_fixtures(const fixture_file *f) {
    const int ncases = (int)fixture_scalar(f, "n_p");
    for (int k = 0; k < ncases; k++) {
        const fixture_array *aa = get(f, "p", k, "a"), *ba = get(f, "p", k, "b");
        const int n = (int)aa->dims[0], d = (int)aa->dims[1], norm = (int)scalar(f, "p", k, "norm");
        const double ref = scalar(f, "p", k, "loss");
        float *a = to_float(aa), *b = to_float(ba);
        float *da = calloc((size_t)n * d, sizeof(float)), *db = calloc((size_t)n * d, sizeof(float));
        char ctx[128];
        snprintf(ctx, sizeof ctx, "pair case %d (n=%d d=%d normalize=%d, planned %d rows)", k, n, d, norm, n + 3);
        mbt_pair_loss_ws ws;
        if (CHECK_OK(mbt_pair_loss_init(&ws, n + 3, d, MBT_DEVICE_CPU))) {
            double acc = 0;
            if (CHECK_OK(mbt_pair_loss_add(&ws, norm, n, a, b, 1.0, &acc, da, db))) {
                check_value(ctx, acc, ref);
                check_grad(ctx, "da", da, get(f, "p", k, "da"));
                check_grad(ctx, "db", db, get(f, "p", k, "db"));
            }
            /* one side only, in two halves of weight 0.5: the same value and gradient, accumulated */
            acc = 0;
            memset(db, 0, sizeof(float) * n * d);
            for (int h = 0; h < 2; h++) CHECK_OK(mbt_pair_loss_add(&ws, norm, n, a, b, 0.5, &acc, NULL, db));
            check_value(ctx, acc, ref);
            check_grad(ctx, "db (da NULL, two halves)", db, get(f, "p", k, "db"));
            memset(da, 0, sizeof(float) * n * d);
            acc = 0;
            CHECK_OK(mbt_pair_loss_add(&ws, norm, n, a, b, 1.0, &acc, da, NULL));
            check_grad(ctx, "da (db NULL)", da, get(f, "p", k, "da"));
            mbt_pair_loss_free(&ws);
        }
        free(a), free(b), free(da), free(db);
    }
}

typedef struct {
    int normalize, n, d, side; /* side 0: x is a (b fixed), 1: x is b */
    const double *other;
} pair_fd_ctx;

static double pair_fd_loss(const void *c, const double *x) {
    const pair_fd_ctx *p = c;
    return p->side ? pair_loss_d(p->normalize, p->n, p->d, p->other, x)
                   : pair_loss_d(p->normalize, p->n, p->d, x, p->other);
}

static void pair_finite_differences(void) {
    enum { N = 5, D = 6 };
    float a[N * D], b[N * D], da[N * D], db[N * D];
    double ad[N * D], bd[N * D], fd[N * D];
    for (int i = 0; i < N * D; i++) {
        a[i] = (float)sin(0.7 * i + 0.3);
        b[i] = (float)cos(1.3 * i) * 1.5f;
        ad[i] = a[i], bd[i] = b[i];
    }
    mbt_pair_loss_ws ws;
    if (!CHECK_OK(mbt_pair_loss_init(&ws, N, D, MBT_DEVICE_CPU))) return;
    for (int norm = 0; norm < 2; norm++) {
        double acc = 0;
        memset(da, 0, sizeof da), memset(db, 0, sizeof db);
        if (!CHECK_OK(mbt_pair_loss_add(&ws, norm, N, a, b, 1.0, &acc, da, db))) continue;
        char ctx[64];
        snprintf(ctx, sizeof ctx, "pair finite differences (normalize=%d)", norm);
        check_value(ctx, acc, pair_loss_d(norm, N, D, ad, bd));
        pair_fd_ctx c = {norm, N, D, 0, bd};
        central_differences(pair_fd_loss, &c, ad, N * D, fd);
        check_fd(ctx, "da", da, fd, N * D);
        c.side = 1, c.other = ad;
        central_differences(pair_fd_loss, &c, bd, N * D, fd);
        check_fd(ctx, "db", db, fd, N * D);
    }
    mbt_pair_loss_free(&ws);
}

static void pair_errors(void) {
    mbt_pair_loss_ws ws;
    CHECK(mbt_pair_loss_init(&ws, 0, 4, MBT_DEVICE_CPU) == MBT_ERR_ARG);
    if (!CHECK_OK(mbt_pair_loss_init(&ws, 3, 4, MBT_DEVICE_CPU))) return;
    float a[16] = {0}, b[16] = {0};
    double acc = 0;
    CHECK(mbt_pair_loss_add(&ws, 1, 4, a, b, 1.0, &acc, NULL, NULL) == MBT_ERR_SHAPE);
    CHECK(mbt_pair_loss_add(&ws, 1, 0, a, b, 1.0, &acc, NULL, NULL) == MBT_ERR_SHAPE);
    CHECK(mbt_pair_loss_add(&ws, 1, 3, a, b, 1.0, NULL, NULL, NULL) == MBT_ERR_ARG);
    mbt_pair_loss_free(&ws);
}

int main(void) {
    fixture_file f;
    if (fixture_load(&f, "ssl_losses.bin")) {
        CHECK_MSG(0, "cannot load ssl_losses.bin");
        return check_report("test_ssl_losses");
    }
    pair_fixtures(&f);
    pair_finite_differences();
    pair_errors();
    fixture_free(&f);
    return check_report("test_ssl_losses");
}
