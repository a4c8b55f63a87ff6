/* Row mixing through a permutation: dispatch to the backend of the device. */
#include "ops/mix.h"

#include "ops/dispatch.h"

mbt_status mbt_mix_rows(mbt_device device, int rows, size_t row, float a, const float *x1, const float *x2,
                        const int32_t *perm, float *out) {
    MBT_DISPATCH("input mix", device, mbt_mix_rows_cpu(rows, row, a, x1, x2, perm, out),
                 mbt_mix_rows_cuda(rows, row, a, x1, x2, perm, out));
}

mbt_status mbt_mix_residual(mbt_device device, int rows, int d, float a, const float *m, const float *y,
                            const float *s, const int32_t *perm, float *D) {
    MBT_DISPATCH("mixed residual", device, mbt_mix_residual_cpu(rows, d, a, m, y, s, perm, D),
                 mbt_mix_residual_cuda(rows, d, a, m, y, s, perm, D));
}

mbt_status mbt_scatter_sub(mbt_device device, int rows, int d, float a, const int32_t *perm, const float *x,
                           float *y) {
    MBT_DISPATCH("scatter", device, mbt_scatter_sub_cpu(rows, d, a, perm, x, y),
                 mbt_scatter_sub_cuda(rows, d, a, perm, x, y));
}

mbt_status mbt_gather_rows(mbt_device device, int rows, int d, const int32_t *perm, const float *x, float *out) {
    MBT_DISPATCH("gather rows", device, mbt_gather_rows_cpu(rows, d, perm, x, out),
                 mbt_gather_rows_cuda(rows, d, perm, x, out));
}
