/* Linear layers (cuBLAS sgemm) and row L2 normalisation on the GPU, on the context's stream.
 * Row-major [rows, cols] buffers are column-major [cols, rows] to cuBLAS, so y = x W^T is computed as
 * y^T = W x^T with W read transposed. */
#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

#define L2_EPS 1e-12

/* y[i, j] = b[j] for y [n, out]. */
static __global__ void bias_fill_kernel(size_t total, int out, const float *b, float *y) {
    MBT_CUDA_FOR(i, total) y[i] = b[i % (size_t)out];
}

/* db[j] += sum_i dy[i, j] for dy [n, out]: one thread per column, rows summed in order in double. */
static __global__ void bias_grad_kernel(int n, int out, const float *dy, float *db) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < out; j += gridDim.x * blockDim.x) {
        double s = 0.0;
        for (int i = 0; i < n; i++) s += dy[(size_t)i * out + j];
        db[j] += (float)s;
    }
}

static mbt_status check_shape(int n, int in, int out) {
    if (n < 1 || in < 1 || out < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "linear: invalid shape n=%d in=%d out=%d", n, in, out);
    return MBT_OK;
}

extern "C" mbt_status mbt_linear_forward_cuda(int n, int in, int out, const float *x, const float *w,
                                              const float *b, float *y) {
    MBT_TRY(check_shape(n, in, out));
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    float beta = 0.0f;
    if (b) {
        const size_t total = (size_t)n * out;
        bias_fill_kernel<<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, ctx->stream>>>(total, out, b, y);
        MBT_CUDA_LAUNCHED("linear forward (bias)");
        beta = 1.0f;
    }
    const float one = 1.0f;
    /* y^T [out, n] = W [out, in] * x^T [in, n] */
    MBT_CUBLAS("linear forward", cublasSgemm(ctx->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x,
                                             in, &beta, y, out));
    return MBT_OK;
}

extern "C" mbt_status mbt_linear_backward_cuda(int n, int in, int out, const float *x, const float *w,
                                               const float *dy, float *dx, float *dw, float *db) {
    MBT_TRY(check_shape(n, in, out));
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    const float one = 1.0f, zero = 0.0f;
    /* dx^T [in, n] = W^T [in, out] * dy^T [out, n] (overwritten) */
    if (dx)
        MBT_CUBLAS("linear backward (dx)", cublasSgemm(ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w,
                                                       in, dy, out, &zero, dx, in));
    /* dW^T [in, out] += x^T [in, n] * dy [n, out] (accumulated) */
    if (dw)
        MBT_CUBLAS("linear backward (dw)", cublasSgemm(ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x,
                                                       in, dy, out, &one, dw, in));
    if (db) {
        bias_grad_kernel<<<(out + 127) / 128, 128, 0, ctx->stream>>>(n, out, dy, db);
        MBT_CUDA_LAUNCHED("linear backward (db)");
    }
    return MBT_OK;
}

/* One block per row (grid-stride over rows): the sum of squares in double, then y = x * (float)(1/norm). */
static __global__ void l2norm_forward_kernel(int n, int d, const float *x, float *y) {
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        const float *r = x + (size_t)i * d;
        double ss = 0.0;
        for (int j = threadIdx.x; j < d; j += blockDim.x) ss += (double)r[j] * r[j];
        ss = mbt_block_sum(ss);
        const double norm = sqrt(ss);
        const float inv = (float)(1.0 / (norm > L2_EPS ? norm : L2_EPS));
        for (int j = threadIdx.x; j < d; j += blockDim.x) y[(size_t)i * d + j] = r[j] * inv;
    }
}

/* dx = (dy - y (y.dy)) / |x| with y = x / |x|; below the clamp dx = dy / eps (as the CPU backend). */
static __global__ void l2norm_backward_kernel(int n, int d, const float *x, const float *dy, float *dx) {
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        const float *r = x + (size_t)i * d, *g = dy + (size_t)i * d;
        float *o = dx + (size_t)i * d;
        double ss = 0.0, dot = 0.0;
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            ss += (double)r[j] * r[j];
            dot += (double)r[j] * g[j];
        }
        ss = mbt_block_sum(ss);
        dot = mbt_block_sum(dot);
        const double norm = sqrt(ss);
        if (norm > L2_EPS) {
            const double inv = 1.0 / norm, proj = dot * inv * inv;
            for (int j = threadIdx.x; j < d; j += blockDim.x) o[j] = (float)((g[j] - r[j] * proj) * inv);
        } else {
            for (int j = threadIdx.x; j < d; j += blockDim.x) o[j] = (float)(g[j] / L2_EPS);
        }
    }
}

static unsigned row_blocks(int n) { return (unsigned)(n < 65535 ? n : 65535); }

extern "C" mbt_status mbt_l2norm_forward_cuda(int n, int d, const float *x, float *y) {
    if (n < 0 || d < 0) return MBT_FAIL(MBT_ERR_SHAPE, "l2norm: invalid shape n=%d d=%d", n, d);
    if (n == 0 || d == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    l2norm_forward_kernel<<<row_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, x, y);
    MBT_CUDA_LAUNCHED("l2norm forward");
    return MBT_OK;
}

extern "C" mbt_status mbt_l2norm_backward_cuda(int n, int d, const float *x, const float *dy, float *dx) {
    if (n < 0 || d < 0) return MBT_FAIL(MBT_ERR_SHAPE, "l2norm: invalid shape n=%d d=%d", n, d);
    if (n == 0 || d == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    l2norm_backward_kernel<<<row_blocks(n), MBT_CUDA_BLOCK, 0, stream>>>(n, d, x, dy, dx);
    MBT_CUDA_LAUNCHED("l2norm backward");
    return MBT_OK;
}
