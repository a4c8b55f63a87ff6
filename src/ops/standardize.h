/* Standardisation over the batch, per feature, with the unbiased std (torch: (z - z.mean(0)) / z.std(0)),
 * forward and backward, on row-major [B, d] float buffers of any backend (the Barlow Twins losses). */
#ifndef MBT_STANDARDIZE_H
#define MBT_STANDARDIZE_H

#include "core/tensor.h"

/* zn = (z - mean_b z) / std_b z with std = sqrt(sum_b (z - mean)^2 / (B - 1)); writes inv_std[d] = 1/std
 * (needed by the backward) and *bad_column (device memory) = the index of the first column whose std is
 * zero or not finite, or UINT_MAX when every column is fine (zn is then inf/NaN in that column, as in
 * PyTorch). B >= 2. Sums are accumulated in double. z and zn must not overlap. */
mbt_status mbt_standardize_forward(mbt_device device, int B, int d, const float *z, float *zn, float *inv_std,
                                   unsigned *bad_column);
/* In place: g holds dL/dzn on entry and dL/dz on return,
 * dL/dz = inv_std * (g - mean_b g - zn * sum_b(g * zn) / (B - 1)) (column sums in double). */
mbt_status mbt_standardize_backward(mbt_device device, int B, int d, const float *zn, const float *inv_std, float *g);

#endif
