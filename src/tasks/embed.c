/* Writing a split's embeddings and labels as .npy files (see embed.h). */
#include "tasks/embed.h"

#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "core/runtime.h"
#include "io/npy.h"
#include "tasks/evaluate_data.h"

void mbt_embed_defaults(mbt_embed_config *c) {
    memset(c, 0, sizeof *c);
    c->dataset = "cifar10";
    c->batch_size = 256;
    c->src = mbt_eval_source_defaults();
}

mbt_status mbt_embed_labels_path(const char *out, char *buf, size_t size) {
    size_t n = out ? strlen(out) : 0;
    const char *base = out ? strrchr(out, '/') : NULL;
    base = base ? base + 1 : out;
    if (n < 4 || strcmp(out + n - 4, ".npy") || !strcmp(base, ".npy"))
        return MBT_FAIL(MBT_ERR_ARG, "--out %s: the features file must be named FILE.npy", out ? out : "(none)");
    if ((size_t)snprintf(buf, size, "%.*s_labels.npy", (int)(n - 4), out) >= size)
        return MBT_FAIL(MBT_ERR_ARG, "--out %s: path too long", out);
    return MBT_OK;
}

typedef struct {
    mbt_npy_writer *w;
    int64_t *labels;
    int dim;
    int64_t at;
} npy_sink;

static mbt_status to_npy(void *ctx, const float *rows, const int32_t *labels, int n) {
    npy_sink *s = ctx;
    for (int i = 0; i < n; i++) s->labels[s->at + i] = labels[i];
    s->at += n;
    return mbt_npy_writer_append(s->w, rows, (size_t)n * s->dim * sizeof(float));
}

mbt_status mbt_embed_run(const mbt_embed_config *c, const mbt_eval_progress *progress, FILE *log, mbt_embed_result *res) {
    memset(res, 0, sizeof *res);
    MBT_TRY(mbt_embed_labels_path(c->out, res->labels_path, sizeof res->labels_path));
    MBT_CHECK_ARG(c->batch_size >= 1, "--batch-size %d: must be at least 1", c->batch_size);
    mbt_device device;
    MBT_TRY(mbt_device_open(c->src.device ? c->src.device : "cpu", "--device", &device));
    double t0 = mbt_now();
    mbt_set_threads(c->src.threads > 0 ? c->src.threads : 1);
    mbt_eval_part part = c->test_split ? MBT_EVAL_TEST : MBT_EVAL_TRAIN;
    mbt_eval_data data;
    mbt_eval_data_config dc = {c->dataset, c->src.data_dir, 0, c->src.subset, c->src.subset, !c->test_split, c->test_split};
    MBT_TRY(mbt_eval_data_open(&data, &dc));
    int64_t rows = mbt_eval_data_count(&data, part);
    int batch = c->batch_size < rows ? c->batch_size : (int)rows;
    mbt_model *model = NULL;
    mbt_eval_model_options mo = {c->src.checkpoint, c->src.arch, batch, 0, c->head};
    mbt_status st = mbt_eval_model_load(&mo, &model, &res->model, log);
    if (st == MBT_OK) mbt_eval_model_note_dataset(&res->model, c->dataset, log);
    if (st == MBT_OK) st = mbt_eval_data_set_image_size(&data, res->model.config.image_size);
    mbt_feature_extractor fx = {0};
    mbt_loader *loader = NULL;
    int64_t *labels = NULL;
    mbt_npy_writer w = {0};
    if (st == MBT_OK) st = mbt_feature_extractor_init(&fx, model, c->head ? MBT_FEAT_HEAD : MBT_FEAT_BACKBONE, device);
    if (st == MBT_OK) st = mbt_eval_data_loader(&data, part, batch, c->src.workers, &loader);
    if (st == MBT_OK) {
        labels = malloc((size_t)rows * sizeof(int64_t));
        if (!labels) st = MBT_FAIL(MBT_ERR_NOMEM, "embed: out of memory for %lld labels", (long long)rows);
    }
    int64_t shape[2] = {rows, fx.dim};
    if (st == MBT_OK) st = mbt_npy_writer_open(&w, c->out, MBT_DTYPE_F32, 2, shape);
    if (st == MBT_OK) {
        npy_sink s = {&w, labels, fx.dim, 0};
        st = mbt_eval_extract(&fx, loader, rows, to_npy, &s, progress, part == MBT_EVAL_TEST ? "test" : "train");
    }
    if (st == MBT_OK) st = mbt_npy_write(res->labels_path, MBT_DTYPE_I64, 1, shape, labels);
    if (st == MBT_OK) st = mbt_npy_writer_commit(&w);
    else mbt_npy_writer_abort(&w);
    res->rows = rows;
    res->dim = fx.dim;
    res->seconds = mbt_now() - t0;
    free(labels);
    mbt_loader_destroy(loader);
    if (fx.model) mbt_feature_extractor_free(&fx);
    mbt_eval_data_close(&data);
    mbt_model_destroy(model);
    return st;
}
