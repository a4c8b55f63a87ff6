/* Plain-C reference implementations of every operation, in double precision and NCHW layout.
 * They are the oracle of the tests (checked against finite differences, and the backends checked
 * against them) and are written for clarity, not speed. Shapes are spelled out in the arguments.
 * Backward functions OVERWRITE dx and ACCUMULATE (+=) into parameter gradients (dw, dgamma, ...),
 * matching how the models use the backends. */
#ifndef MBT_OPS_REF_H
#define MBT_OPS_REF_H

#include <stdint.h>

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

/* Row-major products as ops/blas.h: C [m,n] = alpha op(A) op(B) + beta C, and the full symmetric
 * C [n,n] = alpha A A^T + beta C for A [n,k]. */
void mbt_ref_gemm(int trans_a, int trans_b, int m, int n, int k, double alpha, const double *a, int lda,
                  const double *b, int ldb, double beta, double *c, int ldc);
void mbt_ref_syrk(int n, int k, double alpha, const double *a, int lda, double beta, double *c, int ldc);

/* Standardisation over the B rows of [B,d] per column with the unbiased std (ops/standardize.h):
 * zn and inv_std[d]; backward in place, g = dL/dzn in, dL/dz out. */
void mbt_ref_standardize_forward(int B, int d, const double *z, double *zn, double *inv_std);
void mbt_ref_standardize_backward(int B, int d, const double *zn, const double *inv_std, double *g);

/* Row mixing (ops/mix.h), rows of `row` values: out[b] = a x1[b] + (1-a) x2[perm[b]];
 * D[b] = m[b] - a y[b] - (1-a) s[perm[b]]; y[perm[b]] -= a x[b] for every b. */
void mbt_ref_mix_rows(int rows, int row, double a, const double *x1, const double *x2, const int32_t *perm,
                      double *out);
void mbt_ref_mix_residual(int rows, int row, double a, const double *m, const double *y, const double *s,
                          const int32_t *perm, double *D);
void mbt_ref_scatter_sub(int rows, int row, double a, const int32_t *perm, const double *x, double *y);

/* NT-Xent rows over a Gram matrix g [V B, V B] (ops/ntxent.h): *loss = loss_scale * sum of the rows'
 * cross-entropies; w (NULL: skip) overwritten with grad_scale * (softmax - onehot) at the logits' places. */
void mbt_ref_ntxent_rows(int views, int B, double tau, const double *g, double loss_scale, double grad_scale,
                         double *w, double *loss);

#endif
