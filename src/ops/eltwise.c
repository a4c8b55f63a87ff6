/* Element-wise operations: dispatch to the backend of the device. */
#include "ops/eltwise.h"

#include "ops/dispatch.h"

mbt_status mbt_relu_forward(mbt_device device, size_t n, const float *x, float *y) {
    MBT_DISPATCH("relu", device, mbt_relu_forward_cpu(n, x, y), mbt_relu_forward_cuda(n, x, y));
}

mbt_status mbt_relu_backward(mbt_device device, size_t n, const float *y, const float *dy, float *dx) {
    MBT_DISPATCH("relu", device, mbt_relu_backward_cpu(n, y, dy, dx), mbt_relu_backward_cuda(n, y, dy, dx));
}

mbt_status mbt_add_relu_forward(mbt_device device, size_t n, const float *a, const float *b, float *y) {
    MBT_DISPATCH("add_relu", device, mbt_add_relu_forward_cpu(n, a, b, y), mbt_add_relu_forward_cuda(n, a, b, y));
}

mbt_status mbt_add(mbt_device device, size_t n, const float *a, const float *b, float *y) {
    MBT_DISPATCH("add", device, mbt_add_cpu(n, a, b, y), mbt_add_cuda(n, a, b, y));
}

mbt_status mbt_axpy(mbt_device device, size_t n, float alpha, const float *x, float *y) {
    MBT_DISPATCH("axpy", device, mbt_axpy_cpu(n, alpha, x, y), mbt_axpy_cuda(n, alpha, x, y));
}

mbt_status mbt_axpby(mbt_device device, size_t n, float a, const float *x, float b, const float *y, float *out) {
    MBT_DISPATCH("axpby", device, mbt_axpby_cpu(n, a, x, b, y, out), mbt_axpby_cuda(n, a, x, b, y, out));
}

mbt_status mbt_axpy_diff(mbt_device device, size_t n, float alpha, const float *x, const float *y, float *out) {
    MBT_DISPATCH("axpy of a difference", device, mbt_axpy_diff_cpu(n, alpha, x, y, out),
                 mbt_axpy_diff_cuda(n, alpha, x, y, out));
}

mbt_status mbt_zero(mbt_device device, size_t n, float *x) {
    MBT_DISPATCH("zero", device, mbt_zero_cpu(n, x), mbt_zero_cuda(n, x));
}

mbt_status mbt_copy(mbt_device device, size_t n, const float *x, float *y) {
    MBT_DISPATCH("copy", device, mbt_copy_cpu(n, x, y), mbt_copy_cuda(n, x, y));
}

/* The bf16 functions' arguments are read only by the CUDA backend (unused in a CPU-only build). */

mbt_status mbt_relu_backward_bf16(mbt_device device, size_t n, const void *y, const void *dy, void *dx) {
    (void)n, (void)y, (void)dy, (void)dx;
    MBT_DISPATCH("relu (bf16)", device, mbt_dispatch_bf16_on_cpu(what_), mbt_relu_backward_bf16_cuda(n, y, dy, dx));
}

mbt_status mbt_add_relu_forward_bf16(mbt_device device, size_t n, const void *a, const void *b, void *y) {
    (void)n, (void)a, (void)b, (void)y;
    MBT_DISPATCH("add_relu (bf16)", device, mbt_dispatch_bf16_on_cpu(what_), mbt_add_relu_forward_bf16_cuda(n, a, b, y));
}

mbt_status mbt_add_bf16(mbt_device device, size_t n, const void *a, const void *b, void *y) {
    (void)n, (void)a, (void)b, (void)y;
    MBT_DISPATCH("add (bf16)", device, mbt_dispatch_bf16_on_cpu(what_), mbt_add_bf16_cuda(n, a, b, y));
}
