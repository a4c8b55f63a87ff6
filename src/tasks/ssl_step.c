/* The ssl-sota baselines (SimCLR, BYOL, W-MSE) behind the method interface, as SSLMethod.forward of
 * reference/torch_sslsota.py computes them: the backbone once per view (one BN batch per view, one model
 * slot per view); SimCLR and W-MSE run the head once over all views' features concatenated (one BN
 * batch of n_views x batch rows), SimCLR's bn_last being the head's output BN; BYOL runs head and
 * predictor per view and the target network per view in training mode (its BN statistics move, no
 * backward), and after each optimizer step target = tau target + (1 - tau) online over the flat
 * parameter vectors. Backwards run in reverse view order, as autograd visits the later view first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plan.h"
#include "core/upload.h"
#include "methods/byol.h"
#include "methods/simclr.h"
#include "methods/wmse.h"
#include "models/mlp_head.h"
#include "ops/eltwise.h"
#include "tasks/method.h"

typedef struct {
    int batch, feat, emb, n_views;
    mbt_model *model_t;          /* BYOL's target backbone (one slot, no backward) */
    mbt_head *head, *pred, *head_t;
    mbt_simclr_ws *simclr;
    mbt_byol_ws *byol;
    mbt_wmse_ws *wmse;
    mbt_plan plan;
    float *h_in, *dh_in;         /* SimCLR, W-MSE: the views' features [n_views * batch, feat] and their gradient */
    float *dz;                   /* the loss gradient [n_views * batch, emb] */
    float *p_all, *t_all;        /* BYOL: predictions and target projections [n_views * batch, emb] */
    float *dq, *dfeat;           /* BYOL: one view's gradient into the head's output [batch, emb] and features */
    int32_t *perms_dev, *perms;  /* W-MSE: the step's groups [w_iter * batch], device and host */
    mbt_upload perms_up;
    /* W-MSE's workspace takes one call at a time: its value is collected at queue and kept here until
     * the loop collects it (a FIFO of up to 2 steps, as the other losses' read-back) */
    double wmse_values[2];
    int wmse_head, wmse_count;
} ssl_impl;

static void destroy(mbt_method *m) {
    ssl_impl *s = m->impl;
    if (s) {
        mbt_simclr_ws_destroy(s->simclr);
        mbt_byol_ws_destroy(s->byol);
        mbt_wmse_ws_destroy(s->wmse);
        mbt_upload_free(&s->perms_up); /* waits for the copies in flight */
        mbt_plan_free(&s->plan);
        mbt_head_destroy(s->head);
        mbt_head_destroy(s->pred);
        mbt_head_destroy(s->head_t);
        mbt_model_destroy(s->model_t);
        free(s->perms);
        free(s);
    }
    mbt_model_destroy(m->model);
}

/* SimCLR and W-MSE: backbone per view, head once over the concatenated features. */
static mbt_status queue_concat(mbt_method *m, const float *const *views, const mbt_method_step_info *info) {
    ssl_impl *s = m->impl;
    const mbt_method_config *c = &m->cfg;
    size_t view_feat = (size_t)s->batch * s->feat;
    MBT_TRY(mbt_model_zero_grads(m->model));
    MBT_TRY(mbt_head_zero_grads(s->head));
    if (c->kind == MBT_METHOD_WMSE) { /* the groups first: the upload does not wait for the forwards */
        const int32_t *groups = info->groups;
        if (!groups) {
            mbt_wmse_draw_groups(c->seed, info->step, s->batch, c->w_iter, s->perms);
            groups = s->perms;
        }
        MBT_TRY(mbt_upload_put(&s->perms_up, s->perms_dev, groups, (size_t)c->w_iter * s->batch * sizeof(int32_t)));
    }
    for (int v = 0; v < s->n_views; v++) {
        const float *f;
        MBT_TRY(mbt_model_forward_train(m->model, v, views[v], &f, NULL));
        MBT_TRY(mbt_copy(m->device, view_feat, f, s->h_in + v * view_feat));
    }
    const float *z;
    MBT_TRY(mbt_head_forward_train(s->head, 0, s->n_views * s->batch, s->h_in, &z));
    if (c->kind == MBT_METHOD_SIMCLR) {
        mbt_simclr_params p = {(float)c->tau, c->normalize};
        MBT_TRY(mbt_simclr_loss_queue(s->simclr, s->batch, z, &p, s->dz));
    } else {
        mbt_wmse_params p = {c->w_size, c->w_iter, (float)c->w_eps, c->normalize};
        MBT_CHECK_ARG(s->wmse_count < 2, "w-mse step: %d steps queued and not collected", s->wmse_count);
        MBT_TRY(mbt_wmse_loss_queue(s->wmse, s->batch, z, s->perms_dev, &p, s->dz));
        MBT_TRY(mbt_wmse_loss_collect(s->wmse, &s->wmse_values[(s->wmse_head + s->wmse_count) % 2]));
        s->wmse_count++;
    }
    MBT_TRY(mbt_head_backward(s->head, 0, s->dz, s->dh_in));
    for (int v = s->n_views - 1; v >= 0; v--) MBT_TRY(mbt_model_backward(m->model, v, NULL, s->dh_in + v * view_feat));
    return MBT_OK;
}

/* BYOL: pred(head(model(x))) per view, the target per view, the loss, the backwards per view. */
static mbt_status queue_byol(mbt_method *m, const float *const *views, const mbt_method_step_info *info) {
    (void)info;
    ssl_impl *s = m->impl;
    size_t view_emb = (size_t)s->batch * s->emb;
    MBT_TRY(mbt_model_zero_grads(m->model));
    MBT_TRY(mbt_head_zero_grads(s->head));
    MBT_TRY(mbt_head_zero_grads(s->pred));
    for (int v = 0; v < s->n_views; v++) {
        const float *f, *h, *p;
        MBT_TRY(mbt_model_forward_train(m->model, v, views[v], &f, NULL));
        MBT_TRY(mbt_head_forward_train(s->head, v, s->batch, f, &h));
        MBT_TRY(mbt_head_forward_train(s->pred, v, s->batch, h, &p));
        MBT_TRY(mbt_copy(m->device, view_emb, p, s->p_all + v * view_emb));
    }
    for (int v = 0; v < s->n_views; v++) { /* no_grad, training mode: one slot reused */
        const float *f, *t;
        MBT_TRY(mbt_model_forward_train(s->model_t, 0, views[v], &f, NULL));
        MBT_TRY(mbt_head_forward_train(s->head_t, 0, s->batch, f, &t));
        MBT_TRY(mbt_copy(m->device, view_emb, t, s->t_all + v * view_emb));
    }
    MBT_TRY(mbt_byol_loss_queue(s->byol, s->batch, s->p_all, s->t_all, m->cfg.normalize, s->dz));
    for (int v = s->n_views - 1; v >= 0; v--) {
        MBT_TRY(mbt_head_backward(s->pred, v, s->dz + v * view_emb, s->dq));
        MBT_TRY(mbt_head_backward(s->head, v, s->dq, s->dfeat));
        MBT_TRY(mbt_model_backward(m->model, v, NULL, s->dfeat));
    }
    return MBT_OK;
}

static mbt_status queue(mbt_method *m, const float *const *views, const mbt_method_step_info *info) {
    return m->cfg.kind == MBT_METHOD_BYOL ? queue_byol(m, views, info) : queue_concat(m, views, info);
}

static mbt_status collect(mbt_method *m, double *values) {
    ssl_impl *s = m->impl;
    switch (m->cfg.kind) {
    case MBT_METHOD_SIMCLR: return mbt_simclr_loss_collect(s->simclr, values);
    case MBT_METHOD_BYOL: return mbt_byol_loss_collect(s->byol, values);
    default:
        MBT_CHECK_ARG(s->wmse_count > 0, "w-mse step: no step queued");
        values[0] = s->wmse_values[s->wmse_head];
        s->wmse_head = (s->wmse_head + 1) % 2;
        s->wmse_count--;
        return MBT_OK;
    }
}

/* target = tau target + (1 - tau) online over the flat parameters (torch: t * tau + s * (1.0 - tau), the
 * coefficients rounded to float). */
static mbt_status ema(mbt_method *m, double tau) {
    ssl_impl *s = m->impl;
    float a = (float)tau, b = (float)(1.0 - tau);
    MBT_TRY(mbt_axpby(m->device, mbt_model_flat_size(s->model_t), a, mbt_model_flat_params(s->model_t), b,
                      mbt_model_flat_params(m->model), mbt_model_flat_params(s->model_t)));
    MBT_TRY(mbt_axpby(m->device, mbt_head_flat_size(s->head_t), a, mbt_head_flat_params(s->head_t), b,
                      mbt_head_flat_params(s->head), mbt_head_flat_params(s->head_t)));
    return mbt_model_sync_params(s->model_t);
}

static mbt_status after_update(mbt_method *m, const mbt_method_step_info *info) {
    MBT_TRY(mbt_model_sync_params(m->model));
    if (m->cfg.kind != MBT_METHOD_BYOL) return MBT_OK;
    /* ssl-sota: model.step(ep / cfg.epoch) with its epoch ep counted from 0 */
    double progress = info->epochs > 0 ? (double)(info->epoch - 1) / info->epochs : 0;
    return ema(m, mbt_byol_tau(m->cfg.byol_tau, progress));
}

static mbt_status to_host(mbt_method *m) {
    ssl_impl *s = m->impl;
    MBT_TRY(mbt_model_params_to_host(m->model));
    MBT_TRY(mbt_head_params_to_host(s->head));
    if (s->pred) MBT_TRY(mbt_head_params_to_host(s->pred));
    if (s->model_t) MBT_TRY(mbt_model_params_to_host(s->model_t));
    if (s->head_t) MBT_TRY(mbt_head_params_to_host(s->head_t));
    return MBT_OK;
}

static mbt_status to_device(mbt_method *m) {
    ssl_impl *s = m->impl;
    MBT_TRY(mbt_model_params_to_device(m->model));
    MBT_TRY(mbt_head_params_to_device(s->head));
    if (s->pred) MBT_TRY(mbt_head_params_to_device(s->pred));
    if (s->model_t) MBT_TRY(mbt_model_params_to_device(s->model_t));
    if (s->head_t) MBT_TRY(mbt_head_params_to_device(s->head_t));
    return MBT_OK;
}

static const mbt_method_ops OPS = {destroy, queue, collect, after_update, to_host, to_device};

static mbt_status add_head_entries(mbt_method *m, mbt_head *h) {
    for (size_t i = 0; i < mbt_head_param_count(h); i++) MBT_TRY(mbt_method_add_entry(m, mbt_head_param(h, i)));
    return MBT_OK;
}

/* Head init streams: distinct per head of the run (the target's are overwritten by the copy). */
enum { STREAM_HEAD = 1, STREAM_PRED = 2, STREAM_HEAD_T = 3, SEED_TARGET_OFFSET = 0x5eed };

static mbt_status create_byol_parts(mbt_method *m, ssl_impl *s, mbt_precision precision) {
    const mbt_method_config *c = &m->cfg;
    mbt_head_config pc, tc;
    MBT_TRY(mbt_head_config_sslsota(c->emb, c->head_size, 2, c->emb, "pred.", &pc)); /* Linear+BN+ReLU+Linear */
    MBT_TRY(mbt_head_create(&s->pred, &pc, c->batch, s->n_views, 1, m->device));
    MBT_TRY(mbt_head_init_params(s->pred, c->seed, STREAM_PRED));
    mbt_model_config mc;
    MBT_TRY(mbt_model_config_sslsota(c->arch, c->image_size, "model_t.module.", &mc));
    MBT_TRY(mbt_model_create_precision(&s->model_t, &mc, c->batch, 1, 1, m->device, precision));
    MBT_TRY(mbt_model_init_params(s->model_t, c->seed + SEED_TARGET_OFFSET));
    MBT_TRY(mbt_head_config_sslsota(s->feat, c->head_size, c->head_layers, c->emb, "head_t.", &tc));
    MBT_TRY(mbt_head_create(&s->head_t, &tc, c->batch, 1, 1, m->device));
    MBT_TRY(mbt_head_init_params(s->head_t, c->seed, STREAM_HEAD_T));
    MBT_TRY(mbt_byol_ws_create(&s->byol, c->batch, c->emb, s->n_views, m->device));
    return ema(m, 0.0); /* ssl-sota's self.ema(0.0): the target starts as a copy of the online parameters */
}

static mbt_status check_config(const mbt_method_config *c) {
    MBT_CHECK_ARG(c->n_views >= 2 && c->n_views <= MBT_METHOD_MAX_VIEWS, "--num-samples %d: expected 2 .. %d",
                  c->n_views, MBT_METHOD_MAX_VIEWS);
    MBT_CHECK_ARG(c->n_views <= MBT_MAX_SLOTS, "--num-samples %d: the model has %d slots", c->n_views, MBT_MAX_SLOTS);
    MBT_CHECK_ARG(c->batch >= 2, "--batch-size %d: at least 2", c->batch);
    if (c->kind == MBT_METHOD_WMSE) {
        MBT_CHECK_ARG(c->w_size >= 2 && c->batch % c->w_size == 0, "--w-size %d does not divide --batch-size %d",
                      c->w_size, c->batch);
        MBT_CHECK_ARG(c->w_iter >= 1, "--w-iter %d: at least 1", c->w_iter);
    }
    return MBT_OK;
}

mbt_status mbt_method_create_baseline(mbt_method *m, mbt_precision precision) {
    const mbt_method_config *c = &m->cfg;
    MBT_TRY(check_config(c));
    m->ops = &OPS;
    ssl_impl *s = calloc(1, sizeof *s);
    if (!s) return MBT_FAIL(MBT_ERR_NOMEM, "method: out of memory");
    m->impl = s;
    s->batch = c->batch;
    s->n_views = c->n_views;
    s->emb = c->emb;
    s->feat = mbt_model_embedding_dim(c->arch);
    int byol = c->kind == MBT_METHOD_BYOL;
    mbt_model_config mc;
    MBT_TRY(mbt_model_config_sslsota(c->arch, c->image_size, "model.module.", &mc));
    MBT_TRY(mbt_model_create_precision(&m->model, &mc, c->batch, s->n_views, 1, m->device, precision));
    MBT_TRY(mbt_model_init_params(m->model, c->seed));
    mbt_head_config hc;
    MBT_TRY(mbt_head_config_sslsota(s->feat, c->head_size, c->head_layers, c->emb, "head.", &hc));
    if (c->kind == MBT_METHOD_SIMCLR) {
        hc.out_bn = 1;
        snprintf(hc.out_bn_prefix, sizeof hc.out_bn_prefix, "bn_last.");
    }
    /* BYOL: one call per view; the others: one call over all views */
    MBT_TRY(mbt_head_create(&s->head, &hc, byol ? c->batch : s->n_views * c->batch, byol ? s->n_views : 1, 1, m->device));
    MBT_TRY(mbt_head_init_params(s->head, c->seed, STREAM_HEAD));
    size_t rows = (size_t)s->n_views * c->batch;
    mbt_plan_init(&s->plan, m->device);
    mbt_plan_floats(&s->plan, &s->dz, rows * s->emb);
    if (byol) {
        mbt_plan_floats(&s->plan, &s->p_all, rows * s->emb);
        mbt_plan_floats(&s->plan, &s->t_all, rows * s->emb);
        mbt_plan_floats(&s->plan, &s->dq, (size_t)c->batch * s->emb);
        mbt_plan_floats(&s->plan, &s->dfeat, (size_t)c->batch * s->feat);
    } else {
        mbt_plan_floats(&s->plan, &s->h_in, rows * s->feat);
        mbt_plan_floats(&s->plan, &s->dh_in, rows * s->feat);
    }
    if (c->kind == MBT_METHOD_WMSE)
        mbt_plan_bytes(&s->plan, (void **)&s->perms_dev, (size_t)c->w_iter * c->batch * sizeof(int32_t));
    MBT_TRY(mbt_plan_commit(&s->plan));
    if (c->kind == MBT_METHOD_SIMCLR) MBT_TRY(mbt_simclr_ws_create(&s->simclr, c->batch, s->emb, s->n_views, m->device));
    if (c->kind == MBT_METHOD_WMSE) {
        MBT_TRY(mbt_wmse_ws_create(&s->wmse, c->batch, s->emb, s->n_views, c->w_size, c->w_iter, m->device));
        s->perms = malloc((size_t)c->w_iter * c->batch * sizeof(int32_t));
        if (!s->perms) return MBT_FAIL(MBT_ERR_NOMEM, "method: out of memory");
        /* a staging slot per step in flight, as the loss's read-back */
        MBT_TRY(mbt_upload_init(&s->perms_up, m->device, 2, (size_t)c->w_iter * c->batch * sizeof(int32_t),
                                "w-mse step (groups)"));
    }
    if (byol) MBT_TRY(create_byol_parts(m, s, precision));
    m->n_views = s->n_views;
    m->segments[0] = (mbt_method_segment){"", mbt_model_flat_params(m->model), mbt_model_flat_grads(m->model),
                                          mbt_model_flat_size(m->model)};
    m->segments[1] = (mbt_method_segment){"head", mbt_head_flat_params(s->head), mbt_head_flat_grads(s->head),
                                          mbt_head_flat_size(s->head)};
    m->n_segments = 2;
    if (byol)
        m->segments[m->n_segments++] = (mbt_method_segment){"pred", mbt_head_flat_params(s->pred),
                                                            mbt_head_flat_grads(s->pred), mbt_head_flat_size(s->pred)};
    m->n_values = 1;
    m->value_names[0] = "loss";
    MBT_TRY(mbt_method_add_model_entries(m, m->model));
    MBT_TRY(add_head_entries(m, s->head));
    if (byol) {
        MBT_TRY(add_head_entries(m, s->pred));
        MBT_TRY(mbt_method_add_model_entries(m, s->model_t));
        MBT_TRY(add_head_entries(m, s->head_t));
    }
    return MBT_OK;
}
