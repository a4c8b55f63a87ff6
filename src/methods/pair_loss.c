/* ssl-sota's pair loss (norm_mse_loss / F.mse_loss) and its gradients over device-dispatched ops
 * (methods/pair_loss.h). */
#include "methods/pair_loss.h"

#include <string.h>

#include "core/queue.h"
#include "ops/eltwise.h"
#include "ops/linear.h"
#include "ops/reduce.h"

mbt_status mbt_pair_loss_init(mbt_pair_loss_ws *ws, int max_rows, int dim, mbt_device device) {
    memset(ws, 0, sizeof *ws);
    if (device != MBT_DEVICE_CPU && device != MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_ARG, "pair loss: unknown device %d", (int)device);
    if (max_rows < 1 || dim < 1)
        return MBT_FAIL(MBT_ERR_ARG, "pair loss: need max_rows >= 1 and dim >= 1, got max_rows=%d dim=%d", max_rows,
                        dim);
    /* an event creates the CUDA context, whose allocator the plan's commit needs */
    mbt_event e = {0};
    MBT_TRY(mbt_event_init(&e, device));
    mbt_event_free(&e);
    ws->max_rows = max_rows;
    ws->dim = dim;
    ws->device = device;
    const size_t nd = (size_t)max_rows * dim;
    mbt_plan *p = &ws->plan;
    mbt_plan_init(p, device);
    mbt_plan_floats(p, &ws->an, nd);
    mbt_plan_floats(p, &ws->bn, nd);
    mbt_plan_floats(p, &ws->ga, nd);
    mbt_plan_floats(p, &ws->gb, nd);
    mbt_plan_bytes(p, (void **)&ws->scratch, MBT_DOT_SCRATCH * sizeof(double));
    mbt_status s = mbt_plan_commit(p);
    if (s != MBT_OK) {
        mbt_pair_loss_free(ws);
        return MBT_FAIL(s, "pair loss: cannot allocate the workspace for %d x %d: %s", max_rows, dim,
                        mbt_error_message());
    }
    return MBT_OK;
}

void mbt_pair_loss_free(mbt_pair_loss_ws *ws) {
    mbt_plan_free(&ws->plan);
    memset(ws, 0, sizeof *ws);
}

/* normalize on: L = 2 - 2/n sum_i <an_i, bn_i>, dL/dan = -2/n bn, dL/dbn = -2/n an, then through
 * F.normalize (ops/linear.h). ga holds the gradient at the normalised rows, gb its image at the input. */
static mbt_status add_normalized(mbt_pair_loss_ws *ws, int n, const float *a, const float *b, double weight,
                                 double *acc, float *da, float *db) {
    const mbt_device dev = ws->device;
    const int d = ws->dim;
    const size_t nd = (size_t)n * d;
    MBT_TRY(mbt_l2norm_forward(dev, n, d, a, ws->an));
    MBT_TRY(mbt_l2norm_forward(dev, n, d, b, ws->bn));
    MBT_TRY(mbt_dot_accumulate(dev, nd, ws->an, ws->bn, ws->scratch, -2.0 * weight / n, 2.0 * weight, acc));
    const float g = (float)(-2.0 * weight / n);
    if (da) {
        MBT_TRY(mbt_axpby(dev, nd, g, ws->bn, 0.0f, ws->bn, ws->ga));
        MBT_TRY(mbt_l2norm_backward(dev, n, d, a, ws->ga, ws->gb));
        MBT_TRY(mbt_axpy(dev, nd, 1.0f, ws->gb, da));
    }
    if (db) {
        MBT_TRY(mbt_axpby(dev, nd, g, ws->an, 0.0f, ws->an, ws->ga));
        MBT_TRY(mbt_l2norm_backward(dev, n, d, b, ws->ga, ws->gb));
        MBT_TRY(mbt_axpy(dev, nd, 1.0f, ws->gb, db));
    }
    return MBT_OK;
}

/* normalize off: L = sum (a - b)^2 / (n d), dL/da = 2 (a - b) / (n d) = -dL/db. */
static mbt_status add_mse(mbt_pair_loss_ws *ws, int n, const float *a, const float *b, double weight, double *acc,
                          float *da, float *db) {
    const mbt_device dev = ws->device;
    const size_t nd = (size_t)n * ws->dim;
    MBT_TRY(mbt_sqdist_accumulate(dev, nd, a, b, ws->scratch, weight / (double)nd, acc));
    const float g = (float)(2.0 * weight / (double)nd);
    if (da) MBT_TRY(mbt_axpy_diff(dev, nd, g, a, b, da));
    if (db) MBT_TRY(mbt_axpy_diff(dev, nd, g, b, a, db));
    return MBT_OK;
}

mbt_status mbt_pair_loss_add(mbt_pair_loss_ws *ws, int normalize, int n, const float *a, const float *b,
                             double weight, double *acc, float *da, float *db) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "pair loss: workspace not initialised");
    MBT_CHECK_ARG(a && b && acc, "pair loss: a, b and acc are required");
    if (n < 1 || n > ws->max_rows)
        return MBT_FAIL(MBT_ERR_SHAPE, "pair loss: %d rows outside [1, %d] planned for d=%d", n, ws->max_rows,
                        ws->dim);
    return normalize ? add_normalized(ws, n, a, b, weight, acc, da, db) : add_mse(ws, n, a, b, weight, acc, da, db);
}
