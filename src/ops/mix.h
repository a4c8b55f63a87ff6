/* Row mixing through a permutation (Mixed Barlow Twins), on any backend: the mixed input
 * a x1 + (1-a) x2[perm], the mixed residual of the regulariser and the scatter of its gradient back
 * through perm. Row-major [rows, row] buffers; perm [rows] in the device's memory with entries in
 * [0, rows) (the CPU checks them and fails with MBT_ERR_ARG; on CUDA the caller checks them on the host
 * before uploading, as the step does). */
#ifndef MBT_MIX_H
#define MBT_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* out[b] = a * x1[b] + (1 - a) * x2[perm[b]] for b < rows. out overlaps neither input. */
mbt_status mbt_mix_rows(mbt_device device, int rows, size_t row, float a, const float *x1, const float *x2,
                        const int32_t *perm, float *out);
/* D[b] = m[b] - a * y[b] - (1 - a) * s[perm[b]] for b < rows (rows of d floats). */
mbt_status mbt_mix_residual(mbt_device device, int rows, int d, float a, const float *m, const float *y,
                            const float *s, const int32_t *perm, float *D);
/* out[b] = x[perm[b]] for b < rows (rows of d floats), a copy. out overlaps x nowhere. */
mbt_status mbt_gather_rows(mbt_device device, int rows, int d, const int32_t *perm, const float *x, float *out);
/* y[perm[b]] -= a * x[b] for every b in order (repeated entries of perm accumulate, without races). */
mbt_status mbt_scatter_sub(mbt_device device, int rows, int d, float a, const int32_t *perm, const float *x, float *y);

#endif
