/* Barlow Twins / Mixed Barlow Twins loss: workspace planning, argument checks, standardisation, the mixed
 * residual D and the gradient paths through it, the read-back of the values (methods/loss_readback.h); the
 * products are in barlow_twins_gram.c / _cov.c. Every step is a device-dispatched op, so this runs on any
 * device. */
#include "methods/barlow_twins.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "methods/barlow_twins_internal.h"
#include "ops/eltwise.h"
#include "ops/mix.h"
#include "ops/reduce.h"
#include "ops/standardize.h"
#include "ops/xcorr.h"

/* The sums travel through the ring as doubles (its slots are 8-byte aligned): */
#define BT_SUMS_DOUBLES ((int)(sizeof(mbt_bt_sums) / sizeof(double)))
_Static_assert(sizeof(mbt_bt_sums) % sizeof(double) == 0, "mbt_bt_sums must be a whole number of doubles");

static const mbt_bt_sums *sums_of(const mbt_bt_workspace *ws, int slot) {
    return (const mbt_bt_sums *)mbt_loss_readback_values(&ws->readback, slot);
}

mbt_status mbt_bt_workspace_init(mbt_bt_workspace *ws, int max_batch, int dim, int with_reg, mbt_bt_path path,
                                 mbt_device device) {
    memset(ws, 0, sizeof *ws);
    if (device != MBT_DEVICE_CPU && device != MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: unknown device %d", (int)device);
    if (max_batch < 2 || dim < 1)
        return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: need max_batch >= 2 and dim >= 1, got max_batch=%d dim=%d",
                        max_batch, dim);
    if (path != MBT_BT_PATH_AUTO && path != MBT_BT_PATH_GRAM && path != MBT_BT_PATH_COV)
        return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: unknown path %d", (int)path);
    int cov_ok = mbt_xcorr_cov_order_proven(device);
    if (!cov_ok && path == MBT_BT_PATH_COV)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "barlow twins loss: the %s loss has only the gram path (cov asked)",
                        mbt_device_name(device));
    if (path == MBT_BT_PATH_AUTO) path = !cov_ok || max_batch <= dim ? MBT_BT_PATH_GRAM : MBT_BT_PATH_COV;
    ws->max_batch = max_batch;
    ws->dim = dim;
    ws->with_reg = with_reg != 0;
    ws->path = path;

    const size_t bd = (size_t)max_batch * dim, bb = (size_t)max_batch * max_batch, dd = (size_t)dim * dim;
    mbt_plan *p = &ws->plan;
    mbt_plan_init(p, device);
    mbt_plan_floats(p, &ws->z1n, bd);
    mbt_plan_floats(p, &ws->z2n, bd);
    mbt_plan_floats(p, &ws->is1, dim);
    mbt_plan_floats(p, &ws->is2, dim);
    mbt_plan_floats(p, &ws->diag, dim);
    mbt_plan_bytes(p, (void **)&ws->acc, (size_t)dim * sizeof(double));
    if (ws->with_reg) {
        mbt_plan_floats(p, &ws->zmn, bd);
        mbt_plan_floats(p, &ws->ism, dim);
        mbt_plan_floats(p, &ws->d1, bd);
        mbt_plan_floats(p, &ws->d2, bd);
        mbt_plan_floats(p, &ws->q2, bd);
    }
    if (path == MBT_BT_PATH_GRAM) {
        mbt_plan_floats(p, &ws->k1, bb);
        mbt_plan_floats(p, &ws->k2, bb);
        mbt_plan_floats(p, &ws->kmix, bb);
        if (ws->with_reg) {
            mbt_plan_floats(p, &ws->kd1, bb);
            mbt_plan_floats(p, &ws->kd2, bb);
        }
    } else {
        mbt_plan_floats(p, &ws->c, dd);
        if (ws->with_reg) {
            mbt_plan_floats(p, &ws->e1, dd);
            mbt_plan_floats(p, &ws->e2, dd);
        }
    }
    mbt_plan_bytes(p, (void **)&ws->dot_scratch, MBT_DOT_SCRATCH * sizeof(double));
    mbt_plan_bytes(p, &ws->sums, sizeof(mbt_bt_sums));
    /* the ring first: its events create the CUDA context, whose allocator the plan's commit needs */
    mbt_status s = mbt_loss_readback_init(&ws->readback, device, BT_SUMS_DOUBLES, "barlow twins loss (read-back)");
    if (s == MBT_OK) s = mbt_plan_commit(p);
    if (s != MBT_OK) {
        mbt_bt_workspace_free(ws);
        return MBT_FAIL(s, "barlow twins loss: cannot allocate the workspace for B=%d d=%d (%s): %s", max_batch,
                        dim, path == MBT_BT_PATH_GRAM ? "gram" : "cov", mbt_error_message());
    }
    return MBT_OK;
}

void mbt_bt_workspace_free(mbt_bt_workspace *ws) {
    mbt_loss_readback_free(&ws->readback); /* waits for the read-backs */
    mbt_plan_free(&ws->plan);
    memset(ws, 0, sizeof *ws);
}

mbt_status mbt_bt_loss(mbt_bt_workspace *ws, int batch, const float *z1, const float *z2, const float *zm,
                       const int32_t *perm, const mbt_bt_params *params, mbt_bt_losses *out, float *dz1,
                       float *dz2, float *dzm) {
    MBT_CHECK_ARG(out, "barlow twins loss: out is required");
    memset(out, 0, sizeof *out);
    MBT_CHECK_ARG(!ws || ws->readback.pending == 0, "barlow twins loss: %d queued calls are not collected yet",
                  ws ? ws->readback.pending : 0);
    MBT_TRY(mbt_bt_loss_queue(ws, batch, z1, z2, zm, perm, params, dz1, dz2, dzm));
    return mbt_bt_loss_collect(ws, out);
}

static const char *const input_names[3] = {"z1", "z2", "zm"};

/* The losses of ring slot `slot` from its read-back sums r, with the checks on them. */
static mbt_status finish(const mbt_bt_workspace *ws, int slot, const mbt_bt_sums *r, mbt_bt_losses *out) {
    const int B = ws->pending[slot].B, reg = ws->pending[slot].reg, d = ws->dim;
    const double lambda_bt = ws->pending[slot].lambda_bt, kappa = ws->pending[slot].kappa;
    const double inv_b2 = 1.0 / ((double)B * B);
    memset(out, 0, sizeof *out);
    for (int k = 0; k < (reg ? 3 : 2); k++)
        if (r->bad[k] != UINT_MAX)
            return MBT_FAIL(MBT_ERR_NUMERIC,
                            "barlow twins loss: column %u of %s [%d x %d] has zero or non-finite std over the batch",
                            r->bad[k], input_names[k], B, d);
    out->on_diag = r->on_diag;
    if (ws->path == MBT_BT_PATH_GRAM) {
        out->off_diag = r->dot[0] * inv_b2 - r->diag_sq;
        if (reg) out->loss_reg = kappa * inv_b2 * (r->dot[1] + r->dot[2]);
    } else {
        out->off_diag = r->off_diag;
        if (reg) out->loss_reg = kappa * (r->dot[1] + r->dot[2]);
    }
    out->loss_bt = out->on_diag + lambda_bt * out->off_diag;
    if (!isfinite(out->loss_bt) || !isfinite(out->loss_reg))
        return MBT_FAIL(MBT_ERR_NUMERIC, "barlow twins loss: non-finite loss (bt %g, reg %g) for B=%d d=%d",
                        out->loss_bt, out->loss_reg, B, d);
    return MBT_OK;
}

static mbt_status run(mbt_bt_workspace *ws, int B, int reg, int grads, const float *z1, const float *z2,
                      const float *zm, const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2,
                      float *dzm);

mbt_status mbt_bt_loss_queue(mbt_bt_workspace *ws, int batch, const float *z1, const float *z2, const float *zm,
                             const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2, float *dzm) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "barlow twins loss: workspace not initialised");
    MBT_CHECK_ARG(z1 && z2 && params, "barlow twins loss: z1, z2 and params are required");
    MBT_CHECK_ARG(ws->readback.pending < MBT_BT_IN_FLIGHT, "barlow twins loss: %d calls queued and not collected",
                  ws->readback.pending);
    const int B = batch, d = ws->dim;
    if (B < 2 || B > ws->max_batch)
        return MBT_FAIL(MBT_ERR_SHAPE, "barlow twins loss: batch %d outside [2, %d] planned for d=%d", B,
                        ws->max_batch, d);
    const int reg = params->lambda_reg != 0.0f && zm != NULL;
    const int grads = dz1 != NULL || dz2 != NULL;
    MBT_CHECK_ARG(!grads || (dz1 && dz2), "barlow twins loss: dz1 and dz2 must both be given or both NULL");
    if (reg) {
        MBT_CHECK_ARG(ws->with_reg,
                      "barlow twins loss: the regulariser is on (lambda_reg=%g) but the workspace was planned "
                      "without it (with_reg=0)",
                      (double)params->lambda_reg);
        MBT_CHECK_ARG(perm, "barlow twins loss: the regulariser needs perm[%d]", B);
        MBT_CHECK_ARG(!grads || dzm, "barlow twins loss: the regulariser needs dzm with dz1 and dz2");
    }
    MBT_TRY(run(ws, B, reg, grads, z1, z2, zm, perm, params, dz1, dz2, dzm));
    /* the values go back to the host without waiting: collect waits for this slot's event */
    int slot;
    MBT_TRY(mbt_loss_readback_queue(&ws->readback, ws->sums, &slot));
    ws->pending[slot].B = B;
    ws->pending[slot].reg = reg;
    ws->pending[slot].lambda_bt = params->lambda_bt;
    ws->pending[slot].kappa = (double)params->lambda_reg * params->lambda_bt;
    if (mbt_device_synchronous(ws->plan.device)) { /* the values are there already: their errors come at once */
        mbt_bt_losses now;
        const mbt_status s = finish(ws, slot, sums_of(ws, slot), &now);
        if (s != MBT_OK) {
            mbt_loss_readback_drop_newest(&ws->readback);
            return s;
        }
    }
    return MBT_OK;
}

mbt_status mbt_bt_loss_collect(mbt_bt_workspace *ws, mbt_bt_losses *out) {
    MBT_CHECK_ARG(ws && out, "barlow twins loss: workspace and out are required");
    memset(out, 0, sizeof *out);
    int slot;
    const double *values;
    MBT_TRY(mbt_loss_readback_collect(&ws->readback, &slot, &values));
    return finish(ws, slot, (const mbt_bt_sums *)values, out);
}

/* The whole loss queued on the workspace's device, its sums into ws->sums. */
static mbt_status run(mbt_bt_workspace *ws, int B, int reg, int grads, const float *z1, const float *z2,
                      const float *zm, const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2,
                      float *dzm) {
    const mbt_device dev = ws->plan.device;
    const int d = ws->dim;
    mbt_bt_sums *sums = ws->sums;
    MBT_TRY(mbt_standardize_forward(dev, B, d, z1, ws->z1n, ws->is1, &sums->bad[0]));
    MBT_TRY(mbt_standardize_forward(dev, B, d, z2, ws->z2n, ws->is2, &sums->bad[1]));
    mbt_bt_job job = {.B = B, .d = d, .reg = reg, .grads = grads, .lambda_bt = params->lambda_bt,
                      .kappa = (double)params->lambda_reg * params->lambda_bt, .d2 = ws->d1, .separate_d2 = 0};
    const float a = params->alpha;
    if (reg) {
        MBT_TRY(mbt_standardize_forward(dev, B, d, zm, ws->zmn, ws->ism, &sums->bad[2]));
        MBT_TRY(mbt_mix_residual(dev, B, d, a, ws->zmn, ws->z1n, ws->z2n, perm, ws->d1));
        if (params->gt_uses_z2) {
            MBT_TRY(mbt_mix_residual(dev, B, d, a, ws->zmn, ws->z2n, ws->z2n, perm, ws->d2));
            job.d2 = ws->d2;
            job.separate_d2 = 1;
        }
    }

    float *gq = reg && grads ? dzm : NULL; /* dL/dD is built in the dzm buffer: it is dL/dzmn */
    if (ws->path == MBT_BT_PATH_GRAM) MBT_TRY(mbt_bt_run_gram(ws, &job, dz1, dz2, gq));
    else MBT_TRY(mbt_bt_run_cov(ws, &job, dz1, dz2, gq));
    if (!grads) return MBT_OK;

    const size_t n = (size_t)B * d;
    if (!reg && dzm) MBT_TRY(mbt_zero(dev, n, dzm)); /* no gradient reaches zm */
    if (reg) {
        /* D1 = zmn - a z1n - (1-a) S and D2 = zmn - a y - (1-a) S (y = z1n, or z2n with gt_uses_z2). */
        MBT_TRY(mbt_axpy(dev, n, -a, gq, dz1));
        if (job.separate_d2) {
            MBT_TRY(mbt_axpy(dev, n, -a, ws->q2, dz2));
            MBT_TRY(mbt_axpy(dev, n, 1.0f, ws->q2, gq)); /* dL/dzmn = dL/dD1 + dL/dD2 */
        }
        /* S[b] = z2n[perm[b]] */
        MBT_TRY(mbt_scatter_sub(dev, B, d, 1.0f - a, perm, gq, dz2));
        MBT_TRY(mbt_standardize_backward(dev, B, d, ws->zmn, ws->ism, dzm));
    }
    MBT_TRY(mbt_standardize_backward(dev, B, d, ws->z1n, ws->is1, dz1));
    return mbt_standardize_backward(dev, B, d, ws->z2n, ws->is2, dz2);
}
