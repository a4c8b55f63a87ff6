/* W-MSE's loss (methods/wmse.h): per iteration, the batch's rows gathered into groups by the
 * permutation, each group of each view whitened (methods/wmse_whiten.h), the pair loss summed over view
 * pairs on the gathered rows (a mean over rows, so the order does not change it), and the gradient
 * scattered back through the permutation. */
#include "methods/wmse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/plan.h"
#include "core/queue.h"
#include "core/rng.h"
#include "methods/pair_loss.h"
#include "methods/wmse_whiten.h"
#include "ops/eltwise.h"
#include "ops/mix.h"

/* The counter-based stream of the groups: (tag, 0, global step, 0), w_iter permutations drawn in turn. */
#define MBT_RNG_TAG_WMSE_GROUPS 3

struct mbt_wmse_ws {
    mbt_device device;
    int max_batch, dim, n_views, w_size, w_iter, max_groups; /* max_groups: per iteration */
    mbt_plan plan;
    float *xg, *z;           /* gathered (then centred) rows, whitened rows [n_views * max_batch, dim] */
    float *gz, *gx;          /* their gradients */
    int32_t *info;           /* the cholesky op's status per group and iteration [w_iter, max_groups] */
    double *acc;             /* the loss */
    mbt_whiten_ws whiten;
    mbt_pair_loss_ws pair;
    mbt_event ready;         /* after the read-back of the values */
    void *host;              /* staging: the loss (a double), then info */
    int pending, pending_groups, pending_iters; /* the queued call's groups per iteration, iterations */
};

void mbt_wmse_draw_groups(uint64_t seed, int64_t global_step, int batch, int w_iter, int32_t *perms) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_WMSE_GROUPS, 0, (uint64_t)global_step, 0));
    for (int it = 0; it < w_iter; it++) mbt_rng_permutation(&rng, perms + (size_t)it * batch, batch);
}

mbt_status mbt_wmse_ws_create(mbt_wmse_ws **out, int max_batch, int dim, int n_views, int w_size, int w_iter,
                              mbt_device device) {
    MBT_CHECK_ARG(out, "w-mse: out is required");
    *out = NULL;
    MBT_CHECK_ARG(dim > 0 && n_views >= 2 && w_iter >= 1 && w_size >= 2 && max_batch >= w_size,
                  "w-mse: batch %d, dim %d, %d views, w_size %d, w_iter %d (need 2 views, 2 <= w_size <= batch)",
                  max_batch, dim, n_views, w_size, w_iter);
    mbt_wmse_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return MBT_FAIL(MBT_ERR_NOMEM, "w-mse: workspace");
    *ws = (mbt_wmse_ws){.device = device, .max_batch = max_batch, .dim = dim, .n_views = n_views,
                        .w_size = w_size, .w_iter = w_iter, .max_groups = n_views * (max_batch / w_size)};
    const size_t rows = (size_t)n_views * max_batch * dim;
    mbt_plan_init(&ws->plan, device);
    mbt_plan_floats(&ws->plan, &ws->xg, rows);
    mbt_plan_floats(&ws->plan, &ws->z, rows);
    mbt_plan_floats(&ws->plan, &ws->gz, rows);
    mbt_plan_floats(&ws->plan, &ws->gx, rows);
    mbt_plan_bytes(&ws->plan, (void **)&ws->info, (size_t)w_iter * ws->max_groups * sizeof(int32_t));
    mbt_plan_bytes(&ws->plan, (void **)&ws->acc, sizeof(double));
    /* the event first: on CUDA it creates the context, whose allocator the plans need */
    mbt_status s = mbt_event_init(&ws->ready, device);
    if (s == MBT_OK)
        s = mbt_staging_alloc(device, "w-mse loss (values)", &ws->host,
                              sizeof(double) + (size_t)w_iter * ws->max_groups * sizeof(int32_t));
    if (s == MBT_OK) s = mbt_plan_commit(&ws->plan);
    if (s == MBT_OK) s = mbt_whiten_init(&ws->whiten, ws->max_groups, w_size, dim, device);
    if (s == MBT_OK) s = mbt_pair_loss_init(&ws->pair, max_batch, dim, device);
    if (s != MBT_OK) {
        mbt_wmse_ws_destroy(ws);
        return MBT_FAIL(s, "w-mse: cannot allocate the workspace for batch %d, dim %d, %d views: %s", max_batch,
                        dim, n_views, mbt_error_message());
    }
    *out = ws;
    return MBT_OK;
}

void mbt_wmse_ws_destroy(mbt_wmse_ws *ws) {
    if (!ws) return;
    mbt_event_free(&ws->ready); /* waits for the read-back */
    if (ws->host) mbt_staging_free(ws->device, ws->host);
    mbt_pair_loss_free(&ws->pair);
    mbt_whiten_free(&ws->whiten);
    mbt_plan_free(&ws->plan);
    free(ws);
}

/* The loss from the staging memory, or the error of a group that failed (iteration, view, group). */
static mbt_status finish(mbt_wmse_ws *ws, double *loss) {
    const int32_t *info = (const int32_t *)((const double *)ws->host + 1);
    const int per_view = ws->pending_groups / ws->n_views;
    for (int it = 0; it < ws->pending_iters; it++)
        for (int g = 0; g < ws->pending_groups; g++) {
            const int32_t k = info[(size_t)it * ws->max_groups + g];
            if (k != 0)
                return MBT_FAIL(MBT_ERR_NUMERIC,
                                "w-mse whitening: the shrunk covariance of iteration %d, view %d, group %d (%d rows "
                                "of %d) is not positive definite (leading minor of order %d); raise --w_eps or "
                                "w_size",
                                it, g / per_view, g % per_view, ws->w_size, ws->dim, (int)k);
        }
    const double v = *(const double *)ws->host;
    if (!isfinite(v)) return MBT_FAIL(MBT_ERR_NUMERIC, "w-mse: non-finite loss (%g)", v);
    if (loss) *loss = v;
    return MBT_OK;
}

/* One iteration: groups of the permutation perm, whitened, the pair losses, and dh += the gradient. */
static mbt_status iteration(mbt_wmse_ws *ws, int it, int batch, const float *h, const int32_t *perm,
                            const mbt_wmse_params *p, double weight, float *dh) {
    const mbt_device dev = ws->device;
    const int V = ws->n_views, d = ws->dim, groups = V * (batch / ws->w_size);
    const size_t view = (size_t)batch * d;
    for (int v = 0; v < V; v++) MBT_TRY(mbt_gather_rows(dev, batch, d, perm, h + v * view, ws->xg + v * view));
    mbt_status s = mbt_whiten_forward(&ws->whiten, groups, p->eps, ws->xg, ws->z, ws->info + it * ws->max_groups);
    if (s == MBT_ERR_NUMERIC && mbt_device_host_memory(dev)) { /* the CPU knows at once which group failed */
        ws->pending_groups = groups;
        ws->pending_iters = it + 1;
        memcpy((double *)ws->host + 1, ws->info, (size_t)(it + 1) * ws->max_groups * sizeof(int32_t));
        return finish(ws, NULL);
    }
    MBT_TRY(s);
    if (dh) MBT_TRY(mbt_zero(dev, (size_t)V * view, ws->gz));
    for (int i = 0; i < V - 1; i++)
        for (int j = i + 1; j < V; j++)
            MBT_TRY(mbt_pair_loss_add(&ws->pair, p->normalize, batch, ws->z + i * view, ws->z + j * view, weight,
                                      ws->acc, dh ? ws->gz + i * view : NULL, dh ? ws->gz + j * view : NULL));
    if (!dh) return MBT_OK;
    MBT_TRY(mbt_whiten_backward(&ws->whiten, groups, p->eps, ws->xg, ws->gz, ws->gx));
    for (int v = 0; v < V; v++) /* dh[perm[b]] += gx[b] */
        MBT_TRY(mbt_scatter_sub(dev, batch, d, -1.0f, perm, ws->gx + v * view, dh + v * view));
    return MBT_OK;
}

mbt_status mbt_wmse_loss_queue(mbt_wmse_ws *ws, int batch, const float *h, const int32_t *perms,
                               const mbt_wmse_params *params, float *dh) {
    MBT_CHECK_ARG(ws && h && perms && params, "w-mse loss: workspace, h, perms and params are required");
    MBT_CHECK_ARG(!ws->pending, "w-mse loss: the queued call is not collected yet");
    MBT_CHECK_ARG(params->w_size == ws->w_size, "w-mse loss: w_size %d, the workspace was planned for %d",
                  params->w_size, ws->w_size);
    MBT_CHECK_ARG(params->w_iter >= 1 && params->w_iter <= ws->w_iter,
                  "w-mse loss: w_iter %d outside [1, %d] planned", params->w_iter, ws->w_iter);
    MBT_CHECK_ARG(batch >= ws->w_size && batch <= ws->max_batch && batch % ws->w_size == 0,
                  "w-mse loss: batch %d is not a multiple of w_size %d in [w_size, %d]", batch, ws->w_size,
                  ws->max_batch);
    MBT_CHECK_ARG(params->eps >= 0.0f && params->eps < 1.0f, "w-mse loss: eps %g outside [0, 1)",
                  (double)params->eps);
    const mbt_device dev = ws->device;
    const int V = ws->n_views, iters = params->w_iter;
    const double weight = 1.0 / ((double)iters * (V * (V - 1) / 2));
    MBT_TRY(mbt_zero(dev, 2, (float *)ws->acc)); /* the double 0.0 is all zero bits */
    if (dh) MBT_TRY(mbt_zero(dev, (size_t)V * batch * ws->dim, dh));
    for (int it = 0; it < iters; it++)
        MBT_TRY(iteration(ws, it, batch, h, perms + (size_t)it * batch, params, weight, dh));
    ws->pending_groups = V * (batch / ws->w_size);
    ws->pending_iters = iters;
    /* the values go back without the host waiting: collect waits for the event */
    MBT_TRY(mbt_copy_to_host_async(dev, ws->host, ws->acc, sizeof(double)));
    MBT_TRY(mbt_copy_to_host_async(dev, (double *)ws->host + 1, ws->info,
                                   (size_t)iters * ws->max_groups * sizeof(int32_t)));
    MBT_TRY(mbt_event_record(&ws->ready, "w-mse loss (read-back)"));
    if (mbt_device_synchronous(dev)) MBT_TRY(finish(ws, NULL)); /* the values are there: errors at once */
    ws->pending = 1;
    return MBT_OK;
}

mbt_status mbt_wmse_loss_collect(mbt_wmse_ws *ws, double *loss) {
    MBT_CHECK_ARG(ws && loss, "w-mse loss: workspace and loss are required");
    MBT_CHECK_ARG(ws->pending, "w-mse loss: no queued call to collect");
    ws->pending = 0;
    MBT_TRY(mbt_event_wait(&ws->ready, "w-mse loss (read-back)"));
    return finish(ws, loss);
}

mbt_status mbt_wmse_loss(mbt_wmse_ws *ws, int batch, const float *h, const int32_t *perms,
                         const mbt_wmse_params *params, double *loss, float *dh) {
    MBT_TRY(mbt_wmse_loss_queue(ws, batch, h, perms, params, dh));
    return mbt_wmse_loss_collect(ws, loss);
}
