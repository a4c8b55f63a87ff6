/* Batched Cholesky factor, inverse factor and their backward on the GPU: cuSOLVER's batched potrf,
 * cuBLAS's batched trsm and strided batched gemm, and small kernels, all on the context's stream.
 * Row-major buffers are the column-major transposes: potrf (lower, column-major) leaves L^T in row-major
 * order, which a kernel transposes; the row-major L is then the column-major upper U = L^T, and
 * U X = I gives X = L^{-T}, which is L^{-1} in row-major order. */
#include <cusolverDn.h>

#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

#define MBT_CUSOLVER(what, call)                                                                           \
    do {                                                                                                   \
        cusolverStatus_t mbt_cs_s_ = (call);                                                               \
        if (mbt_cs_s_ != CUSOLVER_STATUS_SUCCESS)                                                          \
            return MBT_FAIL(MBT_ERR_BACKEND, "%s: %s failed (cusolver status %d)", (what), #call, (int)mbt_cs_s_); \
    } while (0)

/* The process's cuSOLVER handle, bound to the context's stream (created on first use, like the context). */
static mbt_status solver_handle(cusolverDnHandle_t *out) {
    static cusolverDnHandle_t handle = NULL;
    if (!handle) {
        mbt_cuda_context *ctx;
        MBT_TRY(mbt_cuda_context_get(&ctx));
        cusolverDnHandle_t h;
        MBT_CUSOLVER("cholesky", cusolverDnCreate(&h));
        cusolverStatus_t s = cusolverDnSetStream(h, ctx->stream);
        if (s != CUSOLVER_STATUS_SUCCESS) {
            cusolverDnDestroy(h);
            return MBT_FAIL(MBT_ERR_BACKEND, "cholesky: cusolverDnSetStream failed (cusolver status %d)", (int)s);
        }
        handle = h;
    }
    *out = handle;
    return MBT_OK;
}

static __global__ void pointers_kernel(int groups, size_t dd, float *l, float *w, float **ptrs) {
    MBT_CUDA_FOR(g, (size_t)groups) {
        ptrs[g] = l + g * dd;
        ptrs[groups + g] = w + g * dd;
    }
}

/* l: the row-major transpose of the factor into the lower L, zeros above; w = I; a failed diagonal
 * (not finite or not positive: potrf may let NaN through) marks info when potrf did not. */
static __global__ void fixup_kernel(size_t total, int d, float *l, float *w, int32_t *info) {
    MBT_CUDA_FOR(p, total) {
        const size_t dd = (size_t)d * d, g = p / dd, r = p % dd;
        const int i = (int)(r / d), j = (int)(r % d);
        float *m = l + g * dd;
        if (i > j) {
            m[r] = m[(size_t)j * d + i];
            m[(size_t)j * d + i] = 0.0f;
        } else if (i == j) {
            const float v = m[r];
            if (!(v > 0.0f) || !isfinite(v)) atomicCAS((int *)&info[g], 0, i + 1);
        }
        w[p] = i == j ? 1.0f : 0.0f;
    }
}

extern "C" mbt_status mbt_cholesky_inverse_cuda(int groups, int d, const float *a, float *l, float *w, int32_t *info,
                                                void *workspace) {
    mbt_cuda_context *ctx;
    cusolverDnHandle_t solver = NULL;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    MBT_TRY(solver_handle(&solver));
    const size_t dd = (size_t)d * d, total = (size_t)groups * dd;
    float **ptrs = (float **)workspace;
    MBT_CUDA("cholesky", cudaMemcpyAsync(l, a, total * sizeof(float), cudaMemcpyDeviceToDevice, ctx->stream));
    pointers_kernel<<<mbt_cuda_blocks(groups), MBT_CUDA_BLOCK, 0, ctx->stream>>>(groups, dd, l, w, ptrs);
    MBT_CUDA_LAUNCHED("cholesky (pointers)");
    MBT_CUSOLVER("cholesky", cusolverDnSpotrfBatched(solver, CUBLAS_FILL_MODE_LOWER, d, ptrs, d, (int *)info, groups));
    fixup_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, ctx->stream>>>(total, d, l, w, info);
    MBT_CUDA_LAUNCHED("cholesky (transpose)");
    const float one = 1.0f;
    MBT_CUBLAS("cholesky (inverse)",
               cublasStrsmBatched(ctx->cublas, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                  CUBLAS_DIAG_NON_UNIT, d, d, &one, (const float *const *)ptrs, d, ptrs + groups, d,
                                  groups));
    return MBT_OK;
}

/* m = -tril(m), the same float expression as cholesky_cpu.c. */
static __global__ void tril_neg_kernel(size_t total, int d, float *m) {
    MBT_CUDA_FOR(p, total) {
        const size_t r = p % ((size_t)d * d);
        m[p] = (int)(r % d) <= (int)(r / d) ? -m[p] : 0.0f;
    }
}

/* m = (tril(m) + tril(m, -1)^T) / 2; the thread of (i, j), j <= i, writes (i, j) and (j, i). */
static __global__ void phi_kernel(size_t total, int d, float *m) {
    MBT_CUDA_FOR(p, total) {
        const size_t dd = (size_t)d * d, g = p / dd, r = p % dd;
        const int i = (int)(r / d), j = (int)(r % d);
        if (j > i) continue;
        const float v = 0.5f * m[p];
        m[p] = v;
        m[g * dd + (size_t)j * d + i] = v;
    }
}

/* Row-major C_g = op(A_g) op(B_g) for every group, as the column-major C^T = op(B)^T op(A)^T. */
static mbt_status product(mbt_cuda_context *ctx, int groups, int d, int trans_a, int trans_b, const float *a,
                          const float *b, float *c) {
    const float one = 1.0f, zero = 0.0f;
    const long long dd = (long long)d * d;
    MBT_CUBLAS("cholesky backward",
               cublasSgemmStridedBatched(ctx->cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, d, d, d, &one, b, d, dd, a, d, dd,
                                         &zero, c, d, dd, groups));
    return MBT_OK;
}

extern "C" mbt_status mbt_cholesky_inverse_backward_cuda(int groups, int d, const float *l, const float *w,
                                                         const float *gw, float *ga, float *scratch) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    const size_t total = (size_t)groups * d * d;
    float *s1 = scratch, *s2 = scratch + total;
    MBT_TRY(product(ctx, groups, d, 0, 1, gw, w, s1)); /* gW W^T */
    MBT_TRY(product(ctx, groups, d, 1, 0, w, s1, s2)); /* W^T gW W^T */
    tril_neg_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, ctx->stream>>>(total, d, s2);
    MBT_CUDA_LAUNCHED("cholesky backward (tril)");
    MBT_TRY(product(ctx, groups, d, 1, 0, l, s2, s1)); /* L^T gL */
    phi_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, ctx->stream>>>(total, d, s1);
    MBT_CUDA_LAUNCHED("cholesky backward (phi)");
    MBT_TRY(product(ctx, groups, d, 0, 0, s1, w, s2)); /* P W */
    MBT_TRY(product(ctx, groups, d, 1, 0, w, s2, ga)); /* W^T P W */
    return MBT_OK;
}
