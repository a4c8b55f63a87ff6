/* One table of op cases run on every backend built: the CPU always, CUDA when the build has it and a GPU
 * is present (fp32 products: MIXBT_NO_TF32=1 is set before the context exists). Each case is listed once
 * and checked against the double-precision reference ops (src/ops/ref.h) on each backend, in the manner
 * of ggml's test-backend-ops. Covers the device-dispatched dense ops of the losses and the step: sgemm
 * (every transpose, beta 0 and 1), ssyrk (full matrix), the dot product in double, axpby, batch
 * standardisation (forward with the bad-column report, backward), the input mix, the mixed residual,
 * the scatter through a perm with repeated entries, and the cross-correlation parts. Inputs are random,
 * rounded to float before the reference runs. Error: max |got - ref| over the largest |ref|, TOL. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/device.h"
#include "core/plan.h"
#include "core/rng.h"
#include "ops/blas.h"
#include "ops/eltwise.h"
#include "ops/mix.h"
#include "ops/reduce.h"
#include "ops/ref.h"
#include "ops/standardize.h"
#include "ops/xcorr.h"

#define TOL 2e-5       /* float results, relative to the tensor's largest value */
#define TOL_SUM 1e-12  /* sums in double of float products (exact in double), relative */
#define MAX_BUFS 64

static mbt_rng rng;

/* The device of the case being run and its buffers (one plan each, freed after the case). */
static struct {
    mbt_device device;
    const char *name;
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

static void expect_close(const char *what, const float *dev, const double *ref, size_t n) {
    float *got = malloc(n * sizeof(float));
    double scale = 0, err = 0;
    CHECK_OK(mbt_device_to_host(be.device, got, dev, n * sizeof(float)));
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(got[i] - ref[i]));
    if (isnan(err)) err = INFINITY;
    CHECK_MSG(err <= TOL * (scale > 0 ? scale : 1), "%s on %s: max error %.3g (scale %.3g)", what, be.name, err,
              scale);
    free(got);
}

static void expect_sum(const char *what, const double *dev, double ref) {
    double got = NAN;
    CHECK_OK(mbt_device_to_host(be.device, &got, dev, sizeof got));
    CHECK_MSG(fabs(got - ref) <= TOL_SUM * fabs(ref) + 1e-300, "%s on %s: %.17g, reference %.17g", what, be.name, got,
              ref);
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
            expect_close(what, cd, c, (size_t)m * n);
        free(a), free(b), free(c);
    }
}

static void case_ssyrk(void) {
    const int n = 19, k = 45;
    double *a = rand_d((size_t)n * k, 1), *c = rand_d((size_t)n * n, 9); /* C is overwritten (beta 0) */
    float *ad = dev_from(a, (size_t)n * k), *cd = dev_from(c, (size_t)n * n);
    mbt_ref_syrk(n, k, 1.0, a, k, 0.0, c, n);
    if (CHECK_OK(mbt_ssyrk(be.device, n, k, 1.0f, ad, k, 0.0f, cd, n))) expect_close("ssyrk", cd, c, (size_t)n * n);
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

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"sgemm", case_sgemm},     {"ssyrk", case_ssyrk}, {"dot, axpby", case_dot_axpby},
    {"standardize", case_standardize}, {"mix", case_mix},     {"xcorr", case_xcorr},
};

static void run_backend(mbt_device device, const char *name) {
    be.device = device;
    be.name = name;
    mbt_rng_init(&rng, 16, 0); /* the same inputs on every backend */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].run();
        CHECK_OK(mbt_device_synchronize(device, cases[i].name));
        dev_free_all();
    }
    printf("test_ops_backends: %zu cases on %s\n", sizeof cases / sizeof cases[0], name);
}

int main(void) {
    setenv("MIXBT_NO_TF32", "1", 0); /* fp32 products on CUDA: TOL holds */
    run_backend(MBT_DEVICE_CPU, "cpu");
    mbt_device cuda;
    if (check_cuda_or_skip("test_ops_backends (cuda)") == 0 && CHECK_OK(mbt_device_open("cuda", "test", &cuda)))
        run_backend(cuda, "cuda");
    return check_report("test_ops_backends");
}
