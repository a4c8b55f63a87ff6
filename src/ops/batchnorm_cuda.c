/* Batch norm on CUDA: placeholder until the kernels land. */
#include "ops/backend_cuda.h"

struct mbt_batchnorm_cuda { int unused; };

#define NYI return MBT_FAIL(MBT_ERR_UNSUPPORTED, "batchnorm (cuda): not implemented yet")
mbt_status mbt_batchnorm_cuda_create(mbt_batchnorm_cuda **op, const mbt_batchnorm_shape *shape, int flags) {
    (void)shape, (void)flags;
    *op = NULL;
    NYI;
}
void mbt_batchnorm_cuda_destroy(mbt_batchnorm_cuda *op) { (void)op; }
size_t mbt_batchnorm_cuda_workspace_bytes(const mbt_batchnorm_cuda *op) { (void)op; return 0; }
mbt_status mbt_batchnorm_cuda_forward_train(mbt_batchnorm_cuda *op, const float *x, const float *gamma, const float *beta,
                                           float *y, float *save_mean, float *save_var, void *workspace,
                                           float *running_mean, float *running_var) {
    (void)op, (void)x, (void)gamma, (void)beta, (void)y, (void)save_mean, (void)save_var, (void)workspace,
        (void)running_mean, (void)running_var;
    NYI;
}
mbt_status mbt_batchnorm_cuda_forward_eval(mbt_batchnorm_cuda *op, const float *x, const float *gamma, const float *beta,
                                          const float *running_mean, const float *running_var, float *y) {
    (void)op, (void)x, (void)gamma, (void)beta, (void)running_mean, (void)running_var, (void)y;
    NYI;
}
mbt_status mbt_batchnorm_cuda_backward(mbt_batchnorm_cuda *op, const float *x, const float *gamma, const float *beta,
                                      const float *save_mean, const float *save_var, const void *workspace,
                                      const float *dy, float *dx, float *dgamma, float *dbeta) {
    (void)op, (void)x, (void)gamma, (void)beta, (void)save_mean, (void)save_var, (void)workspace, (void)dy, (void)dx,
        (void)dgamma, (void)dbeta;
    NYI;
}
