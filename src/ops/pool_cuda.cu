/* Pooling on the CUDA backend (NCHW): max pooling keeps the int32 arg-max of each output (its flat
 * index in the input plane) in the workspace, and its backward gathers, per input element, the
 * gradients of the outputs whose arg-max it is (in output order: deterministic, no atomics, dx
 * overwritten). Global average pooling reduces each plane in double. Activations are float, or bf16
 * (MBT_POOL_BF16 and the _bf16 average pools: loaded to float, stored rounded once; the average
 * pool's features and their gradient stay fp32). */
#include <stdint.h>
#include <stdlib.h>

#include "core/cuda.h"
#include "ops/backend_cuda.h"
#include "core/bf16.cuh"
#include "core/cuda_grid.cuh"

struct mbt_maxpool_cuda {
    mbt_pool_shape s;
    int training, bf16;
};

/* One thread per output: the window's maximum, padding never winning; ties go to the first maximum
 * in row-major window order and a NaN wins (a later NaN replacing an earlier one), as PyTorch. */
template <typename T>
static __global__ void k_maxpool_forward(mbt_pool_shape s, int ho, int wo, const T *x, T *y, int32_t *arg) {
    const size_t total = (size_t)s.n * s.c * ho * wo;
    MBT_CUDA_FOR(o, total) {
        const int oj = (int)(o % wo), oi = (int)(o / wo % ho);
        const size_t plane = o / ((size_t)wo * ho);
        const T *xp = x + plane * s.h * s.w;
        int best = -1;
        float bv = -INFINITY;
        for (int ki = 0; ki < s.kernel; ki++) {
            const int i = oi * s.stride - s.pad + ki;
            if (i < 0 || i >= s.h) continue;
            for (int kj = 0; kj < s.kernel; kj++) {
                const int j = oj * s.stride - s.pad + kj;
                if (j < 0 || j >= s.w) continue;
                const float v = mbt_load(xp + i * s.w + j);
                if (v > bv || isnan(v) || best < 0) {
                    bv = v;
                    best = i * s.w + j;
                }
            }
        }
        mbt_store(y + o, bv); /* exact: bv is one of the inputs (or -inf) */
        if (arg) arg[o] = best;
    }
}

/* One thread per input element: the sum of dy over the outputs whose window holds it and whose
 * arg-max it is, in output row-major order. */
template <typename T>
static __global__ void k_maxpool_backward(mbt_pool_shape s, int ho, int wo, const int32_t *arg, const T *dy, T *dx) {
    const size_t total = (size_t)s.n * s.c * s.h * s.w;
    MBT_CUDA_FOR(e, total) {
        const int j = (int)(e % s.w), i = (int)(e / s.w % s.h);
        const size_t plane = e / ((size_t)s.w * s.h);
        const int32_t self = i * s.w + j;
        /* outputs oi with oi*stride - pad <= i <= oi*stride - pad + kernel - 1 */
        const int lo_i = max(0, (i + s.pad - s.kernel + s.stride) / s.stride);
        const int hi_i = min(ho - 1, (i + s.pad) / s.stride);
        const int lo_j = max(0, (j + s.pad - s.kernel + s.stride) / s.stride);
        const int hi_j = min(wo - 1, (j + s.pad) / s.stride);
        float g = 0.0f;
        for (int oi = lo_i; oi <= hi_i; oi++)
            for (int oj = lo_j; oj <= hi_j; oj++) {
                const size_t o = (plane * ho + oi) * wo + oj;
                if (arg[o] == self) g += mbt_load(dy + o);
            }
        mbt_store(dx + e, g);
    }
}

template <typename T> static __global__ void k_avgpool_forward(size_t planes, int hw, const T *x, float *y) {
    MBT_CUDA_FOR(p, planes) {
        const T *xp = x + p * hw;
        double acc = 0.0;
        for (int k = 0; k < hw; k++) acc += mbt_load(xp + k);
        y[p] = (float)(acc / hw);
    }
}

template <typename T> static __global__ void k_avgpool_backward(size_t total, int hw, float inv, const float *dy, T *dx) {
    MBT_CUDA_FOR(e, total) mbt_store(dx + e, dy[e / hw] * inv);
}

extern "C" mbt_status mbt_maxpool_cuda_create(mbt_maxpool_cuda **out, const mbt_pool_shape *s, int flags) {
    *out = NULL;
    if (s->n < 1 || s->c < 1 || s->h < 1 || s->w < 1 || s->kernel < 1 || s->stride < 1 || s->pad < 0 ||
        s->pad >= s->kernel || mbt_pool_h_out(s) < 1 || mbt_pool_w_out(s) < 1 || (int64_t)s->h * s->w > INT32_MAX)
        return MBT_FAIL(MBT_ERR_SHAPE, "maxpool: unsupported shape n=%d c=%d %dx%d kernel=%d stride=%d pad=%d", s->n,
                        s->c, s->h, s->w, s->kernel, s->stride, s->pad);
    mbt_maxpool_cuda *op = (mbt_maxpool_cuda *)calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "maxpool (cuda): out of memory");
    op->s = *s;
    op->training = (flags & MBT_POOL_TRAINING) != 0;
    op->bf16 = (flags & MBT_POOL_BF16) != 0;
    *out = op;
    return MBT_OK;
}

extern "C" void mbt_maxpool_cuda_destroy(mbt_maxpool_cuda *op) { free(op); }

extern "C" size_t mbt_maxpool_cuda_workspace_bytes(const mbt_maxpool_cuda *op) {
    const mbt_pool_shape *s = &op->s;
    return op->training ? (size_t)s->n * s->c * mbt_pool_h_out(s) * mbt_pool_w_out(s) * sizeof(int32_t) : 0;
}

extern "C" mbt_status mbt_maxpool_cuda_forward(mbt_maxpool_cuda *op, const float *x, float *y, void *workspace) {
    const mbt_pool_shape *s = &op->s;
    const int ho = mbt_pool_h_out(s), wo = mbt_pool_w_out(s);
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    const size_t total = (size_t)s->n * s->c * ho * wo;
    int32_t *arg = op->training ? (int32_t *)workspace : NULL;
    if (op->bf16)
        k_maxpool_forward<mbt_bf16><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(*s, ho, wo, (const mbt_bf16 *)x,
                                                                                       (mbt_bf16 *)y, arg);
    else
        k_maxpool_forward<float><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(*s, ho, wo, x, y, arg);
    MBT_CUDA_LAUNCHED("maxpool (cuda) forward");
    return MBT_OK;
}

extern "C" mbt_status mbt_maxpool_cuda_backward(mbt_maxpool_cuda *op, const void *workspace, const float *dy,
                                                float *dx) {
    if (!op->training) return MBT_FAIL(MBT_ERR_ARG, "maxpool: backward on an inference op");
    const mbt_pool_shape *s = &op->s;
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    const size_t total = (size_t)s->n * s->c * s->h * s->w;
    const int ho = mbt_pool_h_out(s), wo = mbt_pool_w_out(s);
    const int32_t *arg = (const int32_t *)workspace;
    if (op->bf16)
        k_maxpool_backward<mbt_bf16><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(
            *s, ho, wo, arg, (const mbt_bf16 *)dy, (mbt_bf16 *)dx);
    else
        k_maxpool_backward<float><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(*s, ho, wo, arg, dy, dx);
    MBT_CUDA_LAUNCHED("maxpool (cuda) backward");
    return MBT_OK;
}

template <typename T> static mbt_status avgpool_forward(int n, int c, int hw, const T *x, float *y) {
    if (n < 0 || c < 0 || hw < 1) return MBT_FAIL(MBT_ERR_SHAPE, "avgpool: bad shape n=%d c=%d hw=%d", n, c, hw);
    const size_t planes = (size_t)n * c;
    if (planes == 0) return MBT_OK;
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    k_avgpool_forward<T><<<mbt_cuda_blocks(planes), MBT_CUDA_BLOCK, 0, st>>>(planes, hw, x, y);
    MBT_CUDA_LAUNCHED("avgpool (cuda) forward");
    return MBT_OK;
}

template <typename T> static mbt_status avgpool_backward(int n, int c, int hw, const float *dy, T *dx) {
    if (n < 0 || c < 0 || hw < 1) return MBT_FAIL(MBT_ERR_SHAPE, "avgpool: bad shape n=%d c=%d hw=%d", n, c, hw);
    const size_t total = (size_t)n * c * hw;
    if (total == 0) return MBT_OK;
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    k_avgpool_backward<T><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(total, hw, 1.0f / (float)hw, dy, dx);
    MBT_CUDA_LAUNCHED("avgpool (cuda) backward");
    return MBT_OK;
}

extern "C" mbt_status mbt_avgpool_forward_cuda(int n, int c, int hw, const float *x, float *y) {
    return avgpool_forward(n, c, hw, x, y);
}

extern "C" mbt_status mbt_avgpool_backward_cuda(int n, int c, int hw, const float *dy, float *dx) {
    return avgpool_backward(n, c, hw, dy, dx);
}

extern "C" mbt_status mbt_avgpool_forward_bf16_cuda(int n, int c, int hw, const void *x, float *y) {
    return avgpool_forward(n, c, hw, (const mbt_bf16 *)x, y);
}

extern "C" mbt_status mbt_avgpool_backward_bf16_cuda(int n, int c, int hw, const float *dy, void *dx) {
    return avgpool_backward(n, c, hw, dy, (mbt_bf16 *)dx);
}
