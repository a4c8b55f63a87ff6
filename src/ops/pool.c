/* Pooling: dispatch to the backend of the device (max pooling as an op object). */
#include "ops/pool.h"

#include <stdlib.h>

#include "ops/dispatch.h"

struct mbt_maxpool {
    mbt_device device;
    void *impl; /* mbt_maxpool_cpu or mbt_maxpool_cuda */
};

static mbt_status create_impl(mbt_maxpool *op, const mbt_pool_shape *shape, int flags) {
    if ((flags & MBT_POOL_BF16) && op->device == MBT_DEVICE_CPU) return mbt_dispatch_bf16_on_cpu("maxpool");
    MBT_DISPATCH("maxpool", op->device,
                 mbt_maxpool_cpu_create((mbt_maxpool_cpu **)&op->impl, shape, (flags & MBT_POOL_TRAINING) != 0),
                 mbt_maxpool_cuda_create((mbt_maxpool_cuda **)&op->impl, shape, flags));
}

mbt_status mbt_maxpool_create(mbt_maxpool **out, mbt_device device, const mbt_pool_shape *shape, int flags) {
    *out = NULL;
    mbt_maxpool *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "maxpool: out of memory");
    op->device = device;
    mbt_status st = create_impl(op, shape, flags);
    if (st != MBT_OK) {
        free(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_maxpool_destroy(mbt_maxpool *op) {
    if (!op) return;
    if (op->device == MBT_DEVICE_CPU) mbt_maxpool_cpu_destroy(op->impl);
#ifdef MIXBT_HAVE_CUDA
    if (op->device == MBT_DEVICE_CUDA) mbt_maxpool_cuda_destroy(op->impl);
#endif
    free(op);
}

size_t mbt_maxpool_workspace_bytes(const mbt_maxpool *op) {
#ifdef MIXBT_HAVE_CUDA
    if (op->device == MBT_DEVICE_CUDA) return mbt_maxpool_cuda_workspace_bytes(op->impl);
#endif
    return mbt_maxpool_cpu_workspace_bytes(op->impl);
}

mbt_status mbt_maxpool_forward(mbt_maxpool *op, const float *x, float *y, void *workspace) {
    MBT_DISPATCH("maxpool", op->device, mbt_maxpool_cpu_forward(op->impl, x, y, workspace),
                 mbt_maxpool_cuda_forward(op->impl, x, y, workspace));
}

mbt_status mbt_maxpool_backward(mbt_maxpool *op, const void *workspace, const float *dy, float *dx) {
    MBT_DISPATCH("maxpool", op->device, mbt_maxpool_cpu_backward(op->impl, workspace, dy, dx),
                 mbt_maxpool_cuda_backward(op->impl, workspace, dy, dx));
}

mbt_status mbt_avgpool_forward(mbt_device device, int n, int c, int hw, const float *x, float *y) {
    MBT_DISPATCH("avgpool", device, mbt_avgpool_forward_cpu(n, c, hw, x, y), mbt_avgpool_forward_cuda(n, c, hw, x, y));
}

mbt_status mbt_avgpool_backward(mbt_device device, int n, int c, int hw, const float *dy, float *dx) {
    MBT_DISPATCH("avgpool", device, mbt_avgpool_backward_cpu(n, c, hw, dy, dx),
                 mbt_avgpool_backward_cuda(n, c, hw, dy, dx));
}

/* The bf16 functions' arguments are read only by the CUDA backend (unused in a CPU-only build). */

mbt_status mbt_avgpool_forward_bf16(mbt_device device, int n, int c, int hw, const void *x, float *y) {
    (void)n, (void)c, (void)hw, (void)x, (void)y;
    MBT_DISPATCH("avgpool (bf16)", device, mbt_dispatch_bf16_on_cpu(what_), mbt_avgpool_forward_bf16_cuda(n, c, hw, x, y));
}

mbt_status mbt_avgpool_backward_bf16(mbt_device device, int n, int c, int hw, const float *dy, void *dx) {
    (void)n, (void)c, (void)hw, (void)dy, (void)dx;
    MBT_DISPATCH("avgpool (bf16)", device, mbt_dispatch_bf16_on_cpu(what_),
                 mbt_avgpool_backward_bf16_cuda(n, c, hw, dy, dx));
}
