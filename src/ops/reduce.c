/* Reductions in double: dispatch to the backend of the device. */
#include "ops/reduce.h"

#include "ops/dispatch.h"

mbt_status mbt_dot(mbt_device device, size_t n, const float *x, const float *y, double *scratch, double *out) {
    (void)scratch; /* CUDA only: unused in a build without it */
    MBT_DISPATCH("dot", device, mbt_dot_cpu(n, x, y, out), mbt_dot_cuda(n, x, y, scratch, out));
}
