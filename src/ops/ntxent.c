/* NT-Xent rows: dispatch to the backend of the device. */
#include "ops/ntxent.h"

#include "ops/dispatch.h"

mbt_status mbt_ntxent_rows(mbt_device device, int views, int B, float tau, const float *g, double loss_scale,
                           float grad_scale, float *w, double *row_loss, double *loss) {
    if (views < 2 || B < 1 || !(tau > 0.0f))
        return MBT_FAIL(MBT_ERR_ARG, "nt-xent rows: need views >= 2, B >= 1, tau > 0 (got %d, %d, %g)", views, B,
                        (double)tau);
    MBT_DISPATCH("nt-xent rows", device,
                 mbt_ntxent_rows_cpu(views, B, tau, g, loss_scale, grad_scale, w, row_loss, loss),
                 mbt_ntxent_rows_cuda(views, B, tau, g, loss_scale, grad_scale, w, row_loss, loss));
}
