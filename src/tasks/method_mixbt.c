/* Mixed Barlow Twins and plain Barlow Twins behind the method interface: tasks/mixbt_step.c unchanged,
 * one model (projector included), one parameter segment. */
#include <stdlib.h>

#include "tasks/method.h"
#include "tasks/mixbt_step.h"

typedef struct {
    mbt_mixbt_step step;
    int32_t *perm; /* the step's permutation (host) */
} mixbt_impl;

static void destroy(mbt_method *m) {
    mixbt_impl *s = m->impl;
    if (s) {
        mbt_mixbt_step_free(&s->step);
        free(s->perm);
        free(s);
    }
    mbt_model_destroy(m->model);
}

static mbt_bt_params params_of(const mbt_method *m) {
    int bt = m->cfg.kind == MBT_METHOD_BT;
    return (mbt_bt_params){(float)m->cfg.lambda_bt, bt ? 0.0f : (float)m->cfg.lambda_reg, 0.0f, 0};
}

static mbt_status queue(mbt_method *m, const float *const *views, const mbt_method_step_info *info) {
    mixbt_impl *s = m->impl;
    mbt_bt_params params = params_of(m);
    mbt_mixbt_draw_mix(m->cfg.seed, info->step, m->cfg.batch, s->perm, &params.alpha);
    return mbt_mixbt_step_queue(&s->step, views[0], views[1], s->perm, &params);
}

static mbt_status collect(mbt_method *m, double *values) {
    mixbt_impl *s = m->impl;
    mbt_bt_losses losses;
    MBT_TRY(mbt_mixbt_step_collect(&s->step, &losses));
    values[0] = losses.loss_bt;
    values[1] = losses.loss_reg;
    return MBT_OK;
}

static mbt_status after_update(mbt_method *m, const mbt_method_step_info *info) {
    (void)info;
    return mbt_model_sync_params(m->model);
}

static mbt_status to_host(mbt_method *m) { return mbt_model_params_to_host(m->model); }
static mbt_status to_device(mbt_method *m) { return mbt_model_params_to_device(m->model); }

static const mbt_method_ops OPS = {destroy, queue, collect, after_update, to_host, to_device};

mbt_status mbt_method_create_mixbt(mbt_method *m, mbt_precision precision) {
    const mbt_method_config *c = &m->cfg;
    m->ops = &OPS;
    mixbt_impl *s = calloc(1, sizeof *s);
    if (!s) return MBT_FAIL(MBT_ERR_NOMEM, "method: out of memory");
    m->impl = s;
    s->perm = malloc((size_t)c->batch * sizeof(int32_t));
    if (!s->perm) return MBT_FAIL(MBT_ERR_NOMEM, "method: out of memory");
    int with_reg = params_of(m).lambda_reg != 0;
    mbt_model_config mc = mbt_model_config_small(c->arch, c->image_size, c->feature_dim);
    MBT_TRY(mbt_model_create_precision(&m->model, &mc, c->batch, with_reg ? 3 : 2, 1, m->device, precision));
    MBT_TRY(mbt_model_init_params(m->model, c->seed));
    MBT_TRY(mbt_mixbt_step_init(&s->step, m->model, with_reg));
    m->n_views = 2;
    m->n_segments = 1;
    m->segments[0] = (mbt_method_segment){"", mbt_model_flat_params(m->model), mbt_model_flat_grads(m->model),
                                          mbt_model_flat_size(m->model)};
    m->n_values = 2;
    m->value_names[0] = "loss_bt";
    m->value_names[1] = "loss_reg";
    return mbt_method_add_model_entries(m, m->model);
}
