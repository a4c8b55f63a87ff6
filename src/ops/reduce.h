/* Reductions accumulated in double on any backend, with their results left in the device's memory, so
 * the host reads them once, when it needs them (core/queue.h). */
#ifndef MBT_REDUCE_H
#define MBT_REDUCE_H

#include <stddef.h>

#include "core/tensor.h"

/* Doubles of device memory mbt_dot needs as scratch (CUDA: the partial sums of its first pass). */
#define MBT_DOT_SCRATCH 256

/* *out = sum_i x_i y_i over n floats, in double; out and scratch (MBT_DOT_SCRATCH doubles; NULL on the
 * CPU) are device memory. CUDA: a fixed order of additions, so a call gives the same result every time. */
mbt_status mbt_dot(mbt_device device, size_t n, const float *x, const float *y, double *scratch, double *out);
/* *acc += shift + scale * sum_i x_i y_i (the sum in double, as mbt_dot); acc and scratch as mbt_dot's out. */
mbt_status mbt_dot_accumulate(mbt_device device, size_t n, const float *x, const float *y, double *scratch,
                              double scale, double shift, double *acc);
/* *acc += scale * sum_i (x_i - y_i)^2, each difference taken in double. */
mbt_status mbt_sqdist_accumulate(mbt_device device, size_t n, const float *x, const float *y, double *scratch,
                                 double scale, double *acc);

#endif
