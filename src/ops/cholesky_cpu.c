/* Batched Cholesky factor, inverse factor and their backward on the CPU: LAPACK (spotrf, strtri) and
 * cblas_sgemm from OpenBLAS, OpenMP over the groups.
 * A row-major matrix is the column-major transpose, so LAPACK's column-major upper factor U (U^T U = A)
 * of the symmetric A, read row-major, is the lower L with L L^T = A, and U^{-1} read row-major is L^{-1}. */
#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ops/backend_cpu.h"
#include "ops/cholesky.h"

/* No LAPACK header is installed (Debian's libopenblas exports the Fortran symbols): the Fortran
 * prototypes, with the hidden lengths of the character arguments that gfortran's ABI appends (OpenBLAS's
 * own C implementations ignore them). */
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info, size_t uplo_len);
void strtri_(const char *uplo, const char *diag, const int *n, float *a, const int *lda, int *info, size_t uplo_len,
             size_t diag_len);

static void zero_above_diagonal(int d, float *m) {
    for (int i = 0; i < d; i++) memset(m + (size_t)i * d + i + 1, 0, (size_t)(d - 1 - i) * sizeof(float));
}

/* 0, or the order of the first leading minor that failed: LAPACK's info, or a non-finite or
 * non-positive diagonal entry of the factor (OpenBLAS's potrf lets NaN through). */
static int factor_one(int d, const float *a, float *l, float *w) {
    int info = 0;
    memcpy(l, a, (size_t)d * d * sizeof(float));
    spotrf_("U", &d, l, &d, &info, 1);
    zero_above_diagonal(d, l);
    if (info != 0) return info;
    for (int i = 0; i < d; i++) {
        const float v = l[(size_t)i * d + i];
        if (!(v > 0.0f) || !isfinite(v)) return i + 1;
    }
    memcpy(w, l, (size_t)d * d * sizeof(float));
    strtri_("U", "N", &d, w, &d, &info, 1, 1);
    return info;
}

mbt_status mbt_cholesky_inverse_cpu(int groups, int d, const float *a, float *l, float *w, int32_t *info) {
    const size_t dd = (size_t)d * d;
#pragma omp parallel for schedule(dynamic, 1) if (groups > 1)
    for (int g = 0; g < groups; g++) info[g] = factor_one(d, a + g * dd, l + g * dd, w + g * dd);
    return mbt_cholesky_info_status("cholesky", groups, d, info);
}

/* m = -tril(m): solve_triangular's gradient of its lower triangular operand. */
static void tril_neg(int d, float *m) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) m[(size_t)i * d + j] = j <= i ? -m[(size_t)i * d + j] : 0.0f;
}

/* m = (tril(m) + tril(m, -1)^T) / 2: Phi of the lower triangle (diagonal halved), mirrored above. */
static void phi(int d, float *m) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
            const float v = 0.5f * m[(size_t)i * d + j];
            m[(size_t)i * d + j] = v;
            m[(size_t)j * d + i] = v;
        }
}

/* Row-major C = op(A) op(B) of d x d matrices. */
static void product(int d, int trans_a, int trans_b, const float *a, const float *b, float *c) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, d, d, d,
                1.0f, a, d, b, d, 0.0f, c, d);
}

mbt_status mbt_cholesky_inverse_backward_cpu(int groups, int d, const float *l, const float *w, const float *gw,
                                             float *ga, float *scratch) {
    const size_t dd = (size_t)d * d;
#pragma omp parallel for schedule(dynamic, 1) if (groups > 1)
    for (int g = 0; g < groups; g++) {
        const float *L = l + g * dd, *W = w + g * dd, *GW = gw + g * dd;
        float *s1 = scratch + 2 * g * dd, *s2 = s1 + dd;
        product(d, 0, 1, GW, W, s1); /* gW W^T */
        product(d, 1, 0, W, s1, s2); /* W^T gW W^T */
        tril_neg(d, s2);           /* gL */
        product(d, 1, 0, L, s2, s1); /* L^T gL */
        phi(d, s1);                 /* P */
        product(d, 0, 0, s1, W, s2); /* P W */
        product(d, 1, 0, W, s2, ga + g * dd);
    }
    return MBT_OK;
}
