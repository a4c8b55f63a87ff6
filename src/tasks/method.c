/* The method interface's common part: names, defaults, dispatch over the implementations, the
 * checkpoint entry list. */
#include "tasks/method.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const NAMES[] = {"mixbt", "bt", "simclr", "byol", "wmse"};

const char *mbt_method_name(mbt_method_kind kind) {
    return (unsigned)kind < sizeof NAMES / sizeof *NAMES ? NAMES[kind] : "?";
}

void mbt_method_values_text(const char *const *names, const double *values, int n, const char *sep, const char *fmt,
                            char *buf, size_t size) {
    buf[0] = 0;
    if (n < 2) return;
    size_t at = (size_t)snprintf(buf, size, " (");
    for (int j = 0; j < n && at < size; j++) {
        const char *name = names[j];
        if (!strncmp(name, "loss_", 5)) name += 5;
        at += (size_t)snprintf(buf + at, size - at, "%s%s ", j ? sep : "", name);
        if (at < size) at += (size_t)snprintf(buf + at, size - at, fmt, values[j]);
    }
    if (at < size) snprintf(buf + at, size - at, ")");
}

mbt_status mbt_method_parse(const char *name, mbt_method_kind *kind) {
    for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++)
        if (name && !strcmp(name, NAMES[i])) {
            *kind = (mbt_method_kind)i;
            return MBT_OK;
        }
    return MBT_FAIL(MBT_ERR_ARG, "unknown method '%s' (mixbt, bt, simclr, byol, wmse)", name ? name : "(null)");
}

int mbt_method_is_baseline(mbt_method_kind kind) {
    return kind == MBT_METHOD_SIMCLR || kind == MBT_METHOD_BYOL || kind == MBT_METHOD_WMSE;
}

void mbt_method_config_defaults(mbt_method_config *c) {
    memset(c, 0, sizeof *c);
    c->kind = MBT_METHOD_MIXBT;
    c->arch = MBT_ARCH_RESNET18;
    c->image_size = 32;
    c->batch = 256;
    c->feature_dim = 1024;
    c->lambda_bt = 0.0078125;
    c->lambda_reg = 4.0;
    c->n_views = 2;
    c->emb = 64;
    c->head_size = 1024;
    c->head_layers = 2;
    c->normalize = 1;
    c->tau = 0.5;
    c->byol_tau = 0.99;
    c->w_size = 128;
    c->w_iter = 1;
    c->w_eps = 1e-4;
}

mbt_status mbt_method_create(mbt_method **out, const mbt_method_config *cfg, mbt_device device, mbt_precision precision) {
    *out = NULL;
    mbt_method *m = calloc(1, sizeof *m);
    if (!m) return MBT_FAIL(MBT_ERR_NOMEM, "method: out of memory");
    m->cfg = *cfg;
    m->device = device;
    mbt_status st = mbt_method_is_baseline(cfg->kind) ? mbt_method_create_baseline(m, precision)
                                                      : mbt_method_create_mixbt(m, precision);
    if (st != MBT_OK) {
        mbt_method_destroy(m);
        return st;
    }
    *out = m;
    return MBT_OK;
}

void mbt_method_destroy(mbt_method *m) {
    if (!m) return;
    if (m->ops && m->ops->destroy) m->ops->destroy(m);
    free(m->entries);
    free(m);
}

mbt_status mbt_method_queue(mbt_method *m, const float *const *views, const mbt_method_step_info *info) {
    return m->ops->queue(m, views, info);
}

mbt_status mbt_method_collect(mbt_method *m, double *values) { return m->ops->collect(m, values); }

mbt_status mbt_method_after_update(mbt_method *m, const mbt_method_step_info *info) {
    return m->ops->after_update(m, info);
}

mbt_status mbt_method_params_to_host(mbt_method *m) { return m->ops->params_to_host(m); }

mbt_status mbt_method_params_to_device(mbt_method *m) { return m->ops->params_to_device(m); }

mbt_status mbt_method_add_entry(mbt_method *m, mbt_param *p) {
    mbt_param **grown = realloc(m->entries, (m->n_entries + 1) * sizeof *grown);
    if (!grown) return MBT_FAIL(MBT_ERR_NOMEM, "method: out of memory");
    m->entries = grown;
    m->entries[m->n_entries++] = p;
    return MBT_OK;
}

mbt_status mbt_method_add_model_entries(mbt_method *m, mbt_model *model) {
    for (size_t i = 0; i < mbt_model_param_count(model); i++) MBT_TRY(mbt_method_add_entry(m, mbt_model_param(model, i)));
    return MBT_OK;
}
