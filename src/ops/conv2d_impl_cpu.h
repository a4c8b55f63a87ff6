/* The CPU convolution's implementations besides oneDNN's direct kernels, and the per-direction
 * choice among them (conv2d_cpu.c). Internal to the CPU backend, plus hooks for tests and benchmarks.
 * All keep the contract of mbt_conv2d_cpu (ops/backend_cpu.h): activations blocked nChw8c/nChw16c,
 * weights and weight gradients OIHW, dx overwritten, dw accumulated. */
#ifndef MBT_CONV2D_IMPL_CPU_H
#define MBT_CONV2D_IMPL_CPU_H

#include "core/status.h"
#include "ops/backend_cpu.h"
#include "ops/shapes.h"

/* Directions of a convolution, as bits. */
enum { MBT_CONV_DIR_FWD = 1, MBT_CONV_DIR_BWD_DATA = 2, MBT_CONV_DIR_BWD_WEIGHTS = 4, MBT_CONV_DIRS_ALL = 7 };

/* im2col + sgemm (conv2d_gemm_cpu.c): any kernel, stride and padding below the kernel size. */
typedef struct mbt_conv2d_gemm mbt_conv2d_gemm;
/* An op for shape s (channels multiples of the activation block) that may run on up to the
 * current OpenMP thread count. Reserves its scratch in the backend's shared buffer. */
mbt_status mbt_conv2d_gemm_create(mbt_conv2d_gemm **op, const mbt_conv2d_shape *s);
void mbt_conv2d_gemm_destroy(mbt_conv2d_gemm *op);
mbt_status mbt_conv2d_gemm_set_weights(mbt_conv2d_gemm *op, const float *w);
mbt_status mbt_conv2d_gemm_forward(mbt_conv2d_gemm *op, const float *x, float *y);
/* dx (NULL: skipped) overwritten, dw (NULL: skipped) accumulated. */
mbt_status mbt_conv2d_gemm_backward(mbt_conv2d_gemm *op, const float *x, const float *dy, float *dx, float *dw);

/* Winograd F(m x m, 3x3), m = 2 or 4 (conv2d_wino_cpu.c): kernel 3, stride 1, padding <= 2. */
typedef struct mbt_conv2d_wino mbt_conv2d_wino;
int mbt_conv2d_wino_applies(const mbt_conv2d_shape *s);
/* An op that runs the directions `dirs` (MBT_CONV_DIR_* bits; set_weights transforms the weights
 * for those only, so it costs nothing per step for backward weights alone). */
mbt_status mbt_conv2d_wino_create(mbt_conv2d_wino **op, const mbt_conv2d_shape *s, int m, int dirs);
void mbt_conv2d_wino_destroy(mbt_conv2d_wino *op);
mbt_status mbt_conv2d_wino_set_weights(mbt_conv2d_wino *op, const float *w);
mbt_status mbt_conv2d_wino_forward(mbt_conv2d_wino *op, const float *x, float *y);
mbt_status mbt_conv2d_wino_backward(mbt_conv2d_wino *op, const float *x, const float *dy, float *dx, float *dw);

/* Implementation of one direction of a CPU convolution. */
typedef enum {
    MBT_CONV_IMPL_ONEDNN = 0,
    MBT_CONV_IMPL_GEMM = 1,
    MBT_CONV_IMPL_WINOGRAD = 2, /* F(2x2, 3x3) */
    MBT_CONV_IMPL_WINOGRAD4 = 3 /* F(4x4, 3x3) */
} mbt_conv_impl;

/* The implementations of forward, backward data and backward weights. */
typedef struct {
    mbt_conv_impl fwd, bwd_data, bwd_weights;
} mbt_conv_choice;

/* What mbt_conv2d_cpu_create uses for shape s and conv flags: a rule from per-layer measurements
 * (see conv2d_cpu.c). */
mbt_conv_choice mbt_conv2d_cpu_rule(const mbt_conv2d_shape *s, int flags);
/* For benchmarks: whether the rule also runs the forward by Winograd/gemm where their backward runs
 * (off by default, see the rule in conv2d_cpu.c); applies to ops created afterwards. */
void mbt_conv2d_cpu_rule_fwd_winograd(int on);
/* mbt_conv2d_cpu_create with an explicit choice; a direction whose implementation does not apply
 * to the shape (Winograd off 3x3 stride 1, anything but oneDNN on the NCHW input) uses oneDNN. */
mbt_status mbt_conv2d_cpu_create_with(mbt_conv2d_cpu **op, const mbt_conv2d_shape *s, int flags, mbt_conv_choice c);
/* For tests and benchmarks: ops created afterwards use *c instead of the rule (NULL restores the rule). */
void mbt_conv2d_cpu_override(const mbt_conv_choice *c);

#endif
