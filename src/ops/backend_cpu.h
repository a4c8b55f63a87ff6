/* The CPU backend's implementation of every op, called only by the dispatchers in src/ops/<op>.c.
 * Each function has the contract of the public function of the same name in ops/<op>.h, without the
 * device argument (object ops: the type mbt_<op>_cpu with methods mbt_<op>_cpu_<verb>). Activations are blocked nChw8c/nChw16c (ops/onednn_context.h). */
#ifndef MBT_BACKEND_CPU_H
#define MBT_BACKEND_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "ops/batchnorm.h" /* flags of the object ops */
#include "ops/conv2d.h"
#include "ops/pool.h"
#include "ops/shapes.h"

/* conv2d (ops/conv2d.h) */
typedef struct mbt_conv2d_cpu mbt_conv2d_cpu;
mbt_status mbt_conv2d_cpu_create(mbt_conv2d_cpu **op, const mbt_conv2d_shape *shape, int flags);
void mbt_conv2d_cpu_destroy(mbt_conv2d_cpu *op);
mbt_status mbt_conv2d_cpu_set_weights(mbt_conv2d_cpu *op, const float *w);
mbt_status mbt_conv2d_cpu_forward(mbt_conv2d_cpu *op, const float *x, float *y);
mbt_status mbt_conv2d_cpu_backward(mbt_conv2d_cpu *op, const float *x, const float *dy, float *dx, float *dw);

/* batch norm (ops/batchnorm.h) */
typedef struct mbt_batchnorm_cpu mbt_batchnorm_cpu;
mbt_status mbt_batchnorm_cpu_create(mbt_batchnorm_cpu **op, const mbt_batchnorm_shape *shape, int flags);
void mbt_batchnorm_cpu_destroy(mbt_batchnorm_cpu *op);
size_t mbt_batchnorm_cpu_workspace_bytes(const mbt_batchnorm_cpu *op);
mbt_status mbt_batchnorm_cpu_forward_train(mbt_batchnorm_cpu *op, const float *x, const float *gamma, const float *beta,
                                           float *y, float *save_mean, float *save_var, void *workspace,
                                           float *running_mean, float *running_var);
mbt_status mbt_batchnorm_cpu_forward_eval(mbt_batchnorm_cpu *op, const float *x, const float *gamma, const float *beta,
                                          const float *running_mean, const float *running_var, float *y);
mbt_status mbt_batchnorm_cpu_backward(mbt_batchnorm_cpu *op, const float *x, const float *gamma, const float *beta,
                                      const float *save_mean, const float *save_var, const void *workspace,
                                      const float *dy, float *dx, float *dgamma, float *dbeta);

/* pooling (ops/pool.h) */
typedef struct mbt_maxpool_cpu mbt_maxpool_cpu;
mbt_status mbt_maxpool_cpu_create(mbt_maxpool_cpu **op, const mbt_pool_shape *shape, int training);
void mbt_maxpool_cpu_destroy(mbt_maxpool_cpu *op);
size_t mbt_maxpool_cpu_workspace_bytes(const mbt_maxpool_cpu *op);
mbt_status mbt_maxpool_cpu_forward(mbt_maxpool_cpu *op, const float *x, float *y, void *workspace);
mbt_status mbt_maxpool_cpu_backward(mbt_maxpool_cpu *op, const void *workspace, const float *dy, float *dx);
mbt_status mbt_avgpool_forward_cpu(int n, int c, int hw, const float *x, float *y);
mbt_status mbt_avgpool_backward_cpu(int n, int c, int hw, const float *dy, float *dx);

/* layout conversions (ops/layout.h) */
mbt_status mbt_layout_from_nchw_cpu(int n, int c, int hw, const float *nchw, float *native);
mbt_status mbt_layout_to_nchw_cpu(int n, int c, int hw, const float *native, float *nchw);

/* linear layers and L2 normalisation (ops/linear.h) */
mbt_status mbt_linear_forward_cpu(int n, int in, int out, const float *x, const float *w, const float *b, float *y);
mbt_status mbt_linear_backward_cpu(int n, int in, int out, const float *x, const float *w, const float *dy, float *dx,
                                   float *dw, float *db);
mbt_status mbt_l2norm_forward_cpu(int n, int d, const float *x, float *y);
mbt_status mbt_l2norm_backward_cpu(int n, int d, const float *x, const float *dy, float *dx);

/* element-wise (ops/eltwise.h) */
mbt_status mbt_relu_forward_cpu(size_t n, const float *x, float *y);
mbt_status mbt_relu_backward_cpu(size_t n, const float *y, const float *dy, float *dx);
mbt_status mbt_add_relu_forward_cpu(size_t n, const float *a, const float *b, float *y);
mbt_status mbt_add_cpu(size_t n, const float *a, const float *b, float *y);
mbt_status mbt_axpy_cpu(size_t n, float alpha, const float *x, float *y);
mbt_status mbt_zero_cpu(size_t n, float *x);
mbt_status mbt_copy_cpu(size_t n, const float *x, float *y);
mbt_status mbt_axpby_cpu(size_t n, float a, const float *x, float b, const float *y, float *out);
mbt_status mbt_axpy_diff_cpu(size_t n, float alpha, const float *x, const float *y, float *out);

/* matrix products (ops/blas.h) */
mbt_status mbt_sgemm_cpu(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
mbt_status mbt_ssyrk_cpu(int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc);

/* batched Cholesky factor and inverse (ops/cholesky.h) */
mbt_status mbt_cholesky_inverse_cpu(int groups, int d, const float *a, float *l, float *w, int32_t *info);
mbt_status mbt_cholesky_inverse_backward_cpu(int groups, int d, const float *l, const float *w, const float *gw,
                                             float *ga, float *scratch);

/* reductions (ops/reduce.h) */
mbt_status mbt_dot_cpu(size_t n, const float *x, const float *y, double *out);
mbt_status mbt_dot_accumulate_cpu(size_t n, const float *x, const float *y, double scale, double shift, double *acc);
mbt_status mbt_sqdist_accumulate_cpu(size_t n, const float *x, const float *y, double scale, double *acc);

/* batch standardisation (ops/standardize.h) */
mbt_status mbt_standardize_forward_cpu(int B, int d, const float *z, float *zn, float *inv_std, unsigned *bad_column);
mbt_status mbt_standardize_backward_cpu(int B, int d, const float *zn, const float *inv_std, float *g);

/* row mixing (ops/mix.h) */
mbt_status mbt_mix_rows_cpu(int rows, size_t row, float a, const float *x1, const float *x2, const int32_t *perm,
                            float *out);
mbt_status mbt_mix_residual_cpu(int rows, int d, float a, const float *m, const float *y, const float *s,
                                const int32_t *perm, float *D);
mbt_status mbt_gather_rows_cpu(int rows, int d, const int32_t *perm, const float *x, float *out);
mbt_status mbt_scatter_sub_cpu(int rows, int d, float a, const int32_t *perm, const float *x, float *y);

/* cross-correlation loss parts (ops/xcorr.h) */
mbt_status mbt_xcorr_diagonal_cpu(int B, int d, const float *x, const float *y, double *acc, float *diag, double *on,
                                  double *sq);
mbt_status mbt_xcorr_diag_grad_cpu(int B, int d, float lambda, const float *diag, const float *x, const float *y,
                                   float *gx, float *gy);
mbt_status mbt_xcorr_cov_terms_cpu(int d, const float *c, double *on, double *off);
mbt_status mbt_xcorr_cov_grad_cpu(int d, float lambda2, float *c);

/* NT-Xent rows (ops/ntxent.h) */
mbt_status mbt_ntxent_rows_cpu(int views, int B, float tau, const float *g, double loss_scale, float grad_scale,
                               float *w, double *row_loss, double *loss);

#endif
