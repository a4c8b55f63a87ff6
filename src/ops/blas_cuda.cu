/* Matrix products on the GPU: cuBLAS on the context's stream. Row-major [rows, cols] buffers are
 * column-major [cols, rows] to cuBLAS, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T and
 * A A^T as syrk of A^T. */
#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

extern "C" mbt_status mbt_sgemm_cuda(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                                     int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    MBT_CUBLAS("sgemm", cublasSgemm(ctx->cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a, lda, &beta, c,
                                    ldc));
    return MBT_OK;
}

/* cuBLAS filled the column-major lower triangle: element (r, c), r >= c, at c * ldc + r, which is
 * row-major (i, j) = (c, r) with j >= i. The positions with j < i are filled from their transposes. */
static __global__ void mirror_kernel(size_t total, int n, int ldc, float *c) {
    MBT_CUDA_FOR(p, total) {
        const size_t i = p / (size_t)n, j = p % (size_t)n;
        if (j < i) c[i * ldc + j] = c[j * ldc + i];
    }
}

extern "C" mbt_status mbt_ssyrk_cuda(int n, int k, float alpha, const float *a, int lda, float beta, float *c,
                                     int ldc) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    MBT_CUBLAS("ssyrk", cublasSsyrk(ctx->cublas, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, n, k, &alpha, a, lda, &beta,
                                    c, ldc));
    const size_t total = (size_t)n * n;
    mirror_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, ctx->stream>>>(total, n, ldc, c);
    MBT_CUDA_LAUNCHED("ssyrk (mirror)");
    return MBT_OK;
}
