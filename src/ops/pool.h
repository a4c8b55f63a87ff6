/* Pooling: max pooling (the ResNet stem's 3x3/2/1) and global average pooling, on any backend.
 * Inputs are in the backend's native activation layout; the global average pool writes [n, c]. */
#ifndef MBT_POOL_H
#define MBT_POOL_H

#include <stddef.h>

#include "core/tensor.h"
#include "ops/shapes.h"

typedef struct mbt_maxpool mbt_maxpool;

enum {
    MBT_POOL_TRAINING = 1, /* keep the arg-max positions for backward */
    MBT_POOL_BF16 = 2      /* x, y, dy, dx are bf16; CUDA only */
};

mbt_status mbt_maxpool_create(mbt_maxpool **op, mbt_device device, const mbt_pool_shape *shape, int flags);
void mbt_maxpool_destroy(mbt_maxpool *op);
/* Bytes the training forward leaves for backward (the arg-max positions). */
size_t mbt_maxpool_workspace_bytes(const mbt_maxpool *op);
mbt_status mbt_maxpool_forward(mbt_maxpool *op, const float *x, float *y, void *workspace);
/* dx overwritten from dy and the forward's workspace. */
mbt_status mbt_maxpool_backward(mbt_maxpool *op, const void *workspace, const float *dy, float *dx);

/* Global average pooling of native [n, c, h, w] (hw = h*w) into [n, c], and its backward. */
mbt_status mbt_avgpool_forward(mbt_device device, int n, int c, int hw, const float *x, float *y);
mbt_status mbt_avgpool_backward(mbt_device device, int n, int c, int hw, const float *dy, float *dx);
/* The same from bf16 activations x to fp32 features y, and from fp32 dy to bf16 dx (CUDA only). */
mbt_status mbt_avgpool_forward_bf16(mbt_device device, int n, int c, int hw, const void *x, float *y);
mbt_status mbt_avgpool_backward_bf16(mbt_device device, int n, int c, int hw, const float *dy, void *dx);

#endif
