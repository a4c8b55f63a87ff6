/* Matrix products: dispatch to the backend of the device. */
#include "ops/blas.h"

#include "ops/dispatch.h"

mbt_status mbt_sgemm(mbt_device device, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    MBT_DISPATCH("sgemm", device, mbt_sgemm_cpu(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
                 mbt_sgemm_cuda(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

mbt_status mbt_ssyrk(mbt_device device, int n, int k, float alpha, const float *a, int lda, float beta, float *c,
                     int ldc) {
    MBT_DISPATCH("ssyrk", device, mbt_ssyrk_cpu(n, k, alpha, a, lda, beta, c, ldc),
                 mbt_ssyrk_cuda(n, k, alpha, a, lda, beta, c, ldc));
}
