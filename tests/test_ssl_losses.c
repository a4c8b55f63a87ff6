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
#include "ops/ref.h"

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

/* ------------------------------------------------------------------------------------------------
 * SimCLR */

/* ssl-sota's contrastive loss in double: rows normalised (or not), G = z z^T, NT-Xent rows (ops/ref.h). */
static double simclr_d(int views, int B, int d, double tau, int normalize, const double *z) {
    const int n = views * B;
    double *zn = malloc(sizeof(double) * n * d), *g = malloc(sizeof(double) * n * n), loss;
    if (normalize) normalize_rows_d(n, d, z, zn);
    else memcpy(zn, z, sizeof(double) * n * d);
    mbt_ref_syrk(n, d, 1.0, zn, d, 0.0, g, n);
    mbt_ref_ntxent_rows(views, B, tau, g, 1.0 / (2.0 * B * (views * (views - 1) / 2)), 0.0, NULL, &loss);
    free(zn), free(g);
    return loss;
}

static void simclr_fixtures(const fixture_file *f) {
    const int ncases = (int)fixture_scalar(f, "n_s");
    for (int k = 0; k < ncases; k++) {
        const fixture_array *za = get(f, "s", k, "z");
        const int V = (int)scalar(f, "s", k, "views"), n = (int)za->dims[0], d = (int)za->dims[1], B = n / V;
        const mbt_simclr_params prm = {.tau = (float)scalar(f, "s", k, "tau"),
                                       .normalize = (int)scalar(f, "s", k, "norm")};
        const double ref = scalar(f, "s", k, "loss");
        float *z = to_float(za), *dz = malloc(sizeof(float) * n * d);
        for (int i = 0; i < n * d; i++) dz[i] = 7.0f; /* overwritten */
        char ctx[160];
        snprintf(ctx, sizeof ctx, "simclr case %d (%d views, B=%d of %d planned, d=%d, tau %g, normalize=%d)", k, V, B,
                 B + 2, d, (double)prm.tau, prm.normalize);
        mbt_simclr_ws *ws;
        if (!CHECK_OK(mbt_simclr_ws_create(&ws, B + 2, d, V, MBT_DEVICE_CPU))) continue;
        double L = NAN, L2 = NAN;
        if (CHECK_OK(mbt_simclr_loss(ws, B, z, &prm, &L, dz))) {
            check_value(ctx, L, ref);
            check_grad(ctx, "dz", dz, get(f, "s", k, "dz"));
        }
        if (CHECK_OK(mbt_simclr_loss(ws, B, z, &prm, &L2, NULL)))
            CHECK_MSG(L2 == L, "%s: value %.17g without dz, %.17g with it", ctx, L2, L);
        mbt_simclr_ws_destroy(ws);
        free(z), free(dz);
    }
}

typedef struct {
    int views, B, d, normalize;
    double tau;
} simclr_fd_ctx;

static double simclr_fd_loss(const void *c, const double *x) {
    const simclr_fd_ctx *s = c;
    return simclr_d(s->views, s->B, s->d, s->tau, s->normalize, x);
}

static void simclr_finite_differences(int views, double tau, int normalize) {
    const int B = 5, d = 6, n = views * B;
    float *z = malloc(sizeof(float) * n * d), *dz = malloc(sizeof(float) * n * d);
    double *zd = malloc(sizeof(double) * n * d), *fd = malloc(sizeof(double) * n * d);
    for (int i = 0; i < n * d; i++) zd[i] = z[i] = (float)(0.8 * sin(0.37 * i * i + 0.1 * i + 0.2));
    mbt_simclr_ws *ws;
    const mbt_simclr_params prm = {.tau = (float)tau, .normalize = normalize};
    char ctx[128];
    snprintf(ctx, sizeof ctx, "simclr finite differences (%d views, tau %g, normalize=%d)", views, tau, normalize);
    if (CHECK_OK(mbt_simclr_ws_create(&ws, B, d, views, MBT_DEVICE_CPU))) {
        double L;
        if (CHECK_OK(mbt_simclr_loss(ws, B, z, &prm, &L, dz))) {
            const simclr_fd_ctx c = {views, B, d, normalize, (float)tau};
            check_value(ctx, L, simclr_fd_loss(&c, zd));
            central_differences(simclr_fd_loss, &c, zd, n * d, fd);
            check_fd(ctx, "dz", dz, fd, n * d);
        }
        mbt_simclr_ws_destroy(ws);
    }
    free(z), free(dz), free(zd), free(fd);
}

/* Two calls queued, then collected in order; a third queue and a fourth collect are refused. */
static void simclr_queue_order(void) {
    enum { V = 2, B = 4, D = 5 };
    float z[V * B * D], dz[V * B * D];
    for (int i = 0; i < V * B * D; i++) z[i] = (float)cos(0.9 * i);
    const mbt_simclr_params prm = {.tau = 0.5f, .normalize = 1};
    mbt_simclr_ws *ws;
    if (!CHECK_OK(mbt_simclr_ws_create(&ws, B, D, V, MBT_DEVICE_CPU))) return;
    double a = NAN, b = NAN, qa = NAN, qb = NAN;
    CHECK_OK(mbt_simclr_loss(ws, B, z, &prm, &a, dz));
    CHECK_OK(mbt_simclr_loss(ws, 3, z, &prm, &b, NULL)); /* a different value: 3 rows per view */
    CHECK_OK(mbt_simclr_loss_queue(ws, B, z, &prm, dz));
    CHECK_OK(mbt_simclr_loss_queue(ws, 3, z, &prm, NULL));
    CHECK(mbt_simclr_loss_queue(ws, 3, z, &prm, NULL) == MBT_ERR_ARG);
    CHECK(mbt_simclr_loss(ws, 3, z, &prm, &qa, NULL) == MBT_ERR_ARG);
    CHECK_OK(mbt_simclr_loss_collect(ws, &qa));
    CHECK_OK(mbt_simclr_loss_collect(ws, &qb));
    CHECK_MSG(qa == a && qb == b && a != b, "simclr queue order: collected %.9g, %.9g; expected %.9g, %.9g", qa, qb, a,
              b);
    CHECK(mbt_simclr_loss_collect(ws, &qa) == MBT_ERR_ARG);
    mbt_simclr_ws_destroy(ws);
}

static void simclr_errors(void) {
    enum { V = 2, B = 4, D = 5 };
    float z[V * B * D];
    for (int i = 0; i < V * B * D; i++) z[i] = (float)cos(0.9 * i);
    mbt_simclr_params prm = {.tau = 0.5f, .normalize = 1};
    mbt_simclr_ws *ws;
    double L;
    CHECK(mbt_simclr_ws_create(&ws, 4, D, 1, MBT_DEVICE_CPU) == MBT_ERR_ARG);
    if (!CHECK_OK(mbt_simclr_ws_create(&ws, B, D, V, MBT_DEVICE_CPU))) return;
    CHECK(mbt_simclr_loss(ws, 1, z, &prm, &L, NULL) == MBT_ERR_SHAPE);
    CHECK(mbt_simclr_loss(ws, B + 1, z, &prm, &L, NULL) == MBT_ERR_SHAPE);
    prm.tau = 0.0f;
    CHECK(mbt_simclr_loss(ws, B, z, &prm, &L, NULL) == MBT_ERR_ARG);
    prm.tau = 0.5f;
    for (int norm = 0; norm < 2; norm++) {
        prm.normalize = norm;
        z[7] = NAN;
        CHECK(mbt_simclr_loss(ws, B, z, &prm, &L, NULL) == MBT_ERR_NUMERIC);
        z[7] = INFINITY;
        CHECK(mbt_simclr_loss(ws, B, z, &prm, &L, NULL) == MBT_ERR_NUMERIC);
        z[7] = 0.25f; /* the failed calls left nothing queued */
        CHECK_OK(mbt_simclr_loss(ws, B, z, &prm, &L, NULL));
    }
    mbt_simclr_ws_destroy(ws);
}

/* ------------------------------------------------------------------------------------------------
 * BYOL */

static double byol_d(int views, int B, int d, int normalize, const double *p, const double *t) {
    const size_t blk = (size_t)B * d;
    double s = 0;
    for (int i = 0; i < views - 1; i++)
        for (int j = i + 1; j < views; j++)
            s += pair_loss_d(normalize, B, d, p + i * blk, t + j * blk) +
                 pair_loss_d(normalize, B, d, p + j * blk, t + i * blk);
    return s / (views * (views - 1) / 2);
}

static void byol_fixtures(const fixture_file *f) {
    const int ncases = (int)fixture_scalar(f, "n_b");
    for (int k = 0; k < ncases; k++) {
        const fixture_array *pa = get(f, "b", k, "p");
        const int V = (int)scalar(f, "b", k, "views"), n = (int)pa->dims[0], d = (int)pa->dims[1], B = n / V;
        const int norm = (int)scalar(f, "b", k, "norm");
        float *p = to_float(pa), *t = to_float(get(f, "b", k, "t")), *dp = malloc(sizeof(float) * n * d);
        for (int i = 0; i < n * d; i++) dp[i] = 7.0f; /* overwritten */
        char ctx[128];
        snprintf(ctx, sizeof ctx, "byol case %d (%d views, B=%d of %d planned, d=%d, normalize=%d)", k, V, B, B + 1, d,
                 norm);
        mbt_byol_ws *ws;
        if (!CHECK_OK(mbt_byol_ws_create(&ws, B + 1, d, V, MBT_DEVICE_CPU))) continue;
        double L = NAN, L2 = NAN;
        if (CHECK_OK(mbt_byol_loss(ws, B, p, t, norm, &L, dp))) {
            check_value(ctx, L, scalar(f, "b", k, "loss"));
            check_grad(ctx, "dp", dp, get(f, "b", k, "dp"));
        }
        if (CHECK_OK(mbt_byol_loss(ws, B, p, t, norm, &L2, NULL)))
            CHECK_MSG(L2 == L, "%s: value %.17g without dp, %.17g with it", ctx, L2, L);
        mbt_byol_ws_destroy(ws);
        free(p), free(t), free(dp);
    }
}

typedef struct {
    int views, B, d, normalize;
    const double *t;
} byol_fd_ctx;

static double byol_fd_loss(const void *c, const double *x) {
    const byol_fd_ctx *b = c;
    return byol_d(b->views, b->B, b->d, b->normalize, x, b->t);
}

static void byol_finite_differences(int views, int normalize) {
    const int B = 4, d = 5, n = views * B;
    float *p = malloc(sizeof(float) * n * d), *t = malloc(sizeof(float) * n * d), *dp = malloc(sizeof(float) * n * d);
    double *pd = malloc(sizeof(double) * n * d), *td = malloc(sizeof(double) * n * d);
    double *fd = malloc(sizeof(double) * n * d);
    for (int i = 0; i < n * d; i++) {
        pd[i] = p[i] = (float)sin(0.61 * i + 0.4);
        td[i] = t[i] = (float)cos(0.23 * i * i);
    }
    char ctx[96];
    snprintf(ctx, sizeof ctx, "byol finite differences (%d views, normalize=%d)", views, normalize);
    mbt_byol_ws *ws;
    if (CHECK_OK(mbt_byol_ws_create(&ws, B, d, views, MBT_DEVICE_CPU))) {
        double L;
        if (CHECK_OK(mbt_byol_loss(ws, B, p, t, normalize, &L, dp))) {
            const byol_fd_ctx c = {views, B, d, normalize, td};
            check_value(ctx, L, byol_fd_loss(&c, pd));
            central_differences(byol_fd_loss, &c, pd, n * d, fd);
            check_fd(ctx, "dp", dp, fd, n * d);
        }
        mbt_byol_ws_destroy(ws);
    }
    free(p), free(t), free(dp), free(pd), free(td), free(fd);
}

static void byol_queue_and_errors(void) {
    enum { V = 2, B = 3, D = 4 };
    float p[V * B * D], t[V * B * D];
    for (int i = 0; i < V * B * D; i++) p[i] = (float)sin(i + 1.0), t[i] = (float)cos(2.0 * i);
    mbt_byol_ws *ws;
    CHECK(mbt_byol_ws_create(&ws, B, D, 1, MBT_DEVICE_CPU) == MBT_ERR_ARG);
    if (!CHECK_OK(mbt_byol_ws_create(&ws, B, D, V, MBT_DEVICE_CPU))) return;
    double a = NAN, b = NAN, qa = NAN, qb = NAN;
    CHECK_OK(mbt_byol_loss(ws, B, p, t, 1, &a, NULL));
    CHECK_OK(mbt_byol_loss(ws, B, p, t, 0, &b, NULL));
    CHECK_OK(mbt_byol_loss_queue(ws, B, p, t, 1, NULL));
    CHECK_OK(mbt_byol_loss_queue(ws, B, p, t, 0, NULL));
    CHECK(mbt_byol_loss_queue(ws, B, p, t, 0, NULL) == MBT_ERR_ARG);
    CHECK_OK(mbt_byol_loss_collect(ws, &qa));
    CHECK_OK(mbt_byol_loss_collect(ws, &qb));
    CHECK_MSG(qa == a && qb == b && a != b, "byol queue order: collected %.9g, %.9g; expected %.9g, %.9g", qa, qb, a,
              b);
    CHECK(mbt_byol_loss_collect(ws, &qa) == MBT_ERR_ARG);
    CHECK(mbt_byol_loss(ws, 0, p, t, 1, &a, NULL) == MBT_ERR_SHAPE);
    CHECK(mbt_byol_loss(ws, B + 1, p, t, 1, &a, NULL) == MBT_ERR_SHAPE);
    for (int norm = 0; norm < 2; norm++) {
        p[5] = NAN;
        CHECK(mbt_byol_loss(ws, B, p, t, norm, &a, NULL) == MBT_ERR_NUMERIC);
        p[5] = 0.5f, t[20] = INFINITY;
        CHECK(mbt_byol_loss(ws, B, p, t, norm, &a, NULL) == MBT_ERR_NUMERIC);
        t[20] = 0.5f;
        CHECK_OK(mbt_byol_loss(ws, B, p, t, norm, &a, NULL));
    }
    mbt_byol_ws_destroy(ws);
}

/* tau = 1 - (1 - base) (cos(pi progress) + 1) / 2: base at the start, 1 at the end. */
static void byol_tau(void) {
    CHECK_CLOSE(mbt_byol_tau(0.99, 0.0), 0.99, 0, 1e-15);
    CHECK_CLOSE(mbt_byol_tau(0.99, 0.5), 0.995, 0, 1e-15);
    CHECK_CLOSE(mbt_byol_tau(0.99, 1.0), 1.0, 0, 1e-15);
    CHECK_CLOSE(mbt_byol_tau(0.996, 0.25), 1 - 0.004 * (cos(M_PI / 4) + 1) / 2, 0, 1e-15);
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
    simclr_fixtures(&f);
    for (int views = 2; views <= 4; views += 2)
        for (int norm = 0; norm < 2; norm++) {
            simclr_finite_differences(views, 0.5, norm);
            simclr_finite_differences(views, 0.2, norm);
        }
    simclr_queue_order();
    simclr_errors();
    byol_fixtures(&f);
    for (int views = 2; views <= 4; views += 2)
        for (int norm = 0; norm < 2; norm++) byol_finite_differences(views, norm);
    byol_queue_and_errors();
    byol_tau();
    fixture_free(&f);
    return check_report("test_ssl_losses");
}
