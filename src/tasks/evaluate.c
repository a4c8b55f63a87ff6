/* Feature extraction over dataset passes and the standalone weighted k-NN evaluation. */
#include "tasks/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "tasks/eval_sslsota.h"
#include "tasks/evaluate_data.h"
#include "tasks/knn_classify.h"
#include "tasks/knn_euclid.h"

mbt_status mbt_feature_extractor_init(mbt_feature_extractor *fx, mbt_model *model, mbt_feature_kind kind,
                                      mbt_device device) {
    memset(fx, 0, sizeof *fx);
    const mbt_model_config *c = mbt_model_get_config(model);
    fx->model = model;
    fx->kind = kind;
    fx->dim = kind == MBT_FEAT_HEAD ? c->feature_dim : mbt_model_embedding_dim(c->arch);
    fx->device = device;
    mbt_plan_init(&fx->plan, device);
    if (device == MBT_DEVICE_CPU) return MBT_OK;
    int batch = mbt_model_batch(model);
    mbt_status st = mbt_model_create(&fx->on_device, c, batch, 1, 0, device);
    if (st == MBT_OK) st = mbt_eval_model_copy_state(fx->on_device, model);
    if (st == MBT_OK) st = mbt_device_batch_init(&fx->input, device, 1, (size_t)batch * 3 * c->image_size * c->image_size);
    if (st == MBT_OK) {
        fx->input_ready = 1;
        mbt_plan_floats(&fx->plan, &fx->rows, (size_t)batch * fx->dim);
        st = mbt_plan_commit(&fx->plan);
    }
    if (st != MBT_OK) mbt_feature_extractor_free(fx);
    return st;
}

void mbt_feature_extractor_free(mbt_feature_extractor *fx) {
    mbt_model_destroy(fx->on_device);
    if (fx->input_ready) mbt_device_batch_free(&fx->input);
    mbt_plan_free(&fx->plan);
    memset(fx, 0, sizeof *fx);
}

mbt_status mbt_feature_extractor_refresh_buffers(mbt_feature_extractor *fx) {
    return fx->on_device ? mbt_eval_model_copy_buffers(fx->on_device, fx->model) : MBT_OK;
}

static mbt_status forward(mbt_model *model, mbt_feature_kind kind, int n, const float *x, float *out) {
    switch (kind) {
    case MBT_FEAT_BACKBONE: return mbt_model_forward_eval(model, n, x, out, NULL);
    case MBT_FEAT_HEAD: return mbt_model_forward_eval(model, n, x, NULL, out);
    case MBT_FEAT_RAW: return mbt_model_forward_eval_raw(model, n, x, out, NULL);
    }
    return MBT_FAIL(MBT_ERR_ARG, "feature extractor: unknown kind %d", (int)kind);
}

mbt_status mbt_feature_extractor_run(mbt_feature_extractor *fx, int n, const float *x, float *out) {
    if (!fx->on_device) return forward(fx->model, fx->kind, n, x, out);
    const mbt_model_config *c = mbt_model_get_config(fx->on_device);
    const float *xd;
    MBT_TRY(mbt_device_batch_put(&fx->input, 0, x, (size_t)n * 3 * c->image_size * c->image_size, &xd));
    MBT_TRY(forward(fx->on_device, fx->kind, n, xd, fx->rows));
    return mbt_device_to_host(fx->device, out, fx->rows, (size_t)n * fx->dim * sizeof(float));
}

mbt_status mbt_eval_extract(mbt_feature_extractor *fx, mbt_loader *loader, int64_t total, mbt_feature_sink sink,
                            void *ctx, const mbt_eval_progress *progress, const char *stage) {
    int batch = mbt_model_batch(fx->model);
    float *rows = malloc((size_t)batch * fx->dim * sizeof(float));
    if (!rows) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", stage);
    mbt_status st = mbt_loader_start(loader, 0, 0);
    int64_t done = 0;
    if (progress && progress->fn) progress->fn(progress->ctx, stage, 0, total);
    char phase[96];
    while (st == MBT_OK) {
        if (mbt_stop_signal()) { /* polled per batch: a pass over a large split takes minutes */
            snprintf(phase, sizeof phase, "the %s feature pass (%lld of %lld images done)", stage, (long long)done,
                     (long long)total);
            st = mbt_stop_check(phase);
            break;
        }
        mbt_batch b;
        st = mbt_loader_next(loader, &b);
        if (st != MBT_OK || b.n == 0) break;
        if (b.n > batch || done + b.n > total) {
            st = MBT_FAIL(MBT_ERR_ARG, "%s: loader batch of %d images (model batch %d, %lld of %lld done)", stage, b.n,
                          batch, (long long)done, (long long)total);
            break;
        }
        st = mbt_feature_extractor_run(fx, b.n, b.x1, rows);
        if (st == MBT_OK) st = sink(ctx, rows, b.labels, b.n);
        done += b.n;
        if (st == MBT_OK && progress && progress->fn) progress->fn(progress->ctx, stage, done, total);
    }
    free(rows);
    if (st == MBT_OK && done != total)
        st = MBT_FAIL(MBT_ERR_ARG, "%s: the pass gave %lld images, %lld expected", stage, (long long)done, (long long)total);
    return st;
}

typedef struct {
    float *features;
    int32_t *labels;
    int dim;
    int64_t at;
} array_sink;

static mbt_status to_arrays(void *ctx, const float *rows, const int32_t *labels, int n) {
    array_sink *a = ctx;
    memcpy(a->features + (size_t)a->at * a->dim, rows, (size_t)n * a->dim * sizeof(float));
    memcpy(a->labels + a->at, labels, (size_t)n * sizeof(int32_t));
    a->at += n;
    return MBT_OK;
}

mbt_status mbt_eval_extract_all(mbt_feature_extractor *fx, mbt_loader *loader, int64_t total, float *features,
                                int32_t *labels, const mbt_eval_progress *progress, const char *stage) {
    array_sink a = {features, labels, fx->dim, 0};
    return mbt_eval_extract(fx, loader, total, to_arrays, &a, progress, stage);
}

/* ---- standalone k-NN ---------------------------------------------------------------------------- */

void mbt_knn_eval_defaults(mbt_knn_eval_config *c) {
    memset(c, 0, sizeof *c);
    c->dataset = "cifar10";
    c->k = 200;
    c->temperature = 0.5;
    c->batch_size = 256;
    c->src = mbt_eval_source_defaults();
}

typedef struct {
    mbt_model *model;
    mbt_eval_data data;
    int data_open;
    mbt_feature_extractor fx;
    int fx_ready;
    mbt_loader *loader;
    float *bank, *queries;
    int32_t *bank_labels, *query_labels;
    mbt_knn_workspace ws;
    int ws_ready;
    mbt_knn_euclid_workspace euclid;
    int euclid_ready;
    int32_t *euclid_pred;
} knn_run;

static mbt_status extract_part(knn_run *r, mbt_eval_part part, int batch, int workers, float *features,
                               int32_t *labels, const mbt_eval_progress *progress, const char *stage) {
    mbt_loader_destroy(r->loader);
    r->loader = NULL;
    MBT_TRY(mbt_eval_data_loader(&r->data, part, batch, workers, &r->loader));
    return mbt_eval_extract_all(&r->fx, r->loader, mbt_eval_data_count(&r->data, part), features, labels, progress,
                                stage);
}

static mbt_status knn_body(knn_run *r, const mbt_knn_eval_config *c, const mbt_eval_progress *progress, FILE *log,
                           int32_t *pred, mbt_knn_eval_result *res) {
    MBT_CHECK_ARG(c->k >= 1, "--k %d: must be at least 1", c->k);
    MBT_CHECK_ARG(c->protocol == MBT_KNN_SSLSOTA || c->temperature > 0, "--t %g: must be positive", c->temperature);
    MBT_CHECK_ARG(c->protocol == MBT_KNN_REFERENCE || c->protocol == MBT_KNN_SSLSOTA, "knn: unknown protocol %d",
                  (int)c->protocol);
    MBT_CHECK_ARG(c->batch_size >= 1, "--batch-size %d: must be at least 1", c->batch_size);
    mbt_device device;
    MBT_TRY(mbt_device_open(c->src.device ? c->src.device : "cpu", "--device", &device));
    mbt_set_threads(c->src.threads > 0 ? c->src.threads : 1);
    mbt_eval_data_config dc = {c->dataset, c->src.data_dir, 0, c->src.subset, c->src.test_subset, 1, 1};
    MBT_TRY(mbt_eval_data_open(&r->data, &dc));
    r->data_open = 1;
    int64_t nb = mbt_eval_data_count(&r->data, MBT_EVAL_TRAIN), nt = mbt_eval_data_count(&r->data, MBT_EVAL_TEST);
    int64_t most = nb > nt ? nb : nt;
    int batch = c->batch_size < most ? c->batch_size : (int)most; /* no padding past the largest split */
    mbt_eval_model_options mo = {c->src.checkpoint, c->src.arch, batch, 0, 0};
    MBT_TRY(mbt_eval_model_load(&mo, &r->model, &res->model, log));
    mbt_eval_model_note_dataset(&res->model, c->dataset, log);
    MBT_TRY(mbt_eval_data_set_image_size(&r->data, res->model.config.image_size));
    const int sslsota = c->protocol == MBT_KNN_SSLSOTA;
    if (sslsota && mbt_sslsota_normalisation(c->dataset, r->data.recipe.mean, r->data.recipe.std) && log)
        fprintf(log, "k-NN: ssl-sota's %s normalisation\n", c->dataset);
    MBT_TRY(mbt_feature_extractor_init(&r->fx, r->model, sslsota ? MBT_FEAT_RAW : MBT_FEAT_BACKBONE, device));
    r->fx_ready = 1;
    int dim = r->fx.dim;
    r->bank = malloc((size_t)nb * dim * sizeof(float));
    r->queries = malloc((size_t)nt * dim * sizeof(float));
    r->bank_labels = malloc((size_t)nb * sizeof(int32_t));
    r->query_labels = malloc((size_t)nt * sizeof(int32_t));
    if (!r->bank || !r->queries || !r->bank_labels || !r->query_labels)
        return MBT_FAIL(MBT_ERR_NOMEM, "k-NN: cannot hold the features of %lld + %lld images", (long long)nb,
                        (long long)nt);
    double t0 = mbt_now();
    MBT_TRY(extract_part(r, MBT_EVAL_TRAIN, batch, c->src.workers, r->bank, r->bank_labels, progress, "bank"));
    MBT_TRY(extract_part(r, MBT_EVAL_TEST, batch, c->src.workers, r->queries, r->query_labels, progress, "test"));
    double t1 = mbt_now();
    res->k = c->k < nb ? c->k : (int)nb;
    res->num_classes = r->data.num_classes;
    if (log && res->k < c->k) fprintf(log, "k-NN: k = %d (the memory bank has %lld images)\n", res->k, (long long)nb);
    if (sslsota) {
        MBT_TRY(mbt_knn_euclid_init(&r->euclid, 256, (int)nb, dim, res->k, r->data.num_classes, MBT_DEVICE_CPU));
        r->euclid_ready = 1;
        if (pred && !(r->euclid_pred = malloc((size_t)nt * sizeof(int32_t))))
            return MBT_FAIL(MBT_ERR_NOMEM, "k-NN: out of memory for %lld predictions", (long long)nt);
        int64_t hits = 0;
        MBT_TRY(mbt_knn_euclid_classify(&r->euclid, r->bank, r->bank_labels, (int)nb, r->queries, r->query_labels,
                                        (int)nt, &hits, r->euclid_pred));
        for (int64_t i = 0; pred && i < nt; i++)
            for (int t = 0; t < MBT_KNN_TOPN; t++) pred[i * MBT_KNN_TOPN + t] = t ? -1 : r->euclid_pred[i];
        res->top1 = 100.0 * (double)hits / (double)nt;
        res->top5 = NAN;
    } else {
        MBT_TRY(mbt_knn_workspace_init(&r->ws, 256, (int)nb, dim, res->k, r->data.num_classes, MBT_DEVICE_CPU));
        r->ws_ready = 1;
        mbt_knn_counts counts;
        MBT_TRY(mbt_knn_classify(&r->ws, r->bank, r->bank_labels, (int)nb, r->queries, r->query_labels, (int)nt,
                                 (float)c->temperature, &counts, pred));
        res->top1 = 100.0 * (double)counts.top1 / (double)counts.total;
        res->top5 = 100.0 * (double)counts.top5 / (double)counts.total;
    }
    res->classify_seconds = mbt_now() - t1;
    res->extract_seconds = t1 - t0;
    res->bank = nb;
    res->test = nt;
    return MBT_OK;
}

mbt_status mbt_knn_eval_run(const mbt_knn_eval_config *c, const mbt_eval_progress *progress, FILE *log,
                            int32_t *pred, mbt_knn_eval_result *res) {
    memset(res, 0, sizeof *res);
    knn_run r;
    memset(&r, 0, sizeof r);
    mbt_status st = knn_body(&r, c, progress, log, pred, res);
    if (r.ws_ready) mbt_knn_workspace_free(&r.ws);
    if (r.euclid_ready) mbt_knn_euclid_free(&r.euclid);
    free(r.euclid_pred);
    free(r.bank);
    free(r.queries);
    free(r.bank_labels);
    free(r.query_labels);
    mbt_loader_destroy(r.loader);
    if (r.fx_ready) mbt_feature_extractor_free(&r.fx);
    if (r.data_open) mbt_eval_data_close(&r.data);
    mbt_model_destroy(r.model);
    return st;
}
