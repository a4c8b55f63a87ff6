/* Reductions in double on the GPU (dot products, squared distances, accumulated or not): a first pass of
 * exactly MBT_DOT_SCRATCH blocks writing partial sums, then one block adding them up, in a fixed order
 * (reproducible). */
#include "ops/backend_cuda.h"
#include "ops/reduce.h"
#include "core/cuda_grid.cuh"

static __global__ void dot_kernel(size_t n, const float *x, const float *y, double *partial) {
    double s = 0.0;
    MBT_CUDA_FOR(i, n) s += (double)x[i] * y[i];
    s = mbt_block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

static __global__ void sum_kernel(int n, const double *partial, double *out) {
    double s = 0.0;
    for (int t = threadIdx.x; t < n; t += blockDim.x) s += partial[t];
    s = mbt_block_sum(s);
    if (threadIdx.x == 0) *out = s;
}

extern "C" mbt_status mbt_dot_cuda(size_t n, const float *x, const float *y, double *scratch, double *out) {
    if (!scratch)
        return MBT_FAIL(MBT_ERR_ARG, "dot: the CUDA dot product needs %d doubles of scratch", MBT_DOT_SCRATCH);
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    dot_kernel<<<MBT_DOT_SCRATCH, MBT_CUDA_BLOCK, 0, stream>>>(n, x, y, scratch);
    MBT_CUDA_LAUNCHED("dot");
    sum_kernel<<<1, MBT_CUDA_BLOCK, 0, stream>>>(MBT_DOT_SCRATCH, scratch, out);
    MBT_CUDA_LAUNCHED("dot (sum)");
    return MBT_OK;
}

static __global__ void sqdist_kernel(size_t n, const float *x, const float *y, double *partial) {
    double s = 0.0;
    MBT_CUDA_FOR(i, n) {
        const double t = (double)x[i] - y[i];
        s += t * t;
    }
    s = mbt_block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/* *acc += shift + scale * (the partial sums' total), in the fixed order of sum_kernel. */
static __global__ void accumulate_kernel(int n, const double *partial, double scale, double shift, double *acc) {
    double s = 0.0;
    for (int t = threadIdx.x; t < n; t += blockDim.x) s += partial[t];
    s = mbt_block_sum(s);
    if (threadIdx.x == 0) *acc += shift + scale * s;
}

extern "C" mbt_status mbt_dot_accumulate_cuda(size_t n, const float *x, const float *y, double *scratch,
                                              double scale, double shift, double *acc) {
    if (!scratch)
        return MBT_FAIL(MBT_ERR_ARG, "dot: the CUDA dot product needs %d doubles of scratch", MBT_DOT_SCRATCH);
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    dot_kernel<<<MBT_DOT_SCRATCH, MBT_CUDA_BLOCK, 0, stream>>>(n, x, y, scratch);
    MBT_CUDA_LAUNCHED("dot (accumulated)");
    accumulate_kernel<<<1, MBT_CUDA_BLOCK, 0, stream>>>(MBT_DOT_SCRATCH, scratch, scale, shift, acc);
    MBT_CUDA_LAUNCHED("dot (accumulated, sum)");
    return MBT_OK;
}

extern "C" mbt_status mbt_sqdist_accumulate_cuda(size_t n, const float *x, const float *y, double *scratch,
                                                 double scale, double *acc) {
    if (!scratch)
        return MBT_FAIL(MBT_ERR_ARG, "squared distance: the CUDA sum needs %d doubles of scratch", MBT_DOT_SCRATCH);
    cudaStream_t stream;
    MBT_TRY(mbt_cuda_stream(&stream));
    sqdist_kernel<<<MBT_DOT_SCRATCH, MBT_CUDA_BLOCK, 0, stream>>>(n, x, y, scratch);
    MBT_CUDA_LAUNCHED("squared distance");
    accumulate_kernel<<<1, MBT_CUDA_BLOCK, 0, stream>>>(MBT_DOT_SCRATCH, scratch, scale, 0.0, acc);
    MBT_CUDA_LAUNCHED("squared distance (sum)");
    return MBT_OK;
}
