/* W-MSE's group whitening and its backward, written over ops (blas, eltwise, cholesky). */
#include "methods/wmse_whiten.h"

#include <stdlib.h>

#include "core/device.h"
#include "ops/blas.h"
#include "ops/cholesky.h"
#include "ops/eltwise.h"

mbt_status mbt_whiten_init(mbt_whiten_ws *ws, int max_groups, int rows, int dim, mbt_device device) {
    MBT_CHECK_ARG(ws && max_groups > 0 && rows > 1 && dim > 0,
                  "whitening: %d groups of %d rows of %d (at least 1 group of 2 rows)", max_groups, rows, dim);
    *ws = (mbt_whiten_ws){.max_groups = max_groups, .rows = rows, .dim = dim, .device = device};
    const size_t dd = (size_t)dim * dim, gdd = (size_t)max_groups * dd;
    mbt_plan_init(&ws->plan, device);
    mbt_plan_floats(&ws->plan, &ws->ones, (size_t)rows);
    mbt_plan_floats(&ws->plan, &ws->eye, dd);
    mbt_plan_floats(&ws->plan, &ws->mean, (size_t)dim);
    mbt_plan_floats(&ws->plan, &ws->s, gdd);
    mbt_plan_floats(&ws->plan, &ws->l, gdd);
    mbt_plan_floats(&ws->plan, &ws->w, gdd);
    mbt_plan_floats(&ws->plan, &ws->gw, gdd);
    mbt_plan_floats(&ws->plan, &ws->gs, gdd);
    mbt_plan_floats(&ws->plan, &ws->scratch, 2 * gdd);
    mbt_plan_bytes(&ws->plan, &ws->chol_ws, mbt_cholesky_workspace_bytes(max_groups));
    MBT_TRY(mbt_plan_commit(&ws->plan));
    /* the constants, uploaded once */
    float *host = calloc(dd > (size_t)rows ? dd : (size_t)rows, sizeof(float));
    if (!host) {
        mbt_whiten_free(ws);
        return MBT_FAIL(MBT_ERR_NOMEM, "whitening: %zu floats of host staging", dd);
    }
    for (int i = 0; i < rows; i++) host[i] = 1.0f;
    mbt_status st = mbt_device_from_host(device, ws->ones, host, (size_t)rows * sizeof(float));
    for (size_t i = 0; i < dd; i++) host[i] = i % ((size_t)dim + 1) == 0 ? 1.0f : 0.0f;
    if (st == MBT_OK) st = mbt_device_from_host(device, ws->eye, host, dd * sizeof(float));
    free(host);
    if (st != MBT_OK) mbt_whiten_free(ws);
    return st;
}

void mbt_whiten_free(mbt_whiten_ws *ws) {
    if (ws) mbt_plan_free(&ws->plan);
}

/* x [rows, dim] -= its column means, as two products with the ones vector. */
static mbt_status subtract_mean(const mbt_whiten_ws *ws, float *x) {
    const int n = ws->rows, d = ws->dim;
    MBT_TRY(mbt_sgemm(ws->device, 0, 0, 1, d, n, 1.0f / (float)n, ws->ones, n, x, d, 0.0f, ws->mean, d));
    return mbt_sgemm(ws->device, 0, 0, n, d, 1, -1.0f, ws->ones, 1, ws->mean, d, 1.0f, x, d);
}

static mbt_status check_groups(const mbt_whiten_ws *ws, int groups, float eps) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "whitening: workspace not initialised");
    MBT_CHECK_ARG(groups >= 0 && groups <= ws->max_groups, "whitening: %d groups, %d planned", groups,
                  ws->max_groups);
    MBT_CHECK_ARG(eps >= 0.0f && eps < 1.0f, "whitening: eps %g outside [0, 1)", (double)eps);
    return MBT_OK;
}

mbt_status mbt_whiten_forward(mbt_whiten_ws *ws, int groups, float eps, float *x, float *y, int32_t *info) {
    MBT_TRY(check_groups(ws, groups, eps));
    const mbt_device dev = ws->device;
    const int n = ws->rows, d = ws->dim;
    const size_t nd = (size_t)n * d, dd = (size_t)d * d;
    for (int g = 0; g < groups; g++) {
        float *xg = x + g * nd, *sg = ws->s + g * dd;
        MBT_TRY(subtract_mean(ws, xg));
        MBT_TRY(mbt_copy(dev, dd, ws->eye, sg));
        MBT_TRY(mbt_sgemm(dev, 1, 0, d, d, n, (1.0f - eps) / (float)(n - 1), xg, d, xg, d, eps, sg, d));
    }
    MBT_TRY(mbt_cholesky_inverse(dev, groups, d, ws->s, ws->l, ws->w, info, ws->chol_ws));
    for (int g = 0; g < groups; g++) /* y = xc W^T */
        MBT_TRY(mbt_sgemm(dev, 0, 1, n, d, d, 1.0f, x + g * nd, d, ws->w + g * dd, d, 0.0f, y + g * nd, d));
    return MBT_OK;
}

mbt_status mbt_whiten_backward(mbt_whiten_ws *ws, int groups, float eps, const float *xc, const float *gy,
                               float *gx) {
    MBT_TRY(check_groups(ws, groups, eps));
    const mbt_device dev = ws->device;
    const int n = ws->rows, d = ws->dim;
    const size_t nd = (size_t)n * d, dd = (size_t)d * d;
    for (int g = 0; g < groups; g++) /* gW = gy^T xc */
        MBT_TRY(mbt_sgemm(dev, 1, 0, d, d, n, 1.0f, gy + g * nd, d, xc + g * nd, d, 0.0f, ws->gw + g * dd, d));
    MBT_TRY(mbt_cholesky_inverse_backward(dev, groups, d, ws->l, ws->w, ws->gw, ws->gs, ws->scratch));
    /* the covariance's product t t^T / (n - 1) sends (gS + gS^T) t / (n - 1) to t = xc^T; gS is symmetric */
    const float cov_scale = 2.0f * (1.0f - eps) / (float)(n - 1);
    for (int g = 0; g < groups; g++) {
        float *gxg = gx + g * nd;
        MBT_TRY(mbt_sgemm(dev, 0, 0, n, d, d, 1.0f, gy + g * nd, d, ws->w + g * dd, d, 0.0f, gxg, d));
        MBT_TRY(mbt_sgemm(dev, 0, 0, n, d, d, cov_scale, xc + g * nd, d, ws->gs + g * dd, d, 1.0f, gxg, d));
        MBT_TRY(subtract_mean(ws, gxg));
    }
    return MBT_OK;
}
