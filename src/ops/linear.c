/* Linear layers and L2 normalisation: dispatch to the backend of the device. */
#include "ops/linear.h"

#include "ops/dispatch.h"

mbt_status mbt_linear_forward(mbt_device device, int n, int in, int out, const float *x, const float *w,
                              const float *b, float *y) {
    MBT_DISPATCH("linear", device, mbt_linear_forward_cpu(n, in, out, x, w, b, y),
                 mbt_linear_forward_cuda(n, in, out, x, w, b, y));
}

mbt_status mbt_linear_backward(mbt_device device, int n, int in, int out, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db) {
    MBT_DISPATCH("linear", device, mbt_linear_backward_cpu(n, in, out, x, w, dy, dx, dw, db),
                 mbt_linear_backward_cuda(n, in, out, x, w, dy, dx, dw, db));
}

mbt_status mbt_l2norm_forward(mbt_device device, int n, int d, const float *x, float *y) {
    MBT_DISPATCH("l2norm", device, mbt_l2norm_forward_cpu(n, d, x, y), mbt_l2norm_forward_cuda(n, d, x, y));
}

mbt_status mbt_l2norm_backward(mbt_device device, int n, int d, const float *x, const float *dy, float *dx) {
    MBT_DISPATCH("l2norm", device, mbt_l2norm_backward_cpu(n, d, x, dy, dx),
                 mbt_l2norm_backward_cuda(n, d, x, dy, dx));
}
