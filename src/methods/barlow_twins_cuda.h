/* Private interface between barlow_twins_cuda.c (the GPU loss, cuBLAS products) and its kernels in
 * barlow_twins_cuda.cu. Row-major [B, d] device buffers; every launcher queues on `stream`. */
#ifndef MBT_BARLOW_TWINS_CUDA_H
#define MBT_BARLOW_TWINS_CUDA_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks of a dot product's first pass: each writes one partial sum, the finish kernel adds them up. */
#define MBT_BT_DOT_PARTS 256
/* Dot products per call: <K1,K2>, <KD1,K1>, <KD2,K2>. */
#define MBT_BT_NDOTS 3

/* What one call reads back to the host (device memory in the workspace). */
typedef struct {
    double on_diag;           /* sum_i (C_ii - 1)^2 */
    double diag_sq;           /* sum_i C_ii^2 */
    double dot[MBT_BT_NDOTS]; /* the dot products above (0 when not computed) */
    unsigned bad[3];          /* first column of z1, z2, zm with zero or non-finite std; UINT_MAX: none */
} mbt_bt_cuda_result;

/* D = zmn - a y - (1-a) z2n[perm] (rows); perm on the device. */
mbt_status mbt_bt_cuda_residual(cudaStream_t stream, int B, int d, float a, const float *zmn, const float *y,
                                const float *z2n, const int32_t *perm, float *D);
/* Copies the lower triangle of a B x B matrix that cuBLAS filled (column-major lower) to the other half. */
mbt_status mbt_bt_cuda_mirror(cudaStream_t stream, int B, float *k);
/* acc[j] = sum_b z1n[b,j] z2n[b,j] (double), diag[j] = acc[j] / B (float). */
mbt_status mbt_bt_cuda_diagonal(cudaStream_t stream, int B, int d, const float *z1n, const float *z2n, double *acc,
                                float *diag);
/* partial[0 .. MBT_BT_DOT_PARTS) = partial sums of sum_i x_i y_i (double). */
mbt_status mbt_bt_cuda_dot(cudaStream_t stream, size_t n, const float *x, const float *y, double *partial);
/* res->on_diag and diag_sq from acc[d] / B, res->dot[q] = the sum of partial[q * MBT_BT_DOT_PARTS ...] for
 * q < ndots (the others 0). */
mbt_status mbt_bt_cuda_finish(cudaStream_t stream, int B, int d, const double *acc, const double *partial,
                              int ndots, mbt_bt_cuda_result *res);
/* out = a x + b y over n floats. */
mbt_status mbt_bt_cuda_combine(cudaStream_t stream, size_t n, float a, const float *x, float b, const float *y,
                               float *out);
/* The diagonal terms: g1[b,j] += c_j z2n[b,j], g2[b,j] += c_j z1n[b,j], c_j = (2 (C_jj - 1) - 2 lb C_jj) / B. */
mbt_status mbt_bt_cuda_diag_terms(cudaStream_t stream, int B, int d, float lb, const float *diag, const float *z1n,
                                  const float *z2n, float *g1, float *g2);
/* dz2[perm[b], :] -= (1-a) gq[b, :] for every b (one thread per column, rows in order: repeated entries of
 * perm cannot race). */
mbt_status mbt_bt_cuda_scatter(cudaStream_t stream, int B, int d, float a, const int32_t *perm, const float *gq,
                               float *dz2);

#ifdef __cplusplus
}
#endif

#endif
