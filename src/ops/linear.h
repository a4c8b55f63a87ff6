/* Fully connected layer y = x W^T + b (PyTorch's nn.Linear, W [out, in]) and L2 normalisation of
 * rows (F.normalize(dim=1)), forward and backward, on any backend. Data are row-major [n, features]. */
#ifndef MBT_LINEAR_H
#define MBT_LINEAR_H

#include "core/tensor.h"

/* b may be NULL (no bias). */
mbt_status mbt_linear_forward(mbt_device device, int n, int in, int out, const float *x, const float *w,
                              const float *b, float *y);
/* dx overwritten (NULL: skip); dw and db (NULL: no bias) accumulated. */
mbt_status mbt_linear_backward(mbt_device device, int n, int in, int out, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db);

/* y[i,:] = x[i,:] / max(||x[i,:]||, 1e-12) for x [n, d]. */
mbt_status mbt_l2norm_forward(mbt_device device, int n, int d, const float *x, float *y);
/* dx overwritten; x is the forward input. */
mbt_status mbt_l2norm_backward(mbt_device device, int n, int d, const float *x, const float *dy, float *dx);

#endif
