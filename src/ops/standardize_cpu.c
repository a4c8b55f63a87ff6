/* Batch standardisation (mean / unbiased std over rows) forward and backward, by column blocks. */
#include <limits.h>
#include <math.h>
#include <stddef.h>

#include "ops/backend_cpu.h"

/* Columns per OpenMP work item: rows are read in contiguous runs of this many floats, and the per-column
 * sums of a block live in small local arrays (no aliasing with the data, so the loops vectorise). */
#define COL_BLOCK 128

mbt_status mbt_standardize_forward_cpu(int B, int d, const float *restrict z, float *restrict zn,
                                       float *restrict inv_std, unsigned *bad_column) {
    const int nblk = (d + COL_BLOCK - 1) / COL_BLOCK;
    int first_bad = d;
#pragma omp parallel for schedule(static) reduction(min : first_bad)
    for (int blk = 0; blk < nblk; blk++) {
        const int j0 = blk * COL_BLOCK, w = j0 + COL_BLOCK < d ? COL_BLOCK : d - j0;
        double mean[COL_BLOCK], ss[COL_BLOCK];
        for (int j = 0; j < w; j++) mean[j] = ss[j] = 0.0;
        for (int b = 0; b < B; b++) {
            const float *r = z + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) mean[j] += r[j];
        }
        for (int j = 0; j < w; j++) mean[j] /= B;
        for (int b = 0; b < B; b++) {
            const float *r = z + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) {
                double t = r[j] - mean[j];
                ss[j] += t * t;
            }
        }
        for (int j = 0; j < w; j++) {
            double sd = sqrt(ss[j] / (B - 1));
            if ((!(sd > 0.0) || !isfinite(sd)) && j0 + j < first_bad) first_bad = j0 + j;
            ss[j] = 1.0 / sd; /* inverse std, in double for the forward */
            inv_std[j0 + j] = (float)ss[j];
        }
        for (int b = 0; b < B; b++) {
            const float *r = z + (size_t)b * d + j0;
            float *o = zn + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) o[j] = (float)((r[j] - mean[j]) * ss[j]);
        }
    }
    *bad_column = first_bad < d ? (unsigned)first_bad : UINT_MAX;
    return MBT_OK;
}

mbt_status mbt_standardize_backward_cpu(int B, int d, const float *restrict zn, const float *restrict inv_std,
                                        float *restrict g) {
    const int nblk = (d + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblk; blk++) {
        const int j0 = blk * COL_BLOCK, w = j0 + COL_BLOCK < d ? COL_BLOCK : d - j0;
        double sg[COL_BLOCK], sgn[COL_BLOCK];
        float mg[COL_BLOCK], mgn[COL_BLOCK];
        for (int j = 0; j < w; j++) sg[j] = sgn[j] = 0.0;
        for (int b = 0; b < B; b++) {
            const float *gr = g + (size_t)b * d + j0, *nr = zn + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) {
                sg[j] += gr[j];
                sgn[j] += (double)gr[j] * nr[j];
            }
        }
        for (int j = 0; j < w; j++) {
            mg[j] = (float)(sg[j] / B);
            mgn[j] = (float)(sgn[j] / (B - 1));
        }
        const float *is = inv_std + j0;
        for (int b = 0; b < B; b++) {
            float *gr = g + (size_t)b * d + j0;
            const float *nr = zn + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) gr[j] = is[j] * (gr[j] - mg[j] - nr[j] * mgn[j]);
        }
    }
    return MBT_OK;
}
