/* Tests of the Barlow Twins loss and the Mixed Barlow Twins regulariser (methods/barlow_twins.h):
 * values and gradients against PyTorch autograd fixtures (tools/make_loss_fixtures.py) on both evaluation
 * orders, central finite differences of a plain double-precision implementation, lambda_reg = 0 against
 * plain Barlow Twins, smaller batches than planned, and the error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "methods/barlow_twins.h"

static const char *path_name(mbt_bt_path p) {
    return p == MBT_BT_PATH_GRAM ? "gram" : p == MBT_BT_PATH_COV ? "cov" : "auto";
}

static float *to_float(const fixture_array *a) {
    float *x = malloc(a->numel * sizeof(float));
    for (size_t i = 0; i < a->numel; i++) x[i] = (float)a->data[i];
    return x;
}

static const fixture_array *get(const fixture_file *f, int k, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "c%d_%s", k, name);
    return fixture_get(f, key);
}

static double scalar(const fixture_file *f, int k, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "c%d_%s", k, name);
    return fixture_scalar(f, key);
}

static double max_abs(const double *x, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* Gradient comparison: |a - b| <= 1e-5 * (|b| + max|b|), i.e. 1e-5 relative to the array's scale. */
static void check_grad(const char *what, const float *got, const fixture_array *ref, const char *ctx) {
    long n = (long)ref->numel, worst;
    double scale = max_abs(ref->data, n);
    double v = check_max_violation(got, ref->data, n, 1e-5, 1e-5 * scale, &worst);
    CHECK_MSG(v <= 1.0, "%s %s: worst element %ld = %.9g, expected %.9g (violation %.3g)", ctx, what, worst,
              (double)got[worst], ref->data[worst], v);
}

/* Runs every case of a fixture file through the loss with the given path and workspace batch. */
static void run_fixture_file(const char *file, mbt_bt_path path, int extra_batch) {
    fixture_file f;
    if (fixture_load(&f, file)) {
        CHECK_MSG(0, "cannot load %s", file);
        return;
    }
    int ncases = (int)fixture_scalar(&f, "ncases");
    for (int k = 0; k < ncases; k++) {
        const fixture_array *z1a = get(&f, k, "z1"), *z2a = get(&f, k, "z2"), *zma = get(&f, k, "zm");
        const fixture_array *pa = get(&f, k, "perm");
        const int B = (int)z1a->dims[0], d = (int)z1a->dims[1];
        float *z1 = to_float(z1a), *z2 = to_float(z2a), *zm = to_float(zma);
        int32_t *perm = malloc(B * sizeof(int32_t));
        for (int b = 0; b < B; b++) perm[b] = (int32_t)pa->data[b];
        mbt_bt_params p = {.lambda_bt = (float)scalar(&f, k, "lambda_bt"),
                           .lambda_reg = (float)scalar(&f, k, "lambda_reg"),
                           .alpha = (float)scalar(&f, k, "alpha"),
                           .gt_uses_z2 = (int)scalar(&f, k, "gt_uses_z2")};
        float *dz1 = malloc(B * d * sizeof(float)), *dz2 = malloc(B * d * sizeof(float));
        float *dzm = malloc(B * d * sizeof(float));
        char ctx[128];
        snprintf(ctx, sizeof ctx, "%s case %d (B=%d d=%d reg=%g gt_z2=%d, %s path, planned B=%d)", file, k, B, d,
                 (double)p.lambda_reg, p.gt_uses_z2, path_name(path), B + extra_batch);

        mbt_bt_workspace ws;
        if (CHECK_OK(mbt_bt_workspace_init(&ws, B + extra_batch, d, 1, path, MBT_DEVICE_CPU))) {
            mbt_bt_losses L;
            if (CHECK_OK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L, dz1, dz2, dzm))) {
                CHECK_MSG(fabs(L.loss_bt - scalar(&f, k, "loss_bt")) <= 1e-5 * fabs(scalar(&f, k, "loss_bt")),
                          "%s: loss_bt %.9g, expected %.9g", ctx, L.loss_bt, scalar(&f, k, "loss_bt"));
                double lr = scalar(&f, k, "loss_reg");
                CHECK_MSG(fabs(L.loss_reg - lr) <= 1e-5 * fabs(lr), "%s: loss_reg %.9g, expected %.9g", ctx,
                          L.loss_reg, lr);
                check_grad("dz1", dz1, get(&f, k, "dz1"), ctx);
                check_grad("dz2", dz2, get(&f, k, "dz2"), ctx);
                if (p.lambda_reg != 0) check_grad("dzm", dzm, get(&f, k, "dzm"), ctx);
            }
            /* Values alone (no gradients) are the same. */
            mbt_bt_losses L2;
            if (CHECK_OK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L2, NULL, NULL, NULL))) {
                CHECK_CLOSE(L2.loss_bt, scalar(&f, k, "loss_bt"), 1e-5, 0);
                CHECK_CLOSE(L2.loss_reg, scalar(&f, k, "loss_reg"), 1e-5, 0);
            }
            mbt_bt_workspace_free(&ws);
        }
        free(z1), free(z2), free(zm), free(perm), free(dz1), free(dz2), free(dzm);
    }
    fixture_free(&f);
}

/* ---- An independent double-precision implementation of the reference formula (direct d x d loops). */

static void standardize_d(int B, int d, const double *z, double *zn) {
    for (int j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (int b = 0; b < B; b++) m += z[b * d + j];
        m /= B;
        for (int b = 0; b < B; b++) v += (z[b * d + j] - m) * (z[b * d + j] - m);
        double s = sqrt(v / (B - 1));
        for (int b = 0; b < B; b++) zn[b * d + j] = (z[b * d + j] - m) / s;
    }
}

/* (X^T Y / B)[i][j] */
static double xty(int B, int d, const double *x, const double *y, int i, int j) {
    double s = 0;
    for (int b = 0; b < B; b++) s += x[b * d + i] * y[b * d + j];
    return s / B;
}

static double ref_loss(int B, int d, const double *z1, const double *z2, const double *zm, const int32_t *perm,
                       const mbt_bt_params *p) {
    double *n1 = malloc(sizeof(double) * B * d), *n2 = malloc(sizeof(double) * B * d);
    double *nm = malloc(sizeof(double) * B * d), *S = malloc(sizeof(double) * B * d);
    standardize_d(B, d, z1, n1);
    standardize_d(B, d, z2, n2);
    double L = 0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double c = xty(B, d, n1, n2, i, j);
            L += i == j ? (c - 1) * (c - 1) : p->lambda_bt * c * c;
        }
    if (zm && p->lambda_reg != 0) {
        standardize_d(B, d, zm, nm);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < d; j++) S[b * d + j] = n2[perm[b] * d + j];
        const double a = p->alpha;
        const double *y = p->gt_uses_z2 ? n2 : n1;
        double r = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double e1 = xty(B, d, nm, n1, i, j) - a * xty(B, d, n1, n1, i, j) - (1 - a) * xty(B, d, S, n1, i, j);
                double e2 = xty(B, d, nm, n2, i, j) - a * xty(B, d, y, n2, i, j) - (1 - a) * xty(B, d, S, n2, i, j);
                r += e1 * e1 + e2 * e2;
            }
        L += (double)p->lambda_reg * p->lambda_bt * r;
    }
    free(n1), free(n2), free(nm), free(S);
    return L;
}

/* Central differences of ref_loss against the float gradients, on both paths. */
static void finite_difference(mbt_bt_path path, int gt_uses_z2) {
    enum { B = 5, D = 4 };
    double z[3][B * D];
    float zf[3][B * D], g[3][B * D];
    unsigned s = 12345;
    for (int v = 0; v < 3; v++)
        for (int i = 0; i < B * D; i++) {
            s = s * 1103515245u + 12345u;
            zf[v][i] = (float)((double)(s >> 8) / (1 << 24) * 2.0 - 1.0);
            z[v][i] = zf[v][i];
        }
    const int32_t perm[B] = {3, 0, 4, 1, 2};
    mbt_bt_params p = {.lambda_bt = 0.3f, .lambda_reg = 2.0f, .alpha = 0.35f, .gt_uses_z2 = gt_uses_z2};
    mbt_bt_workspace ws;
    if (!CHECK_OK(mbt_bt_workspace_init(&ws, B, D, 1, path, MBT_DEVICE_CPU))) return;
    mbt_bt_losses L;
    CHECK_OK(mbt_bt_loss(&ws, B, zf[0], zf[1], zf[2], perm, &p, &L, g[0], g[1], g[2]));
    const double l0 = ref_loss(B, D, z[0], z[1], z[2], perm, &p);
    CHECK_CLOSE(L.loss_bt + L.loss_reg, l0, 1e-5, 0);
    const double h = 1e-6;
    double worst = 0;
    for (int v = 0; v < 3; v++)
        for (int i = 0; i < B * D; i++) {
            const double keep = z[v][i];
            z[v][i] = keep + h;
            double lp = ref_loss(B, D, z[0], z[1], z[2], perm, &p);
            z[v][i] = keep - h;
            double lm = ref_loss(B, D, z[0], z[1], z[2], perm, &p);
            z[v][i] = keep;
            double fd = (lp - lm) / (2 * h);
            double err = fabs(fd - g[v][i]) / (1e-4 * (fabs(fd) + 1.0));
            if (err > worst) worst = err;
            CHECK_MSG(err <= 1.0, "finite difference (%s, gt_z2=%d): dL/dz%c[%d] = %.8g, difference quotient %.8g",
                      path_name(path), gt_uses_z2, v == 2 ? 'm' : '1' + v, i, (double)g[v][i], fd);
        }
    mbt_bt_workspace_free(&ws);
}

/* lambda_reg = 0 (or no zm) is plain Barlow Twins: same values and gradients as a workspace without the
 * regulariser, and dzm is zeroed. */
static void plain_equals_zero_reg(mbt_bt_path path) {
    enum { B = 12, D = 20 };
    static float z1[B * D], z2[B * D], zm[B * D];
    static float a1[B * D], a2[B * D], am[B * D], b1[B * D], b2[B * D];
    for (int i = 0; i < B * D; i++) {
        z1[i] = sinf(0.7f * i + 0.1f);
        z2[i] = cosf(1.3f * i);
        zm[i] = sinf(2.1f * i + 1.0f);
        am[i] = 99.0f;
    }
    int32_t perm[B];
    for (int b = 0; b < B; b++) perm[b] = (b * 5) % B;
    mbt_bt_workspace wr, wp;
    if (!CHECK_OK(mbt_bt_workspace_init(&wr, B, D, 1, path, MBT_DEVICE_CPU))) return;
    if (!CHECK_OK(mbt_bt_workspace_init(&wp, B, D, 0, path, MBT_DEVICE_CPU))) return;
    mbt_bt_params zero = {.lambda_bt = 1.0f / 128, .lambda_reg = 0.0f, .alpha = 0.4f};
    mbt_bt_params on = zero;
    on.lambda_reg = 4.0f;
    mbt_bt_losses lr, lp, lon;
    CHECK_OK(mbt_bt_loss(&wr, B, z1, z2, zm, perm, &zero, &lr, a1, a2, am));
    CHECK_OK(mbt_bt_loss(&wp, B, z1, z2, NULL, NULL, &on, &lp, b1, b2, NULL));
    CHECK(lr.loss_reg == 0.0 && lp.loss_reg == 0.0);
    CHECK_CLOSE(lr.loss_bt, lp.loss_bt, 1e-12, 0);
    CHECK(memcmp(a1, b1, sizeof a1) == 0 && memcmp(a2, b2, sizeof a2) == 0);
    int zeroed = 1;
    for (int i = 0; i < B * D; i++) zeroed &= am[i] == 0.0f;
    CHECK_MSG(zeroed, "dzm is zeroed when the regulariser is off (%s)", path_name(path));
    /* The same inputs with the regulariser on give the same L_BT and a positive L_reg. */
    CHECK_OK(mbt_bt_loss(&wr, B, z1, z2, zm, perm, &on, &lon, a1, a2, am));
    CHECK_CLOSE(lon.loss_bt, lp.loss_bt, 1e-12, 0);
    CHECK(lon.loss_reg > 0.0);
    /* A workspace planned without the regulariser refuses it. */
    mbt_bt_losses dummy;
    CHECK(mbt_bt_loss(&wp, B, z1, z2, zm, perm, &on, &dummy, b1, b2, am) == MBT_ERR_ARG);
    mbt_bt_workspace_free(&wr);
    mbt_bt_workspace_free(&wp);
}

/* Queued calls (mbt_bt_loss_queue) are collected oldest first with the values mbt_bt_loss gives; the
 * ring refuses a third call, mbt_bt_loss refuses to run with calls waiting, collect needs one. */
static void queued_calls(void) {
    enum { B = 8, D = 6 };
    float za[3][B * D], zb[3][B * D], g[3][B * D];
    for (int i = 0; i < B * D; i++)
        for (int k = 0; k < 3; k++) {
            za[k][i] = sinf(0.3f * i + 1.1f * k);
            zb[k][i] = cosf(0.7f * i + 0.4f * k);
        }
    int32_t perm[B] = {3, 1, 0, 2, 7, 5, 4, 6};
    mbt_bt_params p = {.lambda_bt = 0.02f, .lambda_reg = 2.0f, .alpha = 0.6f};
    mbt_bt_workspace ws;
    mbt_bt_losses la, lb, qa, qb;
    if (!CHECK_OK(mbt_bt_workspace_init(&ws, B, D, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU))) return;
    CHECK_OK(mbt_bt_loss(&ws, B, za[0], za[1], za[2], perm, &p, &la, g[0], g[1], g[2]));
    CHECK_OK(mbt_bt_loss(&ws, B, zb[0], zb[1], zb[2], perm, &p, &lb, NULL, NULL, NULL));
    CHECK(la.loss_bt != lb.loss_bt);
    CHECK_OK(mbt_bt_loss_queue(&ws, B, za[0], za[1], za[2], perm, &p, g[0], g[1], g[2]));
    CHECK_OK(mbt_bt_loss_queue(&ws, B, zb[0], zb[1], zb[2], perm, &p, NULL, NULL, NULL));
    CHECK(mbt_bt_loss_queue(&ws, B, za[0], za[1], za[2], perm, &p, NULL, NULL, NULL) == MBT_ERR_ARG);
    CHECK(mbt_bt_loss(&ws, B, za[0], za[1], za[2], perm, &p, &qa, NULL, NULL, NULL) == MBT_ERR_ARG);
    CHECK_MSG(strstr(mbt_error_message(), "not collected") != NULL, "message: %s", mbt_error_message());
    CHECK_OK(mbt_bt_loss_collect(&ws, &qa));
    CHECK_OK(mbt_bt_loss_collect(&ws, &qb));
    CHECK(qa.loss_bt == la.loss_bt && qa.loss_reg == la.loss_reg && qa.off_diag == la.off_diag);
    CHECK(qb.loss_bt == lb.loss_bt && qb.loss_reg == lb.loss_reg && qb.on_diag == lb.on_diag);
    CHECK(mbt_bt_loss_collect(&ws, &qa) == MBT_ERR_ARG);
    mbt_bt_workspace_free(&ws);
}

static void error_paths(void) {
    enum { B = 6, D = 5 };
    float z1[B * D], z2[B * D], zm[B * D], g1[B * D], g2[B * D], gm[B * D];
    for (int i = 0; i < B * D; i++) z1[i] = z2[i] = zm[i] = sinf((float)i);
    for (int b = 0; b < B; b++) z2[b * D + 3] = 0.25f; /* constant column 3 of z2 */
    int32_t perm[B] = {0, 1, 2, 3, 4, 5};
    mbt_bt_params p = {.lambda_bt = 0.01f, .lambda_reg = 1.0f, .alpha = 0.5f};
    mbt_bt_workspace ws;
    mbt_bt_losses L;
    CHECK(mbt_bt_workspace_init(&ws, 1, D, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU) == MBT_ERR_ARG);
#ifndef MIXBT_HAVE_CUDA /* a build without CUDA refuses a GPU workspace (test_losses_cuda covers the GPU loss) */
    CHECK(mbt_bt_workspace_init(&ws, B, D, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CUDA) == MBT_ERR_UNSUPPORTED);
#endif
    if (!CHECK_OK(mbt_bt_workspace_init(&ws, B, D, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU))) return;
    CHECK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L, g1, g2, gm) == MBT_ERR_NUMERIC);
    CHECK(strstr(mbt_error_message(), "column 3 of z2") != NULL);
    z2[3] = 1.0f;
    CHECK_OK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L, g1, g2, gm));
    CHECK(mbt_bt_loss(&ws, B + 1, z1, z2, zm, perm, &p, &L, g1, g2, gm) == MBT_ERR_SHAPE);
    perm[2] = 6;
    CHECK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L, g1, g2, gm) == MBT_ERR_ARG);
    perm[2] = 2;
    CHECK(mbt_bt_loss(&ws, B, z1, z2, zm, NULL, &p, &L, g1, g2, gm) == MBT_ERR_ARG);
    CHECK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L, g1, g2, NULL) == MBT_ERR_ARG);
    CHECK(mbt_bt_loss(&ws, B, z1, z2, zm, perm, &p, &L, g1, NULL, gm) == MBT_ERR_ARG);
    mbt_bt_workspace_free(&ws);
    CHECK_OK(mbt_bt_workspace_init(&ws, 8, 4, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU));
    CHECK(ws.path == MBT_BT_PATH_COV);
    mbt_bt_workspace_free(&ws);
    CHECK_OK(mbt_bt_workspace_init(&ws, 8, 8, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU));
    CHECK(ws.path == MBT_BT_PATH_GRAM);
    mbt_bt_workspace_free(&ws);
}

int main(void) {
    const mbt_bt_path paths[] = {MBT_BT_PATH_GRAM, MBT_BT_PATH_COV, MBT_BT_PATH_AUTO};
    for (int i = 0; i < 3; i++) {
        run_fixture_file("loss_bt_cases.bin", paths[i], 0);
        run_fixture_file("loss_bt_cifar.bin", paths[i], 0);
    }
    /* Batches smaller than planned (the matrices then use only part of the workspace). */
    run_fixture_file("loss_bt_cases.bin", MBT_BT_PATH_GRAM, 7);
    run_fixture_file("loss_bt_cases.bin", MBT_BT_PATH_COV, 7);
    for (int i = 0; i < 2; i++) {
        finite_difference(paths[i], 0);
        finite_difference(paths[i], 1);
        plain_equals_zero_reg(paths[i]);
    }
    queued_calls();
    error_paths();
    return check_report("test_losses");
}
