/* Batch standardisation: dispatch to the backend of the device. */
#include "ops/standardize.h"

#include "ops/dispatch.h"

mbt_status mbt_standardize_forward(mbt_device device, int B, int d, const float *z, float *zn, float *inv_std,
                                   unsigned *bad_column) {
    MBT_DISPATCH("batch standardisation", device, mbt_standardize_forward_cpu(B, d, z, zn, inv_std, bad_column),
                 mbt_standardize_forward_cuda(B, d, z, zn, inv_std, bad_column));
}

mbt_status mbt_standardize_backward(mbt_device device, int B, int d, const float *zn, const float *inv_std, float *g) {
    MBT_DISPATCH("batch standardisation", device, mbt_standardize_backward_cpu(B, d, zn, inv_std, g),
                 mbt_standardize_backward_cuda(B, d, zn, inv_std, g));
}
