/* Element-wise operations on the GPU: grid-stride kernels on the context's stream. */
#include "ops/backend_cuda.h"
#include "core/cuda_grid.cuh"

static __global__ void relu_forward_kernel(size_t n, const float *x, float *y) {
    MBT_CUDA_FOR(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static __global__ void relu_backward_kernel(size_t n, const float *y, const float *dy, float *dx) {
    MBT_CUDA_FOR(i, n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static __global__ void add_relu_kernel(size_t n, const float *a, const float *b, float *y) {
    MBT_CUDA_FOR(i, n) {
        const float s = a[i] + b[i];
        y[i] = s > 0.0f ? s : 0.0f;
    }
}

static __global__ void add_kernel(size_t n, const float *a, const float *b, float *y) {
    MBT_CUDA_FOR(i, n) y[i] = a[i] + b[i];
}

static __global__ void axpy_kernel(size_t n, float alpha, const float *x, float *y) {
    MBT_CUDA_FOR(i, n) y[i] += alpha * x[i];
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
    LAUNCH_1D("relu backward", relu_backward_kernel, n, y, dy, dx);
}

extern "C" mbt_status mbt_add_relu_forward_cuda(size_t n, const float *a, const float *b, float *y) {
    LAUNCH_1D("add_relu", add_relu_kernel, n, a, b, y);
}

extern "C" mbt_status mbt_add_cuda(size_t n, const float *a, const float *b, float *y) {
    LAUNCH_1D("add", add_kernel, n, a, b, y);
}

extern "C" mbt_status mbt_axpy_cuda(size_t n, float alpha, const float *x, float *y) {
    LAUNCH_1D("axpy", axpy_kernel, n, alpha, x, y);
}

extern "C" mbt_status mbt_zero_cuda(size_t n, float *x) {
    if (n == 0) return MBT_OK;
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    MBT_CUDA("zero", cudaMemsetAsync(x, 0, n * sizeof(float), stream));
    return MBT_OK;
}
