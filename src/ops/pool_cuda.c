/* Pooling on CUDA: placeholder until the kernels land. */
#include "ops/backend_cuda.h"

struct mbt_maxpool_cuda { int unused; };

#define NYI return MBT_FAIL(MBT_ERR_UNSUPPORTED, "pool (cuda): not implemented yet")
mbt_status mbt_maxpool_cuda_create(mbt_maxpool_cuda **op, const mbt_pool_shape *shape, int training) {
    (void)shape, (void)training;
    *op = NULL;
    NYI;
}
void mbt_maxpool_cuda_destroy(mbt_maxpool_cuda *op) { (void)op; }
size_t mbt_maxpool_cuda_workspace_bytes(const mbt_maxpool_cuda *op) { (void)op; return 0; }
mbt_status mbt_maxpool_cuda_forward(mbt_maxpool_cuda *op, const float *x, float *y, void *workspace) {
    (void)op, (void)x, (void)y, (void)workspace;
    NYI;
}
mbt_status mbt_maxpool_cuda_backward(mbt_maxpool_cuda *op, const void *workspace, const float *dy, float *dx) {
    (void)op, (void)workspace, (void)dy, (void)dx;
    NYI;
}
mbt_status mbt_avgpool_forward_cuda(int n, int c, int hw, const float *x, float *y) {
    (void)n, (void)c, (void)hw, (void)x, (void)y;
    NYI;
}
mbt_status mbt_avgpool_backward_cuda(int n, int c, int hw, const float *dy, float *dx) {
    (void)n, (void)c, (void)hw, (void)dy, (void)dx;
    NYI;
}
