/* Standardisation over the batch, per feature, with the unbiased std (torch: (z - z.mean(0)) / z.std(0)),
 * forward and backward, on row-major [B, d] float buffers. Used by the Barlow Twins losses. */
#ifndef MBT_BATCH_STANDARDIZE_H
#define MBT_BATCH_STANDARDIZE_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* zn = (z - mean_b z) / std_b z with std = sqrt(sum_b (z - mean)^2 / (B - 1)); writes inv_std[d] = 1/std
 * (needed by the backward) and returns the index of the first column whose std is zero or not finite, or
 * -1 when every column is fine (zn is then inf/NaN in that column, as in PyTorch). B >= 2. Sums are
 * accumulated in double. z and zn must not overlap. */
int mbt_standardize_forward(int B, int d, const float *z, float *zn, float *inv_std);

/* In place: g holds dL/dzn on entry and dL/dz on return,
 * dL/dz = inv_std * (g - mean_b g - zn * sum_b(g * zn) / (B - 1)) (column sums in double). */
void mbt_standardize_backward(int B, int d, const float *zn, const float *inv_std, float *g);

/* The same on the GPU (batch_standardize_cuda.cu, CUDA builds only), device pointers, queued on the
 * context's stream. The forward cannot return the bad column: it lowers *bad_column (device memory, set
 * to UINT_MAX by the caller beforehand) to the index of the first bad column, if any. */
mbt_status mbt_standardize_forward_cuda(int B, int d, const float *z, float *zn, float *inv_std,
                                        unsigned *bad_column);
mbt_status mbt_standardize_backward_cuda(int B, int d, const float *zn, const float *inv_std, float *g);

#ifdef __cplusplus
}
#endif

#endif
