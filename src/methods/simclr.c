/* SimCLR's NT-Xent loss as ssl-sota computes it (methods/simclr.h): one Gram matrix of all views' rows
 * (ssyrk), the row-wise cross-entropies and dL/dG (ops/ntxent.h), dL/dz = (dL/dG + dL/dG^T) z as two GEMMs,
 * then back through F.normalize; the value is read back late (methods/loss_readback.h). */
#include "methods/simclr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/plan.h"
#include "methods/loss_readback.h"
#include "ops/blas.h"
#include "ops/linear.h"
#include "ops/ntxent.h"

struct mbt_simclr_ws {
    int max_batch, dim, views;
    mbt_plan plan;
    float *zn, *dzn; /* normalised rows and dL/dzn [views * max_batch, dim] */
    float *g, *w;    /* Gram matrix of all rows and dL/dG [n, n], n = views * batch (compact) */
    double *row_loss, *loss;
    mbt_loss_readback readback;
    struct {
        int batch;
        float tau;
    } pending[MBT_READBACK_SLOTS];
};

mbt_status mbt_simclr_ws_create(mbt_simclr_ws **out, int max_batch, int dim, int n_views, mbt_device device) {
    MBT_CHECK_ARG(out, "simclr loss: out is required");
    *out = NULL;
    if (device != MBT_DEVICE_CPU && device != MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_ARG, "simclr loss: unknown device %d", (int)device);
    if (max_batch < 2 || dim < 1 || n_views < 2)
        return MBT_FAIL(MBT_ERR_ARG, "simclr loss: need max_batch >= 2, dim >= 1, n_views >= 2, got %d, %d, %d",
                        max_batch, dim, n_views);
    mbt_simclr_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return MBT_FAIL(MBT_ERR_NOMEM, "simclr loss: out of memory");
    ws->max_batch = max_batch;
    ws->dim = dim;
    ws->views = n_views;
    const size_t rows = (size_t)n_views * max_batch;
    mbt_plan *p = &ws->plan;
    mbt_plan_init(p, device);
    mbt_plan_floats(p, &ws->zn, rows * dim);
    mbt_plan_floats(p, &ws->dzn, rows * dim);
    mbt_plan_floats(p, &ws->g, rows * rows);
    mbt_plan_floats(p, &ws->w, rows * rows);
    mbt_plan_bytes(p, (void **)&ws->row_loss, rows * sizeof(double));
    mbt_plan_bytes(p, (void **)&ws->loss, sizeof(double));
    /* the ring first: its events create the CUDA context, whose allocator the plan's commit needs */
    mbt_status s = mbt_loss_readback_init(&ws->readback, device, 1, "simclr loss (read-back)");
    if (s == MBT_OK) s = mbt_plan_commit(p);
    if (s != MBT_OK) {
        mbt_simclr_ws_destroy(ws);
        return MBT_FAIL(s, "simclr loss: cannot allocate the workspace for %d views of %d x %d: %s", n_views,
                        max_batch, dim, mbt_error_message());
    }
    *out = ws;
    return MBT_OK;
}

void mbt_simclr_ws_destroy(mbt_simclr_ws *ws) {
    if (!ws) return;
    mbt_loss_readback_free(&ws->readback);
    mbt_plan_free(&ws->plan);
    free(ws);
}

/* The checks on a read-back value. */
static mbt_status finish(const mbt_simclr_ws *ws, int slot, const double *values, double *loss) {
    *loss = values[0];
    if (!isfinite(*loss))
        return MBT_FAIL(MBT_ERR_NUMERIC, "simclr loss: non-finite loss %g (%d views of %d rows, d=%d, tau %g)", *loss,
                        ws->views, ws->pending[slot].batch, ws->dim, (double)ws->pending[slot].tau);
    return MBT_OK;
}

mbt_status mbt_simclr_loss_queue(mbt_simclr_ws *ws, int batch, const float *z, const mbt_simclr_params *params,
                                 float *dz) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "simclr loss: workspace not initialised");
    MBT_CHECK_ARG(z && params, "simclr loss: z and params are required");
    MBT_CHECK_ARG(params->tau > 0.0f && isfinite(params->tau), "simclr loss: tau must be > 0, got %g",
                  (double)params->tau);
    MBT_CHECK_ARG(ws->readback.pending < MBT_READBACK_SLOTS, "simclr loss: %d calls queued and not collected",
                  ws->readback.pending);
    if (batch < 2 || batch > ws->max_batch)
        return MBT_FAIL(MBT_ERR_SHAPE, "simclr loss: batch %d outside [2, %d] planned for %d views, d=%d", batch,
                        ws->max_batch, ws->views, ws->dim);
    const mbt_device dev = ws->plan.device;
    const int V = ws->views, B = batch, d = ws->dim, n = V * B;
    const double pairs = V * (V - 1) / 2.0;
    const float tau = params->tau;
    const float *zn = z;
    if (params->normalize) {
        MBT_TRY(mbt_l2norm_forward(dev, n, d, z, ws->zn));
        zn = ws->zn;
    }
    /* L = sum over ordered view pairs of mean_r ce / (2 pairs); dL/dG = dL/dlogit / tau */
    MBT_TRY(mbt_ssyrk(dev, n, d, 1.0f, zn, d, 0.0f, ws->g, n));
    MBT_TRY(mbt_ntxent_rows(dev, V, B, tau, ws->g, 1.0 / (2.0 * B * pairs), (float)(1.0 / (2.0 * B * pairs * tau)),
                            dz ? ws->w : NULL, ws->row_loss, ws->loss));
    if (dz) {
        float *dzn = params->normalize ? ws->dzn : dz;
        MBT_TRY(mbt_sgemm(dev, 0, 0, n, d, n, 1.0f, ws->w, n, zn, d, 0.0f, dzn, d));
        MBT_TRY(mbt_sgemm(dev, 1, 0, n, d, n, 1.0f, ws->w, n, zn, d, 1.0f, dzn, d));
        if (params->normalize) MBT_TRY(mbt_l2norm_backward(dev, n, d, z, dzn, dz));
    }
    int slot;
    MBT_TRY(mbt_loss_readback_queue(&ws->readback, ws->loss, &slot));
    ws->pending[slot].batch = B;
    ws->pending[slot].tau = tau;
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

mbt_status mbt_simclr_loss_collect(mbt_simclr_ws *ws, double *loss) {
    MBT_CHECK_ARG(ws && loss, "simclr loss: workspace and loss are required");
    *loss = 0;
    int slot;
    const double *values;
    MBT_TRY(mbt_loss_readback_collect(&ws->readback, &slot, &values));
    return finish(ws, slot, values, loss);
}

mbt_status mbt_simclr_loss(mbt_simclr_ws *ws, int batch, const float *z, const mbt_simclr_params *params,
                           double *loss, float *dz) {
    MBT_CHECK_ARG(loss, "simclr loss: loss is required");
    *loss = 0;
    MBT_CHECK_ARG(!ws || ws->readback.pending == 0, "simclr loss: %d queued calls are not collected yet",
                  ws ? ws->readback.pending : 0);
    MBT_TRY(mbt_simclr_loss_queue(ws, batch, z, params, dz));
    return mbt_simclr_loss_collect(ws, loss);
}
