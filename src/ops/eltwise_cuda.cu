/* Element-wise operations on the GPU: grid-stride kernels on the context's stream, those of the
 * residual blocks on float or bf16 activations (core/bf16.cuh), and the bf16 conversions. */
#include "ops/backend_cuda.h"
#include "core/bf16.cuh"
#include "core/cuda_grid.cuh"

static __global__ void relu_forward_kernel(size_t n, const float *x, float *y) {
    MBT_CUDA_FOR(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

template <typename T> static __global__ void relu_backward_kernel(size_t n, const T *y, const T *dy, T *dx) {
    MBT_CUDA_FOR(i, n) mbt_store(dx + i, mbt_load(y + i) > 0.0f ? mbt_load(dy + i) : 0.0f);
}

template <typename T> static __global__ void add_relu_kernel(size_t n, const T *a, const T *b, T *y) {
    MBT_CUDA_FOR(i, n) {
        const float s = mbt_load(a + i) + mbt_load(b + i);
        mbt_store(y + i, s > 0.0f ? s : 0.0f);
    }
}

template <typename T> static __global__ void add_kernel(size_t n, const T *a, const T *b, T *y) {
    MBT_CUDA_FOR(i, n) mbt_store(y + i, mbt_load(a + i) + mbt_load(b + i));
}

static __global__ void bf16_from_f32_kernel(size_t n, const float *x, mbt_bf16 *y) {
    MBT_CUDA_FOR(i, n) mbt_store(y + i, x[i]);
}

static __global__ void bf16_accumulate_kernel(size_t n, const mbt_bf16 *x, float *y) {
    MBT_CUDA_FOR(i, n) y[i] += mbt_load(x + i);
}

static __global__ void axpy_kernel(size_t n, float alpha, const float *x, float *y) {
    MBT_CUDA_FOR(i, n) y[i] += alpha * x[i];
}

static __global__ void axpby_kernel(size_t n, float a, const float *x, float b, const float *y, float *out) {
    MBT_CUDA_FOR(i, n) out[i] = a * x[i] + b * y[i];
}

static __global__ void axpy_diff_kernel(size_t n, float alpha, const float *x, const float *y, float *out) {
    MBT_CUDA_FOR(i, n) out[i] += alpha * (x[i] - y[i]);
}

/* Launches kernel over n elements (nothing when n == 0) and checks the launch. */
#define LAUNCH_1D(what, kernel, n, ...)                                                        \
    do {                                                                                       \
        if ((n) == 0) return MBT_OK;                                                           \
        cudaStream_t stream_;                                                                  \
        MBT_TRY(mbt_cuda_stream(&stream_));                                                    \
        kernel<<<mbt_cuda_blocks(n), MBT_CUDA_BLOCK, 0, stream_>>>((n), __VA_ARGS__);          \
        MBT_CUDA_LAUNCHED(what);                                                               \
        return MBT_OK;                                                                         \
    } while (0)

extern "C" mbt_status mbt_relu_forward_cuda(size_t n, const float *x, float *y) {
    LAUNCH_1D("relu forward", relu_forward_kernel, n, x, y);
}

extern "C" mbt_status mbt_relu_backward_cuda(size_t n, const float *y, const float *dy, float *dx) {
    LAUNCH_1D("relu backward", relu_backward_kernel<float>, n, y, dy, dx);
}

extern "C" mbt_status mbt_add_relu_forward_cuda(size_t n, const float *a, const float *b, float *y) {
    LAUNCH_1D("add_relu", add_relu_kernel<float>, n, a, b, y);
}

extern "C" mbt_status mbt_add_cuda(size_t n, const float *a, const float *b, float *y) {
    LAUNCH_1D("add", add_kernel<float>, n, a, b, y);
}

extern "C" mbt_status mbt_relu_backward_bf16_cuda(size_t n, const void *y, const void *dy, void *dx) {
    LAUNCH_1D("relu backward (bf16)", relu_backward_kernel<mbt_bf16>, n, (const mbt_bf16 *)y, (const mbt_bf16 *)dy,
              (mbt_bf16 *)dx);
}

extern "C" mbt_status mbt_add_relu_forward_bf16_cuda(size_t n, const void *a, const void *b, void *y) {
    LAUNCH_1D("add_relu (bf16)", add_relu_kernel<mbt_bf16>, n, (const mbt_bf16 *)a, (const mbt_bf16 *)b,
              (mbt_bf16 *)y);
}

extern "C" mbt_status mbt_add_bf16_cuda(size_t n, const void *a, const void *b, void *y) {
    LAUNCH_1D("add (bf16)", add_kernel<mbt_bf16>, n, (const mbt_bf16 *)a, (const mbt_bf16 *)b, (mbt_bf16 *)y);
}

extern "C" mbt_status mbt_bf16_from_f32_cuda(size_t n, const float *x, void *y) {
    LAUNCH_1D("bf16 from fp32", bf16_from_f32_kernel, n, x, (mbt_bf16 *)y);
}

extern "C" mbt_status mbt_bf16_accumulate_cuda(size_t n, const void *x, float *y) {
    LAUNCH_1D("bf16 accumulate", bf16_accumulate_kernel, n, (const mbt_bf16 *)x, y);
}

extern "C" mbt_status mbt_axpy_cuda(size_t n, float alpha, const float *x, float *y) {
    LAUNCH_1D("axpy", axpy_kernel, n, alpha, x, y);
}

extern "C" mbt_status mbt_axpby_cuda(size_t n, float a, const float *x, float b, const float *y, float *out) {
    LAUNCH_1D("axpby", axpby_kernel, n, a, x, b, y, out);
}

extern "C" mbt_status mbt_axpy_diff_cuda(size_t n, float alpha, const float *x, const float *y, float *out) {
    LAUNCH_1D("axpy of a difference", axpy_diff_kernel, n, alpha, x, y, out);
}

extern "C" mbt_status mbt_zero_cuda(size_t n, float *x) {
    if (n == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    MBT_CUDA("zero", cudaMemsetAsync(x, 0, n * sizeof(float), stream));
    return MBT_OK;
}
