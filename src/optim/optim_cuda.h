/* The GPU updates of the optimizers (adam_cuda.cu, sgd_cuda.cu, lars_cuda.cu), called by adam.c, sgd.c and
 * lars.c when the state's device is CUDA. Every pointer is device memory; the kernels are asynchronous on
 * the context's stream (core/cuda.h). Declared in every build, defined only when MIXBT_HAVE_CUDA is. */
#ifndef MBT_OPTIM_CUDA_H
#define MBT_OPTIM_CUDA_H

#include <stddef.h>

#include "core/status.h"
#include "optim/lars.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The float coefficients of one Adam step, computed on the host as adam.c does for the CPU. */
typedef struct {
    float step_size; /* lr / (1 - beta1^t) */
    float bc2_sqrt;  /* sqrt(1 - beta2^t) */
    float b1, b2, ob1, ob2, wd, eps;
} mbt_adam_coeffs;

/* The element-wise Adam update of adam.h over n elements (p, m, v updated in place). */
mbt_status mbt_adam_update_cuda(size_t n, const mbt_adam_coeffs *k, float *p, float *m, float *v, const float *g);

/* The SGD update of sgd.h over n elements; first: the step that initialises buf; buf unused when
 * mom == 0. */
mbt_status mbt_sgd_update_cuda(size_t n, float lr, float mom, float wd, int first, float *p, float *buf,
                               const float *g);

/* Blocks of the LARS norm reduction: partial sums of one segment, in a scratch of 2 * this many doubles. */
#define MBT_LARS_NORM_PARTS 256

/* The LARS update of lars.h over already validated segments, one segment after the other on the stream;
 * partial is device scratch of 2 * MBT_LARS_NORM_PARTS doubles (the state's, planned by mbt_lars_plan). */
mbt_status mbt_lars_update_cuda(const mbt_lars_config *cfg, const mbt_lars_segment *segs, int nsegs, float *p,
                                const float *g, float *mu, double *partial);

#ifdef __cplusplus
}
#endif

#endif
