/* The CUDA backend's dense ops against the double-precision reference ops (src/ops/ref.h), through the
 * public dispatching API with device CUDA: linear with and without bias (forward; backward with dx
 * overwritten, dw and db accumulated, and with dx/db skipped), L2 normalisation (rows below the 1e-12 clamp
 * included), ReLU forward/backward (in place too), add_relu, add, axpy and zero over sizes that need
 * several grid-stride rounds. Skipped (exit 77) without a CUDA build or a GPU.
 * Tolerances, relative to the largest |reference| of an array (per row for L2 normalisation):
 *   products through cuBLAS: 5e-5 in fp32 (MIXBT_NO_TF32=1), 5e-3 with TF32 (the default: 10-bit inputs);
 *   kernels without products: 2e-5 (double accumulation as the CPU backend); element-wise ops: one
 *   float rounding of the double reference (1.2e-7 relative per element). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "core/status.h"
#include "ops/eltwise.h"
#include "ops/linear.h"
#include "ops/ref.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

#ifdef MIXBT_HAVE_CUDA

#define TOL_KERNEL 2e-5
#define TOL_ROUND 1.2e-7

static double tol_gemm(void) { return mbt_cuda_tf32_enabled() ? 5e-3 : 5e-5; }

static mbt_rng rng;

static double *rand_d(size_t n, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0);
    return a;
}

/* Rounds a to float in place and returns a float copy (the reference then starts from the same values). */
static float *to_f(double *a, size_t n) {
    float *f = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        f[i] = (float)a[i];
        a[i] = f[i];
    }
    return f;
}

static float *dev_alloc(size_t n) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, (n ? n : 1) * sizeof(float));
    if (e != cudaSuccess) {
        fprintf(stderr, "cudaMalloc of %zu floats failed: %s\n", n, cudaGetErrorString(e));
        exit(1);
    }
    return p;
}

static float *dev_from(const float *h, size_t n) {
    float *d = dev_alloc(n);
    CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    return d;
}

/* A host copy of n device floats (to free). */
static float *host_from(const float *d, size_t n) {
    float *h = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = NAN;
    CHECK_OK(mbt_cuda_to_host(h, d, n * sizeof(float)));
    return h;
}

static void expect_close(const char *what, const float *dev, const double *ref, size_t n, double tol) {
    float *got = host_from(dev, n);
    double scale = 0, err = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - ref[i]);
        if (isnan(e)) e = INFINITY;
        if (e > err) err = e, worst = i;
    }
    CHECK_MSG(err <= tol * (scale > 0 ? scale : 1), "%s: max error %.3g at %zu (%.9g, expected %.9g; scale %.3g)",
              what, err, worst, n ? (double)got[worst] : 0.0, n ? ref[worst] : 0.0, scale);
    free(got);
}

/* Every element within one float rounding of the double reference. */
static void expect_rounded(const char *what, const float *dev, const double *ref, size_t n) {
    float *got = host_from(dev, n);
    long worst;
    double v = check_max_violation(got, ref, (long)n, TOL_ROUND, 1e-30, &worst);
    CHECK_MSG(v <= 1.0, "%s: element %ld = %.9g, expected %.9g", what, worst, (double)got[worst], ref[worst]);
    free(got);
}

static void test_linear(int n, int in, int out, int bias) {
    char what[96];
    snprintf(what, sizeof what, "linear n%d %d -> %d%s", n, in, out, bias ? " bias" : "");
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    double *x = rand_d(nx, 1), *w = rand_d(nw, 0.5), *b = rand_d(out, 1), *dy = rand_d(ny, 1);
    float *xf = to_f(x, nx), *wf = to_f(w, nw), *bf = to_f(b, out), *dyf = to_f(dy, ny);
    double *y = malloc(ny * 8), *dx = malloc(nx * 8), *dw = malloc(nw * 8), *db = malloc(out * 8);
    mbt_ref_linear_forward(n, in, out, x, w, bias ? b : NULL, y);
    for (size_t i = 0; i < nw; i++) dw[i] = 0.25; /* accumulated onto */
    for (int j = 0; j < out; j++) db[j] = -0.5;
    mbt_ref_linear_backward(n, in, out, x, w, dy, dx, dw, bias ? db : NULL);

    float *xd = dev_from(xf, nx), *wd = dev_from(wf, nw), *bd = dev_from(bf, out), *dyd = dev_from(dyf, ny);
    float *yd = dev_alloc(ny), *dxd = dev_alloc(nx), *dwd = dev_alloc(nw), *dbd = dev_alloc(out);
    float *fill = malloc((nx > nw ? nx : nw) * sizeof(float) + out * sizeof(float));
    for (size_t i = 0; i < nx; i++) fill[i] = 7.0f; /* dx is overwritten */
    CHECK_OK(mbt_cuda_to_device(dxd, fill, nx * sizeof(float)));
    for (size_t i = 0; i < nw; i++) fill[i] = 0.25f;
    CHECK_OK(mbt_cuda_to_device(dwd, fill, nw * sizeof(float)));
    for (int j = 0; j < out; j++) fill[j] = -0.5f;
    CHECK_OK(mbt_cuda_to_device(dbd, fill, out * sizeof(float)));
    char w2[160];
    if (CHECK_OK(mbt_linear_forward(MBT_DEVICE_CUDA, n, in, out, xd, wd, bias ? bd : NULL, yd))) {
        snprintf(w2, sizeof w2, "%s y", what);
        expect_close(w2, yd, y, ny, tol_gemm());
    }
    if (CHECK_OK(mbt_linear_backward(MBT_DEVICE_CUDA, n, in, out, xd, wd, dyd, dxd, dwd, bias ? dbd : NULL))) {
        snprintf(w2, sizeof w2, "%s dx", what);
        expect_close(w2, dxd, dx, nx, tol_gemm());
        snprintf(w2, sizeof w2, "%s dw", what);
        expect_close(w2, dwd, dw, nw, tol_gemm());
        snprintf(w2, sizeof w2, "%s db", what);
        if (bias) expect_close(w2, dbd, db, out, TOL_KERNEL);
    }
    /* dx and db skipped: dw accumulates a second time, dx and db keep their values. */
    for (size_t i = 0; i < nw; i++) dw[i] = 0.25;
    mbt_ref_linear_backward(n, in, out, x, w, dy, NULL, dw, NULL);
    mbt_ref_linear_backward(n, in, out, x, w, dy, NULL, dw, NULL);
    if (CHECK_OK(mbt_linear_backward(MBT_DEVICE_CUDA, n, in, out, xd, wd, dyd, NULL, dwd, NULL))) {
        snprintf(w2, sizeof w2, "%s dw twice", what);
        expect_close(w2, dwd, dw, nw, tol_gemm());
        snprintf(w2, sizeof w2, "%s dx kept", what);
        expect_close(w2, dxd, dx, nx, tol_gemm());
        if (bias) {
            snprintf(w2, sizeof w2, "%s db kept", what);
            expect_close(w2, dbd, db, out, TOL_KERNEL);
        }
    }
    cudaFree(xd), cudaFree(wd), cudaFree(bd), cudaFree(dyd), cudaFree(yd), cudaFree(dxd), cudaFree(dwd),
        cudaFree(dbd);
    free(x), free(w), free(b), free(dy), free(xf), free(wf), free(bf), free(dyf), free(y), free(dx), free(dw),
        free(db), free(fill);
}

/* Compares row by row, each against its own largest |reference| (rows below the clamp are 1e12 larger). */
static void expect_close_rows(const char *what, const float *dev, const double *ref, int n, int d) {
    char w2[160];
    for (int i = 0; i < n; i++) {
        snprintf(w2, sizeof w2, "%s row %d", what, i);
        expect_close(w2, dev + (size_t)i * d, ref + (size_t)i * d, d, TOL_KERNEL);
    }
}

static void test_l2norm(int n, int d) {
    char what[64];
    snprintf(what, sizeof what, "l2norm n%d d%d", n, d);
    const size_t nx = (size_t)n * d;
    double *x = rand_d(nx, 2), *dy = rand_d(nx, 1);
    for (int j = 0; j < d; j++) x[j] = 0.0;                     /* row 0: zero (norm clamped) */
    for (int j = 0; j < d; j++) x[(size_t)d + j] *= 1e-15;     /* row 1: below the clamp */
    for (int j = 0; j < d; j++) x[2 * (size_t)d + j] *= 1e-6;  /* row 2: small, above it */
    float *xf = to_f(x, nx), *dyf = to_f(dy, nx);
    double *y = malloc(nx * 8), *dx = malloc(nx * 8);
    mbt_ref_l2norm_forward(n, d, x, y);
    mbt_ref_l2norm_backward(n, d, x, dy, dx);
    float *xd = dev_from(xf, nx), *dyd = dev_from(dyf, nx), *yd = dev_alloc(nx), *dxd = dev_alloc(nx);
    char w2[96];
    if (CHECK_OK(mbt_l2norm_forward(MBT_DEVICE_CUDA, n, d, xd, yd))) {
        snprintf(w2, sizeof w2, "%s y", what);
        expect_close_rows(w2, yd, y, n, d);
    }
    if (CHECK_OK(mbt_l2norm_backward(MBT_DEVICE_CUDA, n, d, xd, dyd, dxd))) {
        snprintf(w2, sizeof w2, "%s dx", what);
        expect_close_rows(w2, dxd, dx, n, d);
    }
    cudaFree(xd), cudaFree(dyd), cudaFree(yd), cudaFree(dxd);
    free(x), free(dy), free(xf), free(dyf), free(y), free(dx);
}

static void test_eltwise(size_t n) {
    char what[64];
    double *a = rand_d(n, 1), *b = rand_d(n, 1), *dy = rand_d(n, 1);
    for (size_t i = 0; i < n; i += 7) a[i] = 0.0; /* relu at exactly 0 */
    float *af = to_f(a, n), *bf = to_f(b, n), *dyf = to_f(dy, n);
    double *y = malloc(n * 8), *r = malloc(n * 8);
    float *ad = dev_from(af, n), *bd = dev_from(bf, n), *dyd = dev_from(dyf, n), *yd = dev_alloc(n);
    float *td = dev_alloc(n);

    snprintf(what, sizeof what, "relu forward n%zu", n);
    mbt_ref_relu_forward((long)n, a, y);
    if (CHECK_OK(mbt_relu_forward(MBT_DEVICE_CUDA, n, ad, yd))) expect_rounded(what, yd, y, n);
    snprintf(what, sizeof what, "relu backward n%zu", n);
    mbt_ref_relu_backward((long)n, y, dy, r);
    if (CHECK_OK(mbt_relu_backward(MBT_DEVICE_CUDA, n, yd, dyd, td))) expect_rounded(what, td, r, n);
    snprintf(what, sizeof what, "relu forward in place n%zu", n);
    CHECK_OK(mbt_cuda_to_device(td, af, n * sizeof(float)));
    if (CHECK_OK(mbt_relu_forward(MBT_DEVICE_CUDA, n, td, td))) expect_rounded(what, td, y, n);

    snprintf(what, sizeof what, "add n%zu", n);
    mbt_ref_add_forward((long)n, a, b, r);
    if (CHECK_OK(mbt_add(MBT_DEVICE_CUDA, n, ad, bd, yd))) expect_rounded(what, yd, r, n);
    snprintf(what, sizeof what, "add_relu n%zu", n);
    mbt_ref_relu_forward((long)n, r, r);
    if (CHECK_OK(mbt_add_relu_forward(MBT_DEVICE_CUDA, n, ad, bd, yd))) expect_rounded(what, yd, r, n);

    snprintf(what, sizeof what, "axpy n%zu", n);
    CHECK_OK(mbt_cuda_to_device(td, bf, n * sizeof(float)));
    for (size_t i = 0; i < n; i++) r[i] = b[i] + (double)-0.375f * a[i];
    /* y + alpha x may be one fused multiply-add or two roundings: within 2 roundings of the largest term */
    if (CHECK_OK(mbt_axpy(MBT_DEVICE_CUDA, n, -0.375f, ad, td))) expect_close(what, td, r, n, 2.4e-7);

    snprintf(what, sizeof what, "zero n%zu", n);
    for (size_t i = 0; i < n; i++) r[i] = 0.0;
    if (CHECK_OK(mbt_zero(MBT_DEVICE_CUDA, n, td))) expect_rounded(what, td, r, n);

    cudaFree(ad), cudaFree(bd), cudaFree(dyd), cudaFree(yd), cudaFree(td);
    free(a), free(b), free(dy), free(af), free(bf), free(dyf), free(y), free(r);
}

static void run_all(void) {
    mbt_rng_init(&rng, 2024, 7);
    printf("test_dense_cuda: matrix products in %s\n", mbt_cuda_tf32_enabled() ? "TF32" : "fp32");
    const int lin[][3] = {{1, 1, 1}, {5, 7, 3}, {64, 300, 129}, {256, 2048, 128}, {33, 512, 2048}};
    for (size_t k = 0; k < sizeof lin / sizeof lin[0]; k++) {
        test_linear(lin[k][0], lin[k][1], lin[k][2], 1);
        test_linear(lin[k][0], lin[k][1], lin[k][2], 0);
    }
    test_l2norm(5, 3);
    test_l2norm(300, 2048);
    test_eltwise(1);
    test_eltwise(1000);
    test_eltwise((size_t)3 << 20); /* more than one grid-stride round (4096 blocks x 256 threads) */
}

#endif

int main(void) {
    int skip = check_cuda_or_skip("test_dense_cuda");
    if (skip) return skip;
#ifdef MIXBT_HAVE_CUDA
    mbt_cuda_context *ctx;
    if (!CHECK_OK(mbt_cuda_context_get(&ctx))) return check_report("test_dense_cuda");
    run_all();
#endif
    return check_report("test_dense_cuda");
}
