/* Plain-C reference implementations of every operation, in double precision and NCHW layout.
 * They are the oracle of the tests (checked against finite differences, and the backends checked
 * against them) and are written for clarity, not speed. Shapes are spelled out in the arguments.
 * Backward functions OVERWRITE dx and ACCUMULATE (+=) into parameter gradients (dw, dgamma, ...),
 * matching how the models use the backends. */
#ifndef MBT_OPS_REF_H
#define MBT_OPS_REF_H

#include "ops/shapes.h"

/* conv2d, no bias. x [n,c_in,h,w], w [c_out,c_in,k,k] (PyTorch OIHW), y [n,c_out,h_out,w_out]. */
void mbt_ref_conv2d_forward(const mbt_conv2d_shape *s, const double *x, const double *w, double *y);
/* dx may be NULL (not wanted). dw += gradient. */
void mbt_ref_conv2d_backward(const mbt_conv2d_shape *s, const double *x, const double *w, const double *dy,
                             double *dx, double *dw);

/* Batch norm over [n,c,hw] (hw = 1 for BatchNorm1d). Training: normalise with the batch mean and
 * the biased variance; save_mean/save_var [c] receive them; running_mean/var (may be NULL) are
 * updated as PyTorch does: r = (1-m) r + m * stat, with the unbiased variance for running_var. */
void mbt_ref_batchnorm_forward_train(const mbt_batchnorm_shape *s, const double *x, const double *gamma,
                                     const double *beta, double *y, double *save_mean, double *save_var,
                                     double *running_mean, double *running_var);
void mbt_ref_batchnorm_forward_eval(const mbt_batchnorm_shape *s, const double *x, const double *gamma,
                                    const double *beta, const double *running_mean, const double *running_var,
                                    double *y);
/* Backward of the training forward. dx overwritten; dgamma, dbeta accumulated. */
void mbt_ref_batchnorm_backward(const mbt_batchnorm_shape *s, const double *x, const double *gamma,
                                const double *save_mean, const double *save_var, const double *dy, double *dx,
                                double *dgamma, double *dbeta);

/* y = max(x, 0) over n values; backward from the output: dx = dy * (y > 0). */
void mbt_ref_relu_forward(long n, const double *x, double *y);
void mbt_ref_relu_backward(long n, const double *y, const double *dy, double *dx);

/* Max pooling (kernel k, stride, pad; padding never wins), x [n,c,h,w] -> y [n,c,h_out,w_out].
 * Ties go to the first maximum in row-major window order, as PyTorch. */
void mbt_ref_maxpool_forward(const mbt_pool_shape *s, const double *x, double *y);
void mbt_ref_maxpool_backward(const mbt_pool_shape *s, const double *x, const double *dy, double *dx);

/* Global average pooling [n,c,h,w] -> [n,c]. */
void mbt_ref_avgpool_forward(int n, int c, int hw, const double *x, double *y);
void mbt_ref_avgpool_backward(int n, int c, int hw, const double *dy, double *dx);

/* Linear: y [n,out] = x [n,in] W^T + b, W [out,in] (PyTorch), b [out] or NULL.
 * dx [n,in] overwritten (may be NULL); dW, db (may be NULL) accumulated. */
void mbt_ref_linear_forward(int n, int in, int out, const double *x, const double *w, const double *b, double *y);
void mbt_ref_linear_backward(int n, int in, int out, const double *x, const double *w, const double *dy,
                             double *dx, double *dw, double *db);

/* y = a + b over n values. */
void mbt_ref_add_forward(long n, const double *a, const double *b, double *y);

/* Row-wise L2 normalisation as torch.nn.functional.normalize(x, dim=1, eps=1e-12):
 * y[i,:] = x[i,:] / max(||x[i,:]||, 1e-12), x [n,d]. */
void mbt_ref_l2norm_forward(int n, int d, const double *x, double *y);
void mbt_ref_l2norm_backward(int n, int d, const double *x, const double *dy, double *dx);

#endif
