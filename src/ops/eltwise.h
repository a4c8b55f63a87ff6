/* Element-wise operations (layout-independent): ReLU, residual addition, scaled accumulation and combination,
 * zeroing and copying; the residual blocks' ops also on bf16 activations. */
#ifndef MBT_ELTWISE_H
#define MBT_ELTWISE_H

#include <stddef.h>

#include "core/tensor.h"

/* y = max(x, 0); x and y may alias. */
mbt_status mbt_relu_forward(mbt_device device, size_t n, const float *x, float *y);
/* dx = dy where y > 0, else 0 (y is the forward output); dy and dx may alias. */
mbt_status mbt_relu_backward(mbt_device device, size_t n, const float *y, const float *dy, float *dx);
/* y = relu(a + b) (the end of a residual block); may alias. */
mbt_status mbt_add_relu_forward(mbt_device device, size_t n, const float *a, const float *b, float *y);
/* y = a + b; may alias. */
mbt_status mbt_add(mbt_device device, size_t n, const float *a, const float *b, float *y);
/* y += alpha * x. */
mbt_status mbt_axpy(mbt_device device, size_t n, float alpha, const float *x, float *y);
/* out += alpha * (x - y), the difference in float first (F.mse_loss's gradient). */
mbt_status mbt_axpy_diff(mbt_device device, size_t n, float alpha, const float *x, const float *y, float *out);
/* out = a * x + b * y; out may alias x or y. */
mbt_status mbt_axpby(mbt_device device, size_t n, float a, const float *x, float b, const float *y, float *out);
/* Sets n floats to zero. */
mbt_status mbt_zero(mbt_device device, size_t n, float *x);
/* y = x over n floats, both in the device's memory (CUDA: a device-to-device copy queued on the
 * context's stream). x and y must not overlap unless they are equal. */
mbt_status mbt_copy(mbt_device device, size_t n, const float *x, float *y);

/* The same on bf16 activations (models built with MBT_PRECISION_BF16): arrays of n bf16 values, each
 * result computed in fp32 from the bf16 inputs and rounded once to nearest even. CUDA only: the CPU
 * answers MBT_ERR_UNSUPPORTED. */
mbt_status mbt_relu_backward_bf16(mbt_device device, size_t n, const void *y, const void *dy, void *dx);
mbt_status mbt_add_relu_forward_bf16(mbt_device device, size_t n, const void *a, const void *b, void *y);
mbt_status mbt_add_bf16(mbt_device device, size_t n, const void *a, const void *b, void *y);

#endif
