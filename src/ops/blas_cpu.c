/* Matrix products on the CPU: OpenBLAS. */
#include <cblas.h>

#include "ops/backend_cpu.h"

mbt_status mbt_sgemm_cpu(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
    return MBT_OK;
}

mbt_status mbt_ssyrk_cpu(int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc) {
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, k, alpha, a, lda, beta, c, ldc);
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) c[(size_t)i * ldc + j] = c[(size_t)j * ldc + i];
    return MBT_OK;
}
