/* conv2d: an op object of the device's backend behind the public handle. */
#include "ops/conv2d.h"

#include <stdlib.h>

#include "ops/dispatch.h"

struct mbt_conv2d {
    mbt_device device;
    mbt_conv2d_shape shape;
    void *impl; /* mbt_conv2d_cpu or mbt_conv2d_cuda */
};

static mbt_status create_impl(mbt_conv2d *op, int flags) {
    if ((flags & MBT_CONV_BF16) && op->device == MBT_DEVICE_CPU) return mbt_dispatch_bf16_on_cpu("conv2d");
    MBT_DISPATCH("conv2d", op->device, mbt_conv2d_cpu_create((mbt_conv2d_cpu **)&op->impl, &op->shape, flags),
                 mbt_conv2d_cuda_create((mbt_conv2d_cuda **)&op->impl, &op->shape, flags));
}

mbt_status mbt_conv2d_create(mbt_conv2d **out, mbt_device device, const mbt_conv2d_shape *shape, int flags) {
    *out = NULL;
    mbt_conv2d *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "conv2d: out of memory");
    op->device = device;
    op->shape = *shape;
    mbt_status st = create_impl(op, flags);
    if (st != MBT_OK) {
        free(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_conv2d_destroy(mbt_conv2d *op) {
    if (!op) return;
    if (op->device == MBT_DEVICE_CPU) mbt_conv2d_cpu_destroy(op->impl);
#ifdef MIXBT_HAVE_CUDA
    if (op->device == MBT_DEVICE_CUDA) mbt_conv2d_cuda_destroy(op->impl);
#endif
    free(op);
}

const mbt_conv2d_shape *mbt_conv2d_get_shape(const mbt_conv2d *op) { return &op->shape; }

mbt_status mbt_conv2d_set_weights(mbt_conv2d *op, const float *w) {
    MBT_DISPATCH("conv2d", op->device, mbt_conv2d_cpu_set_weights(op->impl, w), mbt_conv2d_cuda_set_weights(op->impl, w));
}

mbt_status mbt_conv2d_forward(mbt_conv2d *op, const float *x, float *y) {
    MBT_DISPATCH("conv2d", op->device, mbt_conv2d_cpu_forward(op->impl, x, y), mbt_conv2d_cuda_forward(op->impl, x, y));
}

mbt_status mbt_conv2d_backward(mbt_conv2d *op, const float *x, const float *dy, float *dx, float *dw) {
    MBT_DISPATCH("conv2d", op->device, mbt_conv2d_cpu_backward(op->impl, x, dy, dx, dw),
                 mbt_conv2d_cuda_backward(op->impl, x, dy, dx, dw));
}
