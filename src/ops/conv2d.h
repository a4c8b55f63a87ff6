/* 2-D convolution without bias (ResNet convolutions), forward and backward, on any backend.
 *
 * Activations are in the backend's native layout (CPU: nChw8c/nChw16c, see onednn_context.h), except
 * an input declared MBT_CONV_INPUT_NCHW (the network's 3-channel input). Weights are PyTorch's OIHW;
 * the op keeps a copy in its preferred layout, refreshed by mbt_conv2d_set_weights after each
 * optimizer update. */
#ifndef MBT_CONV2D_H
#define MBT_CONV2D_H

#include "core/tensor.h"
#include "ops/shapes.h"

typedef struct mbt_conv2d mbt_conv2d;

enum {
    MBT_CONV_INPUT_NCHW = 1,  /* input is plain NCHW (and no input gradient is computed) */
    MBT_CONV_INFERENCE = 2,   /* forward only: no backward primitives */
    MBT_CONV_BF16 = 4         /* x, y, dx, dy are bf16 (an INPUT_NCHW x stays fp32), computed with bf16
                               * weights rounded from the fp32 ones, dw accumulated in fp32; CUDA only */
};

mbt_status mbt_conv2d_create(mbt_conv2d **op, mbt_device device, const mbt_conv2d_shape *shape, int flags);
void mbt_conv2d_destroy(mbt_conv2d *op);
const mbt_conv2d_shape *mbt_conv2d_get_shape(const mbt_conv2d *op);

/* Loads OIHW weights [c_out, c_in, k, k] into the op's layout. */
mbt_status mbt_conv2d_set_weights(mbt_conv2d *op, const float *w);
/* y = conv(x, w) with the weights last set. */
mbt_status mbt_conv2d_forward(mbt_conv2d *op, const float *x, float *y);
/* From dy: dx = input gradient (overwritten; pass NULL to skip, required NULL with INPUT_NCHW),
 * dw += weight gradient (OIHW). x is the forward input. */
mbt_status mbt_conv2d_backward(mbt_conv2d *op, const float *x, const float *dy, float *dx, float *dw);

#endif
