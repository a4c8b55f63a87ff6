/* Batch normalisation over [n, c, h, w] activations (hw = 1: BatchNorm1d over [n, c]), with an
 * optional fused ReLU, forward (training and evaluation) and backward, on any backend.
 *
 * PyTorch semantics: training normalises with the batch mean and biased variance and updates
 * running_mean/var with momentum (running_var from the unbiased variance); evaluation uses the
 * running statistics. Activations are in the backend's native layout ([n, c] for hw = 1). */
#ifndef MBT_BATCHNORM_H
#define MBT_BATCHNORM_H

#include <stddef.h>

#include "core/tensor.h"
#include "ops/shapes.h"

typedef struct mbt_batchnorm mbt_batchnorm;

enum {
    MBT_BN_FUSE_RELU = 1,  /* y = relu(bn(x)); backward takes the gradient of the ReLU output */
    MBT_BN_INFERENCE = 2,  /* evaluation forward only */
    MBT_BN_BF16 = 4        /* x, y, dy, dx are bf16 (statistics and parameters fp32); CUDA only */
};

mbt_status mbt_batchnorm_create(mbt_batchnorm **op, mbt_device device, const mbt_batchnorm_shape *shape, int flags);
void mbt_batchnorm_destroy(mbt_batchnorm *op);
/* Bytes of per-call state the training forward leaves for backward (the ReLU mask when fused). */
size_t mbt_batchnorm_workspace_bytes(const mbt_batchnorm *op);

/* Training forward. save_mean/save_var [c] receive the batch mean and biased variance, workspace
 * (mbt_batchnorm_workspace_bytes) the fused ReLU's state; running_mean/var are updated in place. */
mbt_status mbt_batchnorm_forward_train(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                       float *y, float *save_mean, float *save_var, void *workspace,
                                       float *running_mean, float *running_var);
/* Evaluation forward with the running statistics. */
mbt_status mbt_batchnorm_forward_eval(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var, float *y);
/* Backward of the training forward: dx overwritten, dgamma and dbeta accumulated. */
mbt_status mbt_batchnorm_backward(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                  const float *save_mean,
                                  const float *save_var, const void *workspace, const float *dy, float *dx,
                                  float *dgamma, float *dbeta);

#endif
