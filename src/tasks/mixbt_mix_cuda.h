/* The Mixed Barlow Twins input mix on the GPU (mixbt_mix_cuda.cu), for mixbt_step.c in a CUDA build. */
#ifndef MBT_MIXBT_MIX_CUDA_H
#define MBT_MIXBT_MIX_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* xm[b] = a * x1[b] + (1 - a) * x2[perm[b]] for b < batch, rows of `row` floats (device memory).
 * perm is pinned host memory (mbt_cuda_host_alloc): it is copied into perm_dev (device, batch entries)
 * on the context's stream, then the kernel is queued; the host waits for neither, so perm must not
 * change until the stream has passed the copy. */
mbt_status mbt_mixbt_mix_cuda(int batch, size_t row, float a, const float *x1, const float *x2, const int32_t *perm,
                              int32_t *perm_dev, float *xm);

#ifdef __cplusplus
}
#endif

#endif
