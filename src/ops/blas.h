/* Matrix products on any backend, row-major as cblas with CblasRowMajor: the general product
 * C = alpha op(A) op(B) + beta C and the symmetric rank-k update C = alpha A A^T + beta C, the latter
 * returned as the full matrix. CPU: OpenBLAS; CUDA: cuBLAS on the context's stream (TF32 math unless
 * MIXBT_NO_TF32=1, core/cuda.h). */
#ifndef MBT_BLAS_H
#define MBT_BLAS_H

#include "core/tensor.h"

/* C [m, n] = alpha op(A) op(B) + beta C with op(A) [m, k], op(B) [k, n]; trans_a / trans_b (0 or 1) read
 * A [k, m] / B [n, k] transposed. Leading dimensions as cblas (row strides). */
mbt_status mbt_sgemm(mbt_device device, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* C [n, n] = alpha A A^T + beta C for A [n, k] (row stride lda): the lower triangle is computed (ssyrk),
 * then copied onto the upper one, so C is a full symmetric matrix (its upper part is only written). */
mbt_status mbt_ssyrk(mbt_device device, int n, int k, float alpha, const float *a, int lda, float beta, float *c,
                     int ldc);

#endif
