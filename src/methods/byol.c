/* BYOL's loss and target schedule as ssl-sota computes them (methods/byol.h): the pair loss of
 * methods/pair_loss.h over the cross-view pairs into one device double, read back late. */
#include "methods/byol.h"

#include <math.h>
#include <stdlib.h>

#include "methods/loss_readback.h"
#include "methods/pair_loss.h"
#include "ops/eltwise.h"

struct mbt_byol_ws {
    int max_batch, dim, views;
    mbt_device device;
    mbt_pair_loss_ws pair;
    mbt_plan plan;
    double *loss; /* device memory */
    mbt_loss_readback readback;
    int pending_batch[MBT_READBACK_SLOTS];
};

mbt_status mbt_byol_ws_create(mbt_byol_ws **out, int max_batch, int dim, int n_views, mbt_device device) {
    MBT_CHECK_ARG(out, "byol loss: out is required");
    *out = NULL;
    if (device != MBT_DEVICE_CPU && device != MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_ARG, "byol loss: unknown device %d", (int)device);
    if (max_batch < 1 || dim < 1 || n_views < 2)
        return MBT_FAIL(MBT_ERR_ARG, "byol loss: need max_batch >= 1, dim >= 1, n_views >= 2, got %d, %d, %d",
                        max_batch, dim, n_views);
    mbt_byol_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return MBT_FAIL(MBT_ERR_NOMEM, "byol loss: out of memory");
    ws->max_batch = max_batch;
    ws->dim = dim;
    ws->views = n_views;
    ws->device = device;
    mbt_plan_init(&ws->plan, device);
    /* a double padded to a float multiple: it is zeroed with mbt_zero (all-zero bits are 0.0) */
    mbt_plan_bytes(&ws->plan, (void **)&ws->loss, sizeof(double));
    /* the ring first: its events create the CUDA context, whose allocator the plans' commits need */
    mbt_status s = mbt_loss_readback_init(&ws->readback, device, 1, "byol loss (read-back)");
    if (s == MBT_OK) s = mbt_plan_commit(&ws->plan);
    if (s == MBT_OK) s = mbt_pair_loss_init(&ws->pair, max_batch, dim, device);
    if (s != MBT_OK) {
        mbt_byol_ws_destroy(ws);
        return MBT_FAIL(s, "byol loss: cannot allocate the workspace for %d views of %d x %d: %s", n_views,
                        max_batch, dim, mbt_error_message());
    }
    *out = ws;
    return MBT_OK;
}

void mbt_byol_ws_destroy(mbt_byol_ws *ws) {
    if (!ws) return;
    mbt_loss_readback_free(&ws->readback);
    mbt_pair_loss_free(&ws->pair);
    mbt_plan_free(&ws->plan);
    free(ws);
}

static mbt_status finish(const mbt_byol_ws *ws, int slot, const double *values, double *loss) {
    *loss = values[0];
    if (!isfinite(*loss))
        return MBT_FAIL(MBT_ERR_NUMERIC, "byol loss: non-finite loss %g (%d views of %d rows, d=%d)", *loss,
                        ws->views, ws->pending_batch[slot], ws->dim);
    return MBT_OK;
}

mbt_status mbt_byol_loss_queue(mbt_byol_ws *ws, int batch, const float *p, const float *t, int normalize, float *dp) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "byol loss: workspace not initialised");
    MBT_CHECK_ARG(p && t, "byol loss: p and t are required");
    MBT_CHECK_ARG(ws->readback.pending < MBT_READBACK_SLOTS, "byol loss: %d calls queued and not collected",
                  ws->readback.pending);
    if (batch < 1 || batch > ws->max_batch)
        return MBT_FAIL(MBT_ERR_SHAPE, "byol loss: batch %d outside [1, %d] planned for %d views, d=%d", batch,
                        ws->max_batch, ws->views, ws->dim);
    const mbt_device dev = ws->device;
    const int V = ws->views, B = batch;
    const size_t block = (size_t)B * ws->dim;
    const double weight = 1.0 / (V * (V - 1) / 2.0);
    MBT_TRY(mbt_zero(dev, sizeof(double) / sizeof(float), (float *)ws->loss));
    if (dp) MBT_TRY(mbt_zero(dev, (size_t)V * block, dp));
    /* ssl-sota's order: for i < j, pair(p_i, t_j) then pair(p_j, t_i) */
    for (int i = 0; i < V - 1; i++)
        for (int j = i + 1; j < V; j++) {
            MBT_TRY(mbt_pair_loss_add(&ws->pair, normalize, B, p + i * block, t + j * block, weight, ws->loss,
                                      dp ? dp + i * block : NULL, NULL));
            MBT_TRY(mbt_pair_loss_add(&ws->pair, normalize, B, p + j * block, t + i * block, weight, ws->loss,
                                      dp ? dp + j * block : NULL, NULL));
        }
    int slot;
    MBT_TRY(mbt_loss_readback_queue(&ws->readback, ws->loss, &slot));
    ws->pending_batch[slot] = B;
    if (mbt_device_synchronous(dev)) { /* the value is there already: its error comes at once */
        double now;
        mbt_status s = finish(ws, slot, mbt_loss_readback_values(&ws->readback, slot), &now);
        if (s != MBT_OK) {
            mbt_loss_readback_drop_newest(&ws->readback);
            return s;
        }
    }
    return MBT_OK;
}

mbt_status mbt_byol_loss_collect(mbt_byol_ws *ws, double *loss) {
    MBT_CHECK_ARG(ws && loss, "byol loss: workspace and loss are required");
    *loss = 0;
    int slot;
    const double *values;
    MBT_TRY(mbt_loss_readback_collect(&ws->readback, &slot, &values));
    return finish(ws, slot, values, loss);
}

mbt_status mbt_byol_loss(mbt_byol_ws *ws, int batch, const float *p, const float *t, int normalize, double *loss,
                         float *dp) {
    MBT_CHECK_ARG(loss, "byol loss: loss is required");
    *loss = 0;
    MBT_CHECK_ARG(!ws || ws->readback.pending == 0, "byol loss: %d queued calls are not collected yet",
                  ws ? ws->readback.pending : 0);
    MBT_TRY(mbt_byol_loss_queue(ws, batch, p, t, normalize, dp));
    return mbt_byol_loss_collect(ws, loss);
}

double mbt_byol_tau(double base_tau, double progress) {
    return 1.0 - (1.0 - base_tau) * (cos(M_PI * progress) + 1.0) / 2.0;
}
