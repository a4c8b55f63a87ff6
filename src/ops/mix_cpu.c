/* Row mixing through a permutation on the CPU: OpenMP loops over rows (scatter: over column blocks),
 * and the plain gather of rows. */
#include <string.h>

#include "ops/backend_cpu.h"

static mbt_status check_perm(const char *what, int rows, const int32_t *perm) {
    for (int b = 0; b < rows; b++)
        if (perm[b] < 0 || perm[b] >= rows)
            return MBT_FAIL(MBT_ERR_ARG, "%s: perm[%d] = %d outside [0, %d)", what, b, (int)perm[b], rows);
    return MBT_OK;
}

mbt_status mbt_mix_rows_cpu(int rows, size_t row, float a, const float *x1, const float *x2, const int32_t *perm,
                            float *out) {
    const size_t n = row;
    MBT_TRY(check_perm("input mix", rows, perm));
#pragma omp parallel for
    for (int b = 0; b < rows; b++) {
        const float *p = x1 + b * n, *q = x2 + (size_t)perm[b] * n;
        float *o = out + b * n;
        for (size_t i = 0; i < n; i++) o[i] = a * p[i] + (1.0f - a) * q[i];
    }
    return MBT_OK;
}

mbt_status mbt_mix_residual_cpu(int rows, int d, float a, const float *m, const float *y, const float *s,
                                const int32_t *perm, float *D) {
    MBT_TRY(check_perm("mixed residual", rows, perm));
    const float ra = 1.0f - a;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < rows; b++) {
        const float *mb = m + (size_t)b * d, *u = y + (size_t)b * d, *sb = s + (size_t)perm[b] * d;
        float *o = D + (size_t)b * d;
#pragma omp simd
        for (int j = 0; j < d; j++) o[j] = mb[j] - a * u[j] - ra * sb[j];
    }
    return MBT_OK;
}

mbt_status mbt_gather_rows_cpu(int rows, int d, const int32_t *perm, const float *x, float *out) {
    MBT_TRY(check_perm("gather rows", rows, perm));
#pragma omp parallel for schedule(static)
    for (int b = 0; b < rows; b++) memcpy(out + (size_t)b * d, x + (size_t)perm[b] * d, (size_t)d * sizeof(float));
    return MBT_OK;
}

mbt_status mbt_scatter_sub_cpu(int rows, int d, float a, const int32_t *perm, const float *x, float *y) {
    MBT_TRY(check_perm("scatter", rows, perm));
    /* by columns, so that repeated indices cannot race */
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < d; j0 += 64) {
        const int j1 = j0 + 64 < d ? j0 + 64 : d;
        for (int b = 0; b < rows; b++) {
            const float *src = x + (size_t)b * d;
            float *dst = y + (size_t)perm[b] * d;
#pragma omp simd
            for (int j = j0; j < j1; j++) dst[j] -= a * src[j];
        }
    }
    return MBT_OK;
}
