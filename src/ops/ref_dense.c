/* Reference matrix products, batch standardisation and row mixing in double. */
#include <math.h>
#include <stddef.h>

#include "ops/ref.h"

void mbt_ref_gemm(int trans_a, int trans_b, int m, int n, int k, double alpha, const double *a, int lda,
                  const double *b, int ldb, double beta, double *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) {
                const double ap = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                const double bp = trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                acc += ap * bp;
            }
            double *o = c + (size_t)i * ldc + j;
            *o = alpha * acc + (beta != 0.0 ? beta * *o : 0.0);
        }
}

void mbt_ref_syrk(int n, int k, double alpha, const double *a, int lda, double beta, double *c, int ldc) {
    mbt_ref_gemm(0, 1, n, n, k, alpha, a, lda, a, lda, beta, c, ldc);
}

void mbt_ref_standardize_forward(int B, int d, const double *z, double *zn, double *inv_std) {
    for (int j = 0; j < d; j++) {
        double mean = 0.0, ss = 0.0;
        for (int b = 0; b < B; b++) mean += z[(size_t)b * d + j];
        mean /= B;
        for (int b = 0; b < B; b++) ss += (z[(size_t)b * d + j] - mean) * (z[(size_t)b * d + j] - mean);
        inv_std[j] = 1.0 / sqrt(ss / (B - 1));
        for (int b = 0; b < B; b++) zn[(size_t)b * d + j] = (z[(size_t)b * d + j] - mean) * inv_std[j];
    }
}

void mbt_ref_standardize_backward(int B, int d, const double *zn, const double *inv_std, double *g) {
    for (int j = 0; j < d; j++) {
        double sg = 0.0, sgn = 0.0;
        for (int b = 0; b < B; b++) {
            sg += g[(size_t)b * d + j];
            sgn += g[(size_t)b * d + j] * zn[(size_t)b * d + j];
        }
        for (int b = 0; b < B; b++) {
            double *gb = g + (size_t)b * d + j;
            *gb = inv_std[j] * (*gb - sg / B - zn[(size_t)b * d + j] * sgn / (B - 1));
        }
    }
}

void mbt_ref_mix_rows(int rows, int row, double a, const double *x1, const double *x2, const int32_t *perm,
                      double *out) {
    for (int b = 0; b < rows; b++)
        for (int j = 0; j < row; j++)
            out[(size_t)b * row + j] = a * x1[(size_t)b * row + j] + (1.0 - a) * x2[(size_t)perm[b] * row + j];
}

void mbt_ref_mix_residual(int rows, int row, double a, const double *m, const double *y, const double *s,
                          const int32_t *perm, double *D) {
    for (int b = 0; b < rows; b++)
        for (int j = 0; j < row; j++) {
            const size_t at = (size_t)b * row + j;
            D[at] = m[at] - a * y[at] - (1.0 - a) * s[(size_t)perm[b] * row + j];
        }
}

void mbt_ref_scatter_sub(int rows, int row, double a, const int32_t *perm, const double *x, double *y) {
    for (int b = 0; b < rows; b++)
        for (int j = 0; j < row; j++) y[(size_t)perm[b] * row + j] -= a * x[(size_t)b * row + j];
}
