/* Barlow Twins / Mixed Barlow Twins loss: workspace planning, argument checks, standardisation, the mixed
 * residual D and the gradient paths through it; the products are in barlow_twins_gram.c / _cov.c. */
#include "methods/barlow_twins.h"

#include <math.h>
#include <string.h>

#include "methods/barlow_twins_internal.h"
#include "methods/batch_standardize.h"

mbt_status mbt_bt_workspace_init(mbt_bt_workspace *ws, int max_batch, int dim, int with_reg, mbt_bt_path path,
                                 mbt_device device) {
    memset(ws, 0, sizeof *ws);
    if (device != MBT_DEVICE_CPU && device != MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: unknown device %d", (int)device);
#ifndef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "barlow twins loss: device cuda: this build has no CUDA backend");
#endif
    if (max_batch < 2 || dim < 1)
        return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: need max_batch >= 2 and dim >= 1, got max_batch=%d dim=%d",
                        max_batch, dim);
    if (path != MBT_BT_PATH_AUTO && path != MBT_BT_PATH_GRAM && path != MBT_BT_PATH_COV)
        return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: unknown path %d", (int)path);
    if (device == MBT_DEVICE_CUDA && path == MBT_BT_PATH_COV)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "barlow twins loss: the CUDA loss has only the gram path (cov asked)");
    if (path == MBT_BT_PATH_AUTO)
        path = device == MBT_DEVICE_CUDA || max_batch <= dim ? MBT_BT_PATH_GRAM : MBT_BT_PATH_COV;
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
    mbt_status s = MBT_OK;
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) s = mbt_bt_cuda_plan(ws);
#endif
    if (s == MBT_OK) s = mbt_plan_commit(p);
    if (s != MBT_OK) {
        mbt_bt_workspace_free(ws); /* also a CUDA workspace's pinned buffers and events */
        return MBT_FAIL(s, "barlow twins loss: cannot allocate the workspace for B=%d d=%d (%s): %s", max_batch,
                        dim, path == MBT_BT_PATH_GRAM ? "gram" : "cov", mbt_error_message());
    }
    return MBT_OK;
}

void mbt_bt_workspace_free(mbt_bt_workspace *ws) {
#ifdef MIXBT_HAVE_CUDA
    if (ws->plan.device == MBT_DEVICE_CUDA) mbt_bt_cuda_free(ws);
#endif
    mbt_plan_free(&ws->plan);
    memset(ws, 0, sizeof *ws);
}

double mbt_bt_dot(const float *x, const float *y, long n) {
    double s = 0.0;
#pragma omp parallel for simd reduction(+ : s) schedule(static)
    for (long i = 0; i < n; i++) s += (double)x[i] * y[i];
    return s;
}

/* D = zmn - a * y - (1-a) * z2n[perm] (rows). */
static void build_residual(int B, int d, float a, const float *zmn, const float *y, const float *z2n,
                           const int32_t *perm, float *D) {
    const float ra = 1.0f - a;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *m = zmn + (size_t)b * d, *u = y + (size_t)b * d, *s = z2n + (size_t)perm[b] * d;
        float *o = D + (size_t)b * d;
#pragma omp simd
        for (int j = 0; j < d; j++) o[j] = m[j] - a * u[j] - ra * s[j];
    }
}

/* y -= a * x over n floats. */
static void axpy_minus(long n, float a, const float *restrict x, float *restrict y) {
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) y[i] -= a * x[i];
}

static mbt_status standardize_input(const char *name, int B, int d, const float *z, float *zn, float *is) {
    int bad = mbt_standardize_forward(B, d, z, zn, is);
    if (bad >= 0)
        return MBT_FAIL(MBT_ERR_NUMERIC,
                        "barlow twins loss: column %d of %s [%d x %d] has zero or non-finite std over the batch",
                        bad, name, B, d);
    return MBT_OK;
}

mbt_status mbt_bt_loss(mbt_bt_workspace *ws, int batch, const float *z1, const float *z2, const float *zm,
                       const int32_t *perm, const mbt_bt_params *params, mbt_bt_losses *out, float *dz1,
                       float *dz2, float *dzm) {
    MBT_CHECK_ARG(out, "barlow twins loss: out is required");
    memset(out, 0, sizeof *out);
    MBT_CHECK_ARG(!ws || ws->pending_count == 0, "barlow twins loss: %d queued calls are not collected yet",
                  ws ? ws->pending_count : 0);
    MBT_TRY(mbt_bt_loss_queue(ws, batch, z1, z2, zm, perm, params, dz1, dz2, dzm));
    return mbt_bt_loss_collect(ws, out);
}

static mbt_status loss_cpu(mbt_bt_workspace *ws, int B, int reg, int grads, const float *z1, const float *z2,
                           const float *zm, const int32_t *perm, const mbt_bt_params *params, mbt_bt_losses *out,
                           float *dz1, float *dz2, float *dzm);

mbt_status mbt_bt_loss_queue(mbt_bt_workspace *ws, int batch, const float *z1, const float *z2, const float *zm,
                             const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2, float *dzm) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "barlow twins loss: workspace not initialised");
    MBT_CHECK_ARG(z1 && z2 && params, "barlow twins loss: z1, z2 and params are required");
    MBT_CHECK_ARG(ws->pending_count < MBT_BT_IN_FLIGHT, "barlow twins loss: %d calls queued and not collected",
                  ws->pending_count);
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
        for (int b = 0; b < B; b++)
            if (perm[b] < 0 || perm[b] >= B)
                return MBT_FAIL(MBT_ERR_ARG, "barlow twins loss: perm[%d] = %d outside [0, %d)", b, (int)perm[b], B);
    }
    int slot = (ws->pending_head + ws->pending_count) % MBT_BT_IN_FLIGHT;
    memset(&ws->pending[slot], 0, sizeof ws->pending[slot]);
    ws->pending[slot].B = B;
    ws->pending[slot].reg = reg;
    ws->pending[slot].lambda_bt = params->lambda_bt;
    ws->pending[slot].kappa = (double)params->lambda_reg * params->lambda_bt;
#ifdef MIXBT_HAVE_CUDA
    if (ws->plan.device == MBT_DEVICE_CUDA)
        MBT_TRY(mbt_bt_loss_cuda_queue(ws, B, z1, z2, reg ? zm : NULL, perm, params, dz1, dz2, dzm, slot));
    else
#endif
        MBT_TRY(loss_cpu(ws, B, reg, grads, z1, z2, zm, perm, params, &ws->pending[slot].losses, dz1, dz2, dzm));
    ws->pending_count++;
    return MBT_OK;
}

mbt_status mbt_bt_loss_collect(mbt_bt_workspace *ws, mbt_bt_losses *out) {
    MBT_CHECK_ARG(ws && out, "barlow twins loss: workspace and out are required");
    MBT_CHECK_ARG(ws->pending_count > 0, "barlow twins loss: no queued call to collect");
    int slot = ws->pending_head;
    ws->pending_head = (slot + 1) % MBT_BT_IN_FLIGHT;
    ws->pending_count--;
#ifdef MIXBT_HAVE_CUDA
    if (ws->plan.device == MBT_DEVICE_CUDA) {
        memset(out, 0, sizeof *out);
        return mbt_bt_loss_cuda_collect(ws, slot, ws->pending[slot].B, ws->pending[slot].reg,
                                        ws->pending[slot].lambda_bt, ws->pending[slot].kappa, out);
    }
#endif
    *out = ws->pending[slot].losses;
    return MBT_OK;
}

/* The whole loss on the CPU into *out (zeroed first). */
static mbt_status loss_cpu(mbt_bt_workspace *ws, int B, int reg, int grads, const float *z1, const float *z2,
                           const float *zm, const int32_t *perm, const mbt_bt_params *params, mbt_bt_losses *out,
                           float *dz1, float *dz2, float *dzm) {
    const int d = ws->dim;
    memset(out, 0, sizeof *out);
    MBT_TRY(standardize_input("z1", B, d, z1, ws->z1n, ws->is1));
    MBT_TRY(standardize_input("z2", B, d, z2, ws->z2n, ws->is2));
    mbt_bt_job job = {.B = B, .d = d, .reg = reg, .grads = grads, .lambda_bt = params->lambda_bt,
                      .kappa = (double)params->lambda_reg * params->lambda_bt, .d2 = ws->d1, .separate_d2 = 0};
    const float a = params->alpha;
    if (reg) {
        MBT_TRY(standardize_input("zm", B, d, zm, ws->zmn, ws->ism));
        build_residual(B, d, a, ws->zmn, ws->z1n, ws->z2n, perm, ws->d1);
        if (params->gt_uses_z2) {
            build_residual(B, d, a, ws->zmn, ws->z2n, ws->z2n, perm, ws->d2);
            job.d2 = ws->d2;
            job.separate_d2 = 1;
        }
    }

    float *gq = reg && grads ? dzm : NULL; /* dL/dD is built in the dzm buffer: it is dL/dzmn */
    if (ws->path == MBT_BT_PATH_GRAM) mbt_bt_run_gram(ws, &job, out, dz1, dz2, gq);
    else mbt_bt_run_cov(ws, &job, out, dz1, dz2, gq);
    if (!isfinite(out->loss_bt) || !isfinite(out->loss_reg))
        return MBT_FAIL(MBT_ERR_NUMERIC, "barlow twins loss: non-finite loss (bt %g, reg %g) for B=%d d=%d",
                        out->loss_bt, out->loss_reg, B, d);
    if (!grads) return MBT_OK;

    const long n = (long)B * d;
    if (!reg && dzm) memset(dzm, 0, (size_t)n * sizeof(float)); /* no gradient reaches zm */
    if (reg) {
        /* D1 = zmn - a z1n - (1-a) S and D2 = zmn - a y - (1-a) S (y = z1n, or z2n with gt_uses_z2). */
        axpy_minus(n, a, gq, dz1);
        if (job.separate_d2) {
            axpy_minus(n, a, ws->q2, dz2);
            axpy_minus(n, -1.0f, ws->q2, gq); /* dL/dzmn = dL/dD1 + dL/dD2 */
        }
        /* S[b] = z2n[perm[b]]: scatter-add by columns so that repeated indices cannot race. */
        const float ra = 1.0f - a;
#pragma omp parallel for schedule(static)
        for (int j0 = 0; j0 < d; j0 += 64) {
            const int j1 = j0 + 64 < d ? j0 + 64 : d;
            for (int b = 0; b < B; b++) {
                const float *src = gq + (size_t)b * d;
                float *dst = dz2 + (size_t)perm[b] * d;
#pragma omp simd
                for (int j = j0; j < j1; j++) dst[j] -= ra * src[j];
            }
        }
        mbt_standardize_backward(B, d, ws->zmn, ws->ism, dzm);
    }
    mbt_standardize_backward(B, d, ws->z1n, ws->is1, dz1);
    mbt_standardize_backward(B, d, ws->z2n, ws->is2, dz2);
    return MBT_OK;
}
