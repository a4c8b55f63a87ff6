/* Batched Cholesky factor and inverse: dispatch to the backend of the device, and the error of a failed
 * factorisation. */
#include "ops/cholesky.h"

#include "ops/dispatch.h"

size_t mbt_cholesky_workspace_bytes(int groups) { return groups > 0 ? 2 * (size_t)groups * sizeof(float *) : 0; }

mbt_status mbt_cholesky_inverse(mbt_device device, int groups, int d, const float *a, float *l, float *w,
                                int32_t *info, void *workspace) {
    MBT_CHECK_ARG(groups >= 0 && d > 0, "cholesky: %d groups of %d x %d matrices", groups, d, d);
    (void)workspace; /* the CPU needs none */
    if (groups == 0) return MBT_OK;
    MBT_DISPATCH("cholesky", device, mbt_cholesky_inverse_cpu(groups, d, a, l, w, info),
                 mbt_cholesky_inverse_cuda(groups, d, a, l, w, info, workspace));
}

mbt_status mbt_cholesky_info_status(const char *what, int groups, int d, const int32_t *info_host) {
    for (int g = 0; g < groups; g++)
        if (info_host[g] != 0)
            return MBT_FAIL(MBT_ERR_NUMERIC,
                            "%s: the %d x %d matrix of group %d is not positive definite (leading minor of order %d)",
                            what, d, d, g, (int)info_host[g]);
    return MBT_OK;
}

mbt_status mbt_cholesky_inverse_backward(mbt_device device, int groups, int d, const float *l, const float *w,
                                         const float *gw, float *ga, float *scratch) {
    MBT_CHECK_ARG(groups >= 0 && d > 0, "cholesky backward: %d groups of %d x %d matrices", groups, d, d);
    if (groups == 0) return MBT_OK;
    MBT_DISPATCH("cholesky backward", device, mbt_cholesky_inverse_backward_cpu(groups, d, l, w, gw, ga, scratch),
                 mbt_cholesky_inverse_backward_cuda(groups, d, l, w, gw, ga, scratch));
}
