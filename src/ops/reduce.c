/* Reductions in double: dispatch to the backend of the device. */
#include "ops/reduce.h"

#include "ops/dispatch.h"

mbt_status mbt_dot(mbt_device device, size_t n, const float *x, const float *y, double *scratch, double *out) {
    (void)scratch; /* CUDA only: unused in a build without it */
    MBT_DISPATCH("dot", device, mbt_dot_cpu(n, x, y, out), mbt_dot_cuda(n, x, y, scratch, out));
}

mbt_status mbt_dot_accumulate(mbt_device device, size_t n, const float *x, const float *y, double *scratch,
                              double scale, double shift, double *acc) {
    (void)scratch;
    MBT_DISPATCH("dot (accumulated)", device, mbt_dot_accumulate_cpu(n, x, y, scale, shift, acc),
                 mbt_dot_accumulate_cuda(n, x, y, scratch, scale, shift, acc));
}

mbt_status mbt_sqdist_accumulate(mbt_device device, size_t n, const float *x, const float *y, double *scratch,
                                 double scale, double *acc) {
    (void)scratch;
    MBT_DISPATCH("squared distance (accumulated)", device, mbt_sqdist_accumulate_cpu(n, x, y, scale, acc),
                 mbt_sqdist_accumulate_cuda(n, x, y, scratch, scale, acc));
}
