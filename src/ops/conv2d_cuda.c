/* conv2d on CUDA (cuDNN): placeholder until the cuDNN implementation lands. */
#include "ops/backend_cuda.h"

struct mbt_conv2d_cuda { int unused; };

mbt_status mbt_conv2d_cuda_create(mbt_conv2d_cuda **op, const mbt_conv2d_shape *shape, int flags) {
    (void)shape, (void)flags;
    *op = NULL;
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "conv2d (cuda): not implemented yet");
}
void mbt_conv2d_cuda_destroy(mbt_conv2d_cuda *op) { (void)op; }
mbt_status mbt_conv2d_cuda_set_weights(mbt_conv2d_cuda *op, const float *w) {
    (void)op, (void)w;
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "conv2d (cuda): not implemented yet");
}
mbt_status mbt_conv2d_cuda_forward(mbt_conv2d_cuda *op, const float *x, float *y) {
    (void)op, (void)x, (void)y;
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "conv2d (cuda): not implemented yet");
}
mbt_status mbt_conv2d_cuda_backward(mbt_conv2d_cuda *op, const float *x, const float *dy, float *dx, float *dw) {
    (void)op, (void)x, (void)dy, (void)dx, (void)dw;
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "conv2d (cuda): not implemented yet");
}
