/* The cost report of a model or of a method's training step: built from the layer shapes, printed as a
 * table, and written as JSON. */
#include "tasks/cost_report.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <string.h>

static const char *stem_text(mbt_stem stem) {
    return stem == MBT_STEM_CIFAR ? "3x3 conv, no max pool" : stem == MBT_STEM_SMALL ? "3x3 conv, max pool"
                                                                                     : "7x7 conv stride 2, max pool";
}

/* Appends printf-style text to r->model. */
static void model_text(mbt_cost_report *r, const char *fmt, ...) {
    size_t at = strlen(r->model);
    va_list ap;
    va_start(ap, fmt);
    if (at < sizeof r->model) vsnprintf(r->model + at, sizeof r->model - at, fmt, ap);
    va_end(ap);
}

static void add_part(mbt_cost_report *r, const char *name, mbt_cost_part p) {
    r->part_names[r->n_parts] = name;
    r->parts[r->n_parts++] = p;
    r->total.params += p.params;
    r->total.macs += p.macs;
}

static void begin(mbt_cost_report *r, const mbt_model_config *cfg) {
    memset(r, 0, sizeof *r);
    snprintf(r->model, sizeof r->model, "%s, %d px (%s), ", mbt_arch_name(cfg->arch), cfg->image_size,
             stem_text(cfg->stem));
}

mbt_status mbt_cost_report_model(const mbt_model_config *cfg, const char *method, int views, int batch,
                                 mbt_cost_report *r) {
    mbt_model_cost c;
    MBT_TRY(mbt_model_cost_of(cfg, &c));
    begin(r, cfg);
    if (cfg->backbone_only) {
        model_text(r, "no projector");
    } else {
        model_text(r, "projector %d", mbt_model_embedding_dim(cfg->arch));
        for (int i = 0; i < cfg->n_proj_hidden; i++) model_text(r, "-%d", cfg->proj_hidden[i]);
        model_text(r, "-%d", cfg->feature_dim);
    }
    add_part(r, "backbone", c.backbone);
    add_part(r, "projector", c.projector);
    if (method && views > 0) {
        r->method = method;
        r->views = views;
        r->batch = batch;
        r->step_forward = (double)views * batch * r->total.macs;
        r->step_total = 3 * r->step_forward;
    }
    return MBT_OK;
}

/* "head 512-1024-64" (", predictor 64-1024-64" after the first head; " and BN": SimCLR's bn_last). */
static void head_text(mbt_cost_report *r, const char *name, const mbt_head_config *h) {
    model_text(r, "%s%s %d", r->n_parts > 1 ? ", " : "", name, h->in_dim);
    for (int i = 0; i < h->n_hidden; i++) model_text(r, "-%d", h->hidden[i]);
    model_text(r, "-%d", h->out_dim);
    if (h->out_bn) model_text(r, " and BN");
}

mbt_status mbt_cost_report_method(const mbt_method_config *c, mbt_cost_report *r) {
    if (!mbt_method_is_baseline(c->kind)) {
        mbt_model_config mc = mbt_model_config_small(c->arch, c->image_size, c->feature_dim);
        return mbt_cost_report_model(&mc, mbt_method_name(c->kind), c->kind == MBT_METHOD_BT ? 2 : 3, c->batch, r);
    }
    /* the encoder, ssl-sota's head (SimCLR: with bn_last) and BYOL's predictor, as ssl_step.c builds them */
    mbt_model_config mc;
    MBT_TRY(mbt_model_config_sslsota(c->arch, c->image_size, "model.module.", &mc));
    mbt_model_cost enc;
    MBT_TRY(mbt_model_cost_of(&mc, &enc));
    mbt_head_config hc, pc;
    MBT_TRY(mbt_head_config_sslsota(mbt_model_embedding_dim(c->arch), c->head_size, c->head_layers, c->emb, "head.", &hc));
    hc.out_bn = c->kind == MBT_METHOD_SIMCLR;
    MBT_TRY(mbt_head_config_sslsota(c->emb, c->head_size, 2, c->emb, "pred.", &pc));
    mbt_cost_part head, pred;
    MBT_TRY(mbt_head_cost_of(&hc, &head));
    MBT_TRY(mbt_head_cost_of(&pc, &pred));
    begin(r, &mc);
    add_part(r, "backbone", enc.backbone);
    head_text(r, "head", &hc);
    add_part(r, "head", head);
    int byol = c->kind == MBT_METHOD_BYOL;
    if (byol) {
        head_text(r, "predictor", &pc);
        add_part(r, "predictor", pred);
    }
    r->method = mbt_method_name(c->kind);
    r->heads = 1;
    r->views = c->n_views;
    r->batch = c->batch;
    r->step_forward = (double)c->n_views * c->batch * r->total.macs;
    /* BYOL's target network (backbone and head, an EMA copy) runs forward on every view, without a backward */
    if (byol) r->step_target = (double)c->n_views * c->batch * (enc.backbone.macs + head.macs);
    r->step_total = 3 * r->step_forward + r->step_target;
    return MBT_OK;
}

/* 1234567 -> "1,234,567" */
static const char *grouped(double v, char *buf, size_t size) {
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

static void print_part(FILE *out, const char *name, const mbt_cost_part *p) {
    char params[32];
    fprintf(out, "  %-10s %15s  %10.4f G\n", name, grouped(p->params, params, sizeof params), p->macs / 1e9);
}

void mbt_cost_report_print(const mbt_cost_report *r, FILE *out) {
    fprintf(out, "model: %s\n", r->model);
    fprintf(out, "  %-10s %15s  %12s\n", "part", "parameters", "MACs/image");
    for (int i = 0; i < r->n_parts; i++) print_part(out, r->part_names[i], &r->parts[i]);
    print_part(out, "total", &r->total);
    if (r->method && r->step_target > 0) {
        fprintf(out, "training step of %s (%d views of %d images through backbone, head and predictor, and through the\n"
                     "target network's backbone and head, forward only): %.4g T multiply-adds forward (%.4g T of them the\n"
                     "target's), about %.4g T with the backward passes (about twice the forward; the target has none)\n",
                r->method, r->views, r->batch, (r->step_forward + r->step_target) / 1e12, r->step_target / 1e12,
                r->step_total / 1e12);
    } else if (r->method && r->heads) {
        fprintf(out, "training step of %s (%d views of %d images through backbone and head): %.4g T multiply-adds\n"
                     "forward, about %.4g T with the backward passes (about twice the forward)\n",
                r->method, r->views, r->batch, r->step_forward / 1e12, r->step_total / 1e12);
    } else if (r->method) {
        fprintf(out, "training step of %s (%d forward passes of %d images): %.4g T multiply-adds forward, about %.4g T with the\n"
                     "backward passes (about twice the forward)\n",
                r->method, r->views, r->batch, r->step_forward / 1e12, r->step_total / 1e12);
    }
    fprintf(out, "counted as thop counts convolutions and linear layers (multiply-adds; batch norm, ReLU, pooling,\n"
                 "additions and the loss not counted); parameters are the trainable ones (BN running statistics not\n"
                 "included%s)\n",
            r->step_target > 0 ? "; nor the target network's, an EMA copy of backbone and head" : "");
}

void *mbt_cost_report_json(const mbt_cost_report *r) {
    cJSON *j = cJSON_CreateObject();
    char key[64];
    for (int i = 0; i <= r->n_parts; i++) {
        const char *name = i < r->n_parts ? r->part_names[i] : "total";
        const mbt_cost_part *p = i < r->n_parts ? &r->parts[i] : &r->total;
        snprintf(key, sizeof key, "%s_params", name);
        cJSON_AddNumberToObject(j, key, p->params);
        snprintf(key, sizeof key, "%s_macs_per_image", name);
        cJSON_AddNumberToObject(j, key, p->macs);
    }
    if (r->method) {
        cJSON_AddStringToObject(j, "method", r->method);
        cJSON_AddNumberToObject(j, "step_views", r->views);
        cJSON_AddNumberToObject(j, "step_batch", r->batch);
        cJSON_AddNumberToObject(j, "step_macs_forward", r->step_forward);
        if (r->step_target > 0) cJSON_AddNumberToObject(j, "step_macs_target_forward", r->step_target);
        cJSON_AddNumberToObject(j, "step_macs_with_backward", r->step_total);
    }
    cJSON_AddStringToObject(j, "counting", "thop's: multiply-adds of convolutions and linear layers (batch norm, ReLU, "
                                           "pooling, additions and the loss not counted); trainable parameters");
    return j;
}
