/* Batch norm: an op object of the device's backend behind the public handle. */
#include "ops/batchnorm.h"

#include <stdlib.h>

#include "ops/dispatch.h"

struct mbt_batchnorm {
    mbt_device device;
    void *impl; /* mbt_batchnorm_cpu or mbt_batchnorm_cuda */
};

static mbt_status create_impl(mbt_batchnorm *op, const mbt_batchnorm_shape *shape, int flags) {
    if ((flags & MBT_BN_BF16) && op->device == MBT_DEVICE_CPU) return mbt_dispatch_bf16_on_cpu("batchnorm");
    MBT_DISPATCH("batchnorm", op->device, mbt_batchnorm_cpu_create((mbt_batchnorm_cpu **)&op->impl, shape, flags),
                 mbt_batchnorm_cuda_create((mbt_batchnorm_cuda **)&op->impl, shape, flags));
}

mbt_status mbt_batchnorm_create(mbt_batchnorm **out, mbt_device device, const mbt_batchnorm_shape *shape, int flags) {
    *out = NULL;
    mbt_batchnorm *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory");
    op->device = device;
    mbt_status st = create_impl(op, shape, flags);
    if (st != MBT_OK) {
        free(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_batchnorm_destroy(mbt_batchnorm *op) {
    if (!op) return;
    if (op->device == MBT_DEVICE_CPU) mbt_batchnorm_cpu_destroy(op->impl);
#ifdef MIXBT_HAVE_CUDA
    if (op->device == MBT_DEVICE_CUDA) mbt_batchnorm_cuda_destroy(op->impl);
#endif
    free(op);
}

size_t mbt_batchnorm_workspace_bytes(const mbt_batchnorm *op) {
#ifdef MIXBT_HAVE_CUDA
    if (op->device == MBT_DEVICE_CUDA) return mbt_batchnorm_cuda_workspace_bytes(op->impl);
#endif
    return mbt_batchnorm_cpu_workspace_bytes(op->impl);
}

mbt_status mbt_batchnorm_forward_train(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                       float *y, float *save_mean, float *save_var, void *workspace,
                                       float *running_mean, float *running_var) {
    MBT_DISPATCH("batchnorm", op->device,
                 mbt_batchnorm_cpu_forward_train(op->impl, x, gamma, beta, y, save_mean, save_var, workspace,
                                                 running_mean, running_var),
                 mbt_batchnorm_cuda_forward_train(op->impl, x, gamma, beta, y, save_mean, save_var, workspace,
                                                  running_mean, running_var));
}

mbt_status mbt_batchnorm_forward_eval(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var, float *y) {
    MBT_DISPATCH("batchnorm", op->device,
                 mbt_batchnorm_cpu_forward_eval(op->impl, x, gamma, beta, running_mean, running_var, y),
                 mbt_batchnorm_cuda_forward_eval(op->impl, x, gamma, beta, running_mean, running_var, y));
}

mbt_status mbt_batchnorm_backward(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                  const float *save_mean, const float *save_var, const void *workspace,
                                  const float *dy, float *dx, float *dgamma, float *dbeta) {
    MBT_DISPATCH("batchnorm", op->device,
                 mbt_batchnorm_cpu_backward(op->impl, x, gamma, beta, save_mean, save_var, workspace, dy, dx, dgamma,
                                            dbeta),
                 mbt_batchnorm_cuda_backward(op->impl, x, gamma, beta, save_mean, save_var, workspace, dy, dx,
                                             dgamma, dbeta));
}
