/* The pretraining loop: schedule, Mixed BT steps, k-NN monitor, metrics, checkpoints, resume. The model,
 * the step and Adam run on --device; the loader's host batches are copied there (tasks/device_batch.h);
 * the k-NN monitor extracts features there and classifies on the host; checkpoints go through the host. */
#include "tasks/pretrain.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/device.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "data/loader.h"
#include "io/atomic_file.h"
#include "io/read_file.h"
#include "models/mlp_head.h"
#include "optim/adam.h"
#include "optim/schedule.h"
#include "tasks/cost_report.h"
#include "tasks/device_batch.h"
#include "tasks/knn_classify.h"
#include "tasks/knn_euclid.h"
#include "tasks/method.h"
#include "tasks/plot_run.h"
#include "tasks/pretrain_config.h"
#include "tasks/pretrain_data.h"
#include "tasks/pretrain_init.h"
#include "tasks/run_folder.h"
#include "tasks/train_checkpoint.h"

static void join(char *buf, size_t size, const char *dir, const char *name) { snprintf(buf, size, "%s/%s", dir, name); }

/* ---- the run ----------------------------------------------------------------------------------- */

typedef struct {
    mbt_pretrain_config cfg;
    const char *dir;
    const mbt_pretrain_observer *observer;
    mbt_pretrain_data *data;
    mbt_device device;
    mbt_method *method;
    mbt_model *model;        /* the method's online backbone (the k-NN monitor's) */
    mbt_device_batch input;  /* the views on the model's device */
    mbt_plan dev_plan;       /* CUDA: the k-NN monitor's features on the device */
    float *dev_features;     /* [batch, emb] */
    mbt_plan opt_plan;
    mbt_adam_state adam[MBT_METHOD_MAX_SEGMENTS]; /* one per parameter segment of the method */
    mbt_checkpoint_optim optim[MBT_METHOD_MAX_SEGMENTS];
    mbt_checkpoint_state ckpt; /* the method's entries and the optimizer states */
    mbt_adam_config adam_cfg;
    mbt_train_position pos;
    mbt_epoch_sums sums;     /* of the epoch in progress (saved with it) */
    char *config_json;
    FILE *metrics;
    int64_t steps_per_epoch;
    double start_time, elapsed_before;
    /* k-NN monitor */
    int knn_ready;
    int sslsota_knn;         /* the baselines: ssl-sota's Euclidean k-NN on raw features (top-1 only) */
    mbt_knn_workspace knn;
    mbt_knn_euclid_workspace knn_euclid;
    float *bank, *queries;
    int32_t *bank_labels, *query_labels;
    int bank_size, test_size;
} run;

/* "50,25" (commas or spaces) into drop[]; MBT_ERR_ARG naming --drop on bad text. */
static mbt_status parse_drop(const char *text, mbt_sslsota_sched *s) {
    s->n_drop = 0;
    const char *p = text ? text : "";
    for (;;) {
        while (*p == ',' || *p == ' ') p++;
        if (!*p) return MBT_OK;
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p || d < 0 || d > 1000000)
            return MBT_FAIL(MBT_ERR_ARG, "--drop '%s': expected epochs before the end, e.g. 50,25", text);
        if (s->n_drop == MBT_SSLSOTA_MAX_DROPS)
            return MBT_FAIL(MBT_ERR_ARG, "--drop '%s': at most %d values", text, MBT_SSLSOTA_MAX_DROPS);
        s->drop[s->n_drop++] = (int)d;
        p = end;
    }
}

/* The baselines' schedule (train.py) from the run's configuration. */
static mbt_status sslsota_sched_of(const mbt_pretrain_config *c, mbt_sslsota_sched *s) {
    *s = mbt_sslsota_sched_defaults();
    s->lr = c->lr;
    s->epochs = c->epochs;
    s->warmup = !c->no_lr_warmup;
    const char *mode = c->lr_step ? c->lr_step : "step";
    if (!strcmp(mode, "cos")) s->mode = MBT_SSLSOTA_LR_COS;
    else if (!strcmp(mode, "none")) s->mode = MBT_SSLSOTA_LR_NONE;
    else if (!strcmp(mode, "step")) s->mode = MBT_SSLSOTA_LR_STEP;
    else return MBT_FAIL(MBT_ERR_ARG, "--lr-step %s: expected cos, step or none", mode);
    MBT_TRY(parse_drop(c->drop, s));
    s->drop_gamma = c->drop_gamma;
    s->t0 = c->t0;
    s->tmult = c->tmult;
    s->eta_min = c->eta_min;
    return mbt_sslsota_sched_check(s);
}

static int is_baseline(const mbt_pretrain_config *c) {
    mbt_method_kind kind;
    return mbt_method_parse(c->method ? c->method : "mixbt", &kind) == MBT_OK && mbt_method_is_baseline(kind);
}

double mbt_pretrain_lr(const mbt_pretrain_config *c, int64_t steps_per_epoch, int epoch, int64_t i) {
    if (is_baseline(c)) { /* train.py: step k = ep * iters + i with its epoch ep from 0 */
        mbt_sslsota_sched s;
        if (sslsota_sched_of(c, &s) != MBT_OK) return NAN; /* checked at the run's setup */
        return mbt_sched_sslsota_lr((int64_t)(epoch - 1) * steps_per_epoch + i, epoch - 1, i, steps_per_epoch, &s);
    }
    if (!strcmp(c->lr_schedule, "step")) {
        int milestones[2] = {c->epochs - 50, c->epochs - 25};
        return mbt_sched_multistep(1e-3, 0.2, milestones, 2, epoch - 1);
    }
    /* the reference's step counter (SPEC quirk 1: it starts one epoch in) */
    int64_t s = mbt_sched_small_data_step(epoch, steps_per_epoch, i);
    return mbt_sched_cosine(s, steps_per_epoch, c->epochs, c->warmup_epochs, c->batch_size) * c->lr;
}

static void emit(const run *r, const mbt_pretrain_event *e) {
    if (r->observer && r->observer->fn) r->observer->fn(e, r->observer->ctx);
}

/* A NOTE event: one line of information. */
static void note(const run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const run *r, const char *fmt, ...) {
    char line[4608];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit(r, &(mbt_pretrain_event){.kind = MBT_PRETRAIN_NOTE, .text = line});
}

/* Lines that a reporting function of a lower layer writes to a stream, turned into note events: open a
 * memory stream, hand it over, then emit what it holds (a NULL stream when none can be made: the
 * functions take NULL as "say nothing"). */
typedef struct {
    FILE *f;
    char *text;
    size_t len;
} note_capture;

static FILE *capture_begin(note_capture *c) {
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->text, &c->len);
    return c->f;
}

static void capture_end(const run *r, note_capture *c) {
    if (c->f) fclose(c->f);
    char *save = NULL;
    for (char *line = c->text ? strtok_r(c->text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
        emit(r, &(mbt_pretrain_event){.kind = MBT_PRETRAIN_NOTE, .text = line});
    free(c->text);
    memset(c, 0, sizeof *c);
}

/* A k-NN feature pass's progress. */
typedef struct {
    const char *phase; /* "the k-NN pass after epoch 3"; events name it "k-NN pass ..." */
    int64_t done, total;
    double t0;
} pass_progress;

static void pass_event(const run *r, const pass_progress *p, const char *detail) {
    double now = mbt_now(), rate = now > p->t0 ? p->done / (now - p->t0) : 0;
    emit(r, &(mbt_pretrain_event){.kind = MBT_PRETRAIN_PASS, .text = p->phase + 4, .detail = detail, .done = p->done,
                                  .total = p->total, .images_per_s = rate,
                                  .eta_s = rate > 0 ? (p->total - p->done) / rate : 0.0});
}

static mbt_status extract(run *r, mbt_eval_split split, pass_progress *pp, float *features, int32_t *labels,
                          int *count) {
    int total;
    MBT_TRY(mbt_pretrain_data_eval_begin(r->data, split, &total));
    int emb = mbt_model_embedding_dim(mbt_model_get_config(r->model)->arch), at = 0;
    for (;;) {
        MBT_TRY(mbt_stop_check(pp->phase)); /* once per batch: a full CIFAR-10 pass takes minutes */
        const float *x;
        const int32_t *y;
        int n;
        MBT_TRY(mbt_pretrain_data_eval_next(r->data, &x, &y, &n));
        if (n == 0) break;
        if (at + n > total) return MBT_FAIL(MBT_ERR_ARG, "k-NN monitor: the pass gave more than %d images", total);
        const float *xd;
        size_t per_image = (size_t)3 * mbt_model_get_config(r->model)->image_size * mbt_model_get_config(r->model)->image_size;
        MBT_TRY(mbt_device_batch_put(&r->input, 0, x, (size_t)n * per_image, &xd));
        float *dst = r->device == MBT_DEVICE_CPU ? features + (size_t)at * emb : r->dev_features;
        if (r->sslsota_knn) MBT_TRY(mbt_model_forward_eval_raw(r->model, n, xd, dst, NULL));
        else MBT_TRY(mbt_model_forward_eval(r->model, n, xd, dst, NULL));
        if (dst != features + (size_t)at * emb) /* the k-NN itself runs on the host */
            MBT_TRY(mbt_device_to_host(r->device, features + (size_t)at * emb, dst, (size_t)n * emb * sizeof(float)));
        memcpy(labels + at, y, (size_t)n * sizeof *y);
        at += n;
        pp->done += n;
        pass_event(r, pp, NULL);
    }
    *count = at;
    return MBT_OK;
}

/* The k-NN monitor after `epoch` (0: before training). A stop during it returns MBT_ERR_INTERRUPTED. */
static mbt_status knn_monitor(run *r, int epoch, double *top1, double *top5) {
    int emb = mbt_model_embedding_dim(mbt_model_get_config(r->model)->arch);
    if (!r->knn_ready) {
        MBT_TRY(mbt_pretrain_data_eval_begin(r->data, MBT_EVAL_BANK, &r->bank_size));
        MBT_TRY(mbt_pretrain_data_eval_begin(r->data, MBT_EVAL_TEST, &r->test_size));
        int k = r->cfg.knn_k < r->bank_size ? r->cfg.knn_k : r->bank_size;
        r->bank = malloc((size_t)r->bank_size * emb * sizeof(float));
        r->queries = malloc((size_t)r->test_size * emb * sizeof(float));
        r->bank_labels = malloc((size_t)r->bank_size * sizeof(int32_t));
        r->query_labels = malloc((size_t)r->test_size * sizeof(int32_t));
        if (!r->bank || !r->queries || !r->bank_labels || !r->query_labels)
            return MBT_FAIL(MBT_ERR_NOMEM, "k-NN monitor: cannot hold %d + %d features", r->bank_size, r->test_size);
        r->sslsota_knn = is_baseline(&r->cfg);
        if (r->sslsota_knn)
            MBT_TRY(mbt_knn_euclid_init(&r->knn_euclid, 256, r->bank_size, emb, k, mbt_pretrain_data_num_classes(r->data),
                                        MBT_DEVICE_CPU));
        else
            MBT_TRY(mbt_knn_workspace_init(&r->knn, 256, r->bank_size, emb, k, mbt_pretrain_data_num_classes(r->data),
                                           MBT_DEVICE_CPU));
        r->knn_ready = 1;
    }
    char what[64];
    if (epoch == 0) snprintf(what, sizeof what, "the k-NN pass before training");
    else snprintf(what, sizeof what, "the k-NN pass after epoch %d", epoch);
    pass_progress pp = {what, 0, (int64_t)r->bank_size + r->test_size, mbt_now()};
    char detail[96];
    snprintf(detail, sizeof detail, "features of %d bank + %d test images", r->bank_size, r->test_size);
    pass_event(r, &pp, detail);
    int nb, nt;
    MBT_TRY(extract(r, MBT_EVAL_BANK, &pp, r->bank, r->bank_labels, &nb));
    MBT_TRY(extract(r, MBT_EVAL_TEST, &pp, r->queries, r->query_labels, &nt));
    MBT_TRY(mbt_stop_check(what));
    if (r->sslsota_knn) { /* ssl-sota's monitor (eval/knn.py): top-1 only */
        int64_t hits;
        MBT_TRY(mbt_knn_euclid_classify(&r->knn_euclid, r->bank, r->bank_labels, nb, r->queries, r->query_labels, nt,
                                        &hits, NULL));
        *top1 = 100.0 * (double)hits / (double)nt;
        *top5 = -1;
        return MBT_OK;
    }
    mbt_knn_counts counts;
    mbt_status st = mbt_knn_classify(&r->knn, r->bank, r->bank_labels, nb, r->queries, r->query_labels, nt,
                                     (float)r->cfg.knn_t, &counts, NULL);
    if (st == MBT_ERR_INTERRUPTED) return mbt_stop_check(what); /* the message names the pass */
    MBT_TRY(st);
    *top1 = 100.0 * (double)counts.top1 / (double)counts.total;
    *top5 = 100.0 * (double)counts.top5 / (double)counts.total;
    return MBT_OK;
}

static mbt_status save(run *r, const char *name) {
    char path[4096];
    join(path, sizeof path, r->dir, name);
    MBT_TRY(mbt_method_params_to_host(r->method)); /* the entries are host memory; on a GPU, refresh them */
    return mbt_checkpoint_save_state(path, &r->ckpt, &r->pos, &r->sums, r->config_json);
}

/* The metrics.csv columns of the loss values: each value's, then their sum "loss" (when several). */
static void metrics_loss_header(const mbt_method *m, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < m->n_values; i++) at += (size_t)snprintf(buf + at, size - at, "%s,", m->value_names[i]);
    if (m->n_values > 1) snprintf(buf + at, size - at, "loss,");
}

/* A resumed run continues its metrics.csv from the checkpoint's epoch (later rows are a crashed run's). */
static mbt_status open_metrics(run *r, int fresh) {
    char losses[160], header[256];
    metrics_loss_header(r->method, losses, sizeof losses);
    snprintf(header, sizeof header, "epoch,step,lr,%sknn_top1,knn_top5,images_per_s,elapsed_s", losses);
    return mbt_run_metrics_open(r->dir, header, fresh, r->pos.epoch, &r->metrics);
}

/* mean: the epoch's mean loss values (NULL: none, the row of epoch 0). */
static mbt_status metrics_row(run *r, int epoch, double lr, const double *mean, double top1, double top5, double ips) {
    /* empty fields where there is nothing to report (no k-NN this epoch; no step yet on the row of epoch 0) */
    const mbt_method *m = r->method;
    char k1[32] = "", k5[32] = "", losses[192] = "";
    if (top1 >= 0) {
        snprintf(k1, sizeof k1, "%.2f", top1);
        if (top5 >= 0) snprintf(k5, sizeof k5, "%.2f", top5); /* the baselines' monitor has none */
    }
    size_t at = 0;
    double total = 0;
    for (int i = 0; i < m->n_values; i++) {
        if (mean) total += mean[i];
        if (mean) at += (size_t)snprintf(losses + at, sizeof losses - at, "%s%.6f", i ? "," : "", mean[i]);
        else at += (size_t)snprintf(losses + at, sizeof losses - at, "%s", i ? "," : "");
    }
    if (m->n_values > 1) {
        if (mean) snprintf(losses + at, sizeof losses - at, ",%.6f", total);
        else snprintf(losses + at, sizeof losses - at, ",");
    }
    char row[512];
    snprintf(row, sizeof row, "%d,%lld,%.8g,%s,%s,%s,%.2f,%.1f", epoch, (long long)r->pos.step, lr, losses, k1, k5, ips,
             r->elapsed_before + mbt_now() - r->start_time);
    return mbt_run_metrics_row(r->metrics, r->dir, row);
}

/* What the method computes, from the run's configuration (image_size: the data's). */
static mbt_status method_config_of(const mbt_pretrain_config *c, mbt_arch arch, int image_size, mbt_method_config *m) {
    mbt_method_config_defaults(m);
    MBT_TRY(mbt_method_parse(c->method ? c->method : "mixbt", &m->kind));
    m->n_views = c->num_samples;
    m->emb = c->emb;
    m->head_size = c->head_size;
    m->head_layers = c->head_layers;
    m->normalize = !c->no_norm;
    m->tau = c->tau;
    m->byol_tau = c->byol_tau;
    m->w_size = c->w_size;
    m->w_iter = c->w_iter;
    m->w_eps = c->w_eps;
    m->arch = arch;
    m->image_size = image_size;
    m->batch = c->batch_size;
    m->seed = c->seed;
    m->feature_dim = c->feature_dim;
    m->lambda_bt = c->lambda_bt;
    m->lambda_reg = c->lambda_reg;
    return MBT_OK;
}

/* The method's settings that a run cannot start with, as one-line errors (before any folder is made). */
static mbt_status check_method(const mbt_pretrain_config *c) {
    mbt_method_kind kind;
    MBT_TRY(mbt_method_parse(c->method ? c->method : "mixbt", &kind));
    if (!mbt_method_is_baseline(kind)) return MBT_OK;
    mbt_sslsota_sched s;
    MBT_TRY(sslsota_sched_of(c, &s));
    if (c->num_samples < 2 || c->num_samples > MBT_METHOD_MAX_VIEWS)
        return MBT_FAIL(MBT_ERR_ARG, "--num-samples %d: --method %s needs 2 to %d views", c->num_samples,
                        mbt_method_name(kind), MBT_METHOD_MAX_VIEWS);
    if (kind == MBT_METHOD_WMSE && (c->w_size < 2 || c->batch_size % c->w_size != 0))
        return MBT_FAIL(MBT_ERR_ARG, "--w-size %d does not divide --batch-size %d", c->w_size, c->batch_size);
    if (c->head_layers < 1 || c->head_layers > MBT_HEAD_MAX_HIDDEN + 1)
        return MBT_FAIL(MBT_ERR_ARG, "--head-layers %d: expected 1 to %d", c->head_layers, MBT_HEAD_MAX_HIDDEN + 1);
    return MBT_OK;
}

/* The cost report (*cost, and a record in config.json), the --init-from weights (a new run) or the
 * record of them (a resumed run: from its config.json `tree`), and r->config_json with both. */
static mbt_status start_records(run *r, const mbt_method_config *mcfg, const cJSON *tree, mbt_cost_report *cost) {
    MBT_TRY(mbt_cost_report_method(mcfg, cost));
    void *init = NULL;
    if (r->cfg.init_from) {
        MBT_TRY(mbt_method_params_to_host(r->method)); /* the entries a --no-strict load leaves are current */
        note_capture cap;
        mbt_status st = mbt_pretrain_init_load(&r->cfg, r->method->entries, r->method->n_entries, capture_begin(&cap),
                                               &init);
        capture_end(r, &cap);
        MBT_TRY(st);
        st = mbt_method_params_to_device(r->method);
        if (st != MBT_OK) cJSON_Delete(init);
        MBT_TRY(st);
    }
    mbt_config_record records[2] = {{"cost", mbt_cost_report_json(cost)},
                                    {"init_from", init ? init : cJSON_GetObjectItemCaseSensitive(tree, "init_from")}};
    r->config_json = mbt_pretrain_config_to_json_with(&r->cfg, records, 2);
    cJSON_Delete((cJSON *)records[0].object);
    cJSON_Delete(init);
    return r->config_json ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "pretrain: no memory for config.json");
}

/* "a run (use --resume DIR to continue it)": what a used run folder holds, for its refusal. */
static const char *run_holds(const char *dir, char *buf, size_t size) {
    snprintf(buf, size, "a run (use --resume %s to continue it)", dir);
    return buf;
}

static mbt_status setup(run *r, const mbt_pretrain_config *given, cJSON **tree) {
    int resume = given->resume_dir != NULL;
    MBT_TRY(mbt_pretrain_init_check(given));
    if (!resume) MBT_TRY(check_method(given));
    /* the device first: a run that cannot start leaves no folder behind */
    MBT_TRY(mbt_device_open(given->device ? given->device : "cpu", "--device", &r->device));
    mbt_precision precision;
    MBT_TRY(mbt_precision_parse(given->precision ? given->precision : "fp32", &precision));
    if (precision == MBT_PRECISION_BF16 && r->device != MBT_DEVICE_CUDA) /* before the model would say so: no folder */
        return MBT_FAIL(MBT_ERR_ARG, "--precision bf16 needs --device cuda (the CPU backend computes in fp32)");
    if (!resume && !strcmp(given->lr_schedule, "cosine") && given->warmup_epochs == given->epochs)
        return MBT_FAIL(MBT_ERR_ARG, "--warmup-epochs %d equals --epochs: the cosine after the warm-up would span no steps",
                        given->warmup_epochs);
    r->cfg = *given;
    r->dir = resume ? given->resume_dir : given->out_dir;
    char path[4096];
    join(path, sizeof path, r->dir, "config.json");
    if (resume) { /* the recipe from the run folder; how to run (threads, device, ...) from this command */
        void *text = NULL;
        size_t len;
        MBT_TRY(mbt_read_file(path, 1 << 24, &text, &len));
        mbt_status st = mbt_pretrain_config_from_json(path, text, &r->cfg, (void **)tree);
        free(text);
        MBT_TRY(st);
        r->cfg.out_dir = given->resume_dir;
    } else { /* a used folder is refused now; the folder is made once the run can start (--init-from read) */
        char holds[4200];
        MBT_TRY(mbt_run_folder_check(r->dir, "config.json", run_holds(r->dir, holds, sizeof holds)));
    }
    const mbt_pretrain_config *c = &r->cfg;
    if (resume) MBT_TRY(check_method(c));
    mbt_set_threads(c->threads);
    mbt_arch arch;
    MBT_TRY(mbt_arch_parse(c->arch, &arch));
    MBT_TRY(mbt_pretrain_data_open(&r->data, c, c->batch_size, r->device));
    r->steps_per_epoch = mbt_pretrain_data_steps_per_epoch(r->data);
    if (r->steps_per_epoch < 1)
        return MBT_FAIL(MBT_ERR_ARG, "--batch-size %d is larger than the training set", c->batch_size);
    mbt_method_config mcfg;
    MBT_TRY(method_config_of(c, arch, mbt_pretrain_data_image_size(r->data), &mcfg));
    MBT_TRY(mbt_method_create(&r->method, &mcfg, r->device, precision));
    r->model = r->method->model;
    _Static_assert(MBT_DEVICE_BATCH_MAX_VIEWS >= MBT_METHOD_MAX_VIEWS && MBT_LOADER_MAX_VIEWS >= MBT_METHOD_MAX_VIEWS,
                   "the loaders and the device batch carry every view a step takes");
    if (mbt_pretrain_data_views(r->data) != r->method->n_views)
        return MBT_FAIL(MBT_ERR_ARG, "pretrain: the data gives %d views per image, the method takes %d",
                        mbt_pretrain_data_views(r->data), r->method->n_views);
    size_t view_numel = (size_t)c->batch_size * 3 * mcfg.image_size * mcfg.image_size;
    MBT_TRY(mbt_device_batch_init(&r->input, r->device, r->method->n_views, view_numel));
    mbt_plan_init(&r->dev_plan, r->device);
    if (r->device != MBT_DEVICE_CPU) {
        mbt_plan_floats(&r->dev_plan, &r->dev_features, (size_t)c->batch_size * mbt_model_embedding_dim(arch));
        MBT_TRY(mbt_plan_commit(&r->dev_plan));
    }
    mbt_plan_init(&r->opt_plan, r->device); /* Adam runs where the parameters are */
    const mbt_method *m = r->method;
    for (int k = 0; k < m->n_segments; k++) {
        mbt_adam_plan(&r->adam[k], &r->opt_plan, m->segments[k].n);
        r->optim[k] = (mbt_checkpoint_optim){m->segments[k].name, &r->adam[k]};
    }
    MBT_TRY(mbt_plan_commit(&r->opt_plan));
    r->ckpt = (mbt_checkpoint_state){m->entries, m->n_entries, mbt_arch_name(arch), r->optim, m->n_segments};
    r->adam_cfg = mbt_adam_defaults();
    r->adam_cfg.weight_decay = (float)c->weight_decay;
    r->sums.n_values = m->n_values;
    for (int i = 0; i < m->n_values; i++) r->sums.names[i] = m->value_names[i];
    mbt_cost_report cost;
    MBT_TRY(start_records(r, &mcfg, *tree, &cost));
    r->pos = (mbt_train_position){0, 0, 0, -1, c->seed};
    if (resume) {
        join(path, sizeof path, r->dir, "last.safetensors");
        MBT_TRY(mbt_checkpoint_load_state(path, &r->ckpt, &r->pos, &r->sums, NULL));
        MBT_TRY(mbt_method_params_to_device(r->method));
        note(r, "resuming %s at epoch %d, step %lld", r->dir, r->pos.epoch + (r->pos.batch_in_epoch > 0),
                (long long)r->pos.step);
    } else {
        char holds[4200];
        MBT_TRY(mbt_run_folder_create(r->dir, "config.json", run_holds(r->dir, holds, sizeof holds)));
        MBT_TRY(mbt_atomic_write_text(path, r->config_json));
    }
    if (r->device != MBT_DEVICE_CPU)
        note(r, "training on %s with %s activations", given->device, mbt_precision_name(precision));
    size_t on_device = mbt_pretrain_data_device_bytes(r->data);
    if (on_device)
        note(r, "training images kept on %s (%.1f MiB) and augmented there", given->device ? given->device : "cpu",
                on_device / 1048576.0);
    MBT_TRY(open_metrics(r, !resume));
    note_capture cap; /* the cost table, once the run starts: a refused one says one line */
    mbt_cost_report_print(&cost, capture_begin(&cap));
    capture_end(r, &cap);
    return MBT_OK;
}

static void teardown(run *r) {
    if (r->metrics) fclose(r->metrics);
    if (r->knn_ready && r->sslsota_knn) mbt_knn_euclid_free(&r->knn_euclid);
    else if (r->knn_ready) mbt_knn_workspace_free(&r->knn);
    free(r->bank);
    free(r->queries);
    free(r->bank_labels);
    free(r->query_labels);
    free(r->config_json);
    mbt_device_batch_free(&r->input);
    mbt_plan_free(&r->dev_plan);
    mbt_plan_free(&r->opt_plan);
    mbt_method_destroy(r->method);
    mbt_pretrain_data_close(r->data);
}

/* The rate's clock: the epoch's start and the step count then. */
typedef struct {
    double t0;
    int64_t first_step; /* r->pos.step when the epoch (or its resumed part) began */
} epoch_clock;

/* Collects the losses of the step queued as batch i of `epoch` (global step count `step` after it, at
 * learning rate lr): the non-finite check, the epoch's sums and the progress line. */
static mbt_status account_step(run *r, int epoch, int64_t i, int64_t step, double lr, epoch_clock *k) {
    const mbt_pretrain_config *c = &r->cfg;
    const mbt_method *m = r->method;
    double v[MBT_METHOD_MAX_VALUES], loss = 0;
    MBT_TRY(mbt_method_collect(r->method, v));
    int finite = 1;
    for (int j = 0; j < m->n_values; j++) {
        loss += v[j];
        finite = finite && isfinite(v[j]);
    }
    char parts[160]; /* " (bt 1.2345 reg 0.1234)": each value by its name without "loss_" */
    mbt_method_values_text(m->value_names, v, m->n_values, ", ", "%g", parts, sizeof parts);
    if (!finite)
        return MBT_FAIL(MBT_ERR_NUMERIC, "loss is %g%s at epoch %d, step %lld", loss, parts, epoch, (long long)(step - 1));
    for (int j = 0; j < m->n_values; j++) r->sums.sums[j] += v[j];
    r->sums.steps++;
    double now = mbt_now();
    /* the rate over the epoch so far: steady, and defined for events back to back */
    double ips = now > k->t0 ? (double)(step - k->first_step) * c->batch_size / (now - k->t0) : 0;
    double left = (double)((int64_t)c->epochs * r->steps_per_epoch - step) * c->batch_size / (ips > 0 ? ips : 1);
    emit(r, &(mbt_pretrain_event){.kind = MBT_PRETRAIN_STEP, .epoch = epoch, .epochs = c->epochs, .batch = i + 1,
                                  .batches = r->steps_per_epoch, .step = step, .last_of_epoch = i + 1 == r->steps_per_epoch,
                                  .loss = loss, .lr = lr, .n_values = m->n_values, .value_names = m->value_names,
                                  .values = v, .images_per_s = ips, .eta_s = left});
    return MBT_OK;
}

/* Trains epoch `epoch` from its batch r->pos.batch_in_epoch, summing its losses into r->sums; *steps:
 * the steps run here. Each step is queued (on a GPU the host does not wait for it) and its losses are
 * collected after the next step is queued, so the device always has work; the last one before
 * returning, also on a stop (polled before each step). */
static mbt_status train_epoch(run *r, int epoch, int64_t *steps) {
    const mbt_pretrain_config *c = &r->cfg;
    mbt_method *m = r->method;
    MBT_TRY(mbt_pretrain_data_start_epoch(r->data, epoch, r->pos.batch_in_epoch));
    epoch_clock k = {mbt_now(), r->pos.step};
    int64_t pending = -1, pending_step = 0; /* the batch whose losses are not collected yet */
    double pending_lr = 0;
    char phase[64];
    snprintf(phase, sizeof phase, "training (epoch %d)", epoch);
    mbt_status st = MBT_OK;
    for (int64_t i = r->pos.batch_in_epoch; st == MBT_OK && i < r->steps_per_epoch; i++) {
        if ((st = mbt_stop_check(phase)) != MBT_OK) break;
        if (c->max_steps && r->pos.step >= c->max_steps) {
            st = MBT_FAIL(MBT_ERR_INTERRUPTED, "reached --max-steps %lld", (long long)c->max_steps);
            break;
        }
        const float *views[MBT_LOADER_MAX_VIEWS] = {NULL};
        int on_device;
        /* after an error here the pending step is still collected below: on a GPU it may be running */
        if ((st = mbt_pretrain_data_next_views(r->data, views, &on_device)) != MBT_OK) break;
        /* host batches: copied to the model's device (a pass-through on the CPU) */
        for (int v = 0; !on_device && st == MBT_OK && v < m->n_views; v++)
            st = mbt_device_batch_put(&r->input, v, views[v], r->input.numel, &views[v]);
        if (st != MBT_OK) break;
        double lr = mbt_pretrain_lr(c, r->steps_per_epoch, epoch, i);
        r->adam_cfg.lr = (float)lr;
        mbt_method_step_info info = {r->pos.step, epoch, c->epochs, NULL};
        if ((st = mbt_method_queue(m, views, &info)) != MBT_OK) {
            if (st == MBT_ERR_NUMERIC) { /* non-finite outputs, found by the loss before the check on its value */
                char msg[512];
                snprintf(msg, sizeof msg, "%s", mbt_error_message());
                st = MBT_FAIL(st, "%s at epoch %d, step %lld", msg, epoch, (long long)r->pos.step);
            }
            break;
        }
        for (int k = 0; st == MBT_OK && k < m->n_segments; k++)
            st = mbt_adam_step(&r->adam[k], &r->adam_cfg, m->segments[k].params, m->segments[k].grads);
        if (st == MBT_OK) st = mbt_method_after_update(m, &info);
        if (st != MBT_OK) break;
        r->pos.step++;
        r->pos.batch_in_epoch = i + 1;
        (*steps)++;
        if (pending >= 0) st = account_step(r, epoch, pending, pending_step, pending_lr, &k);
        pending = i;
        pending_step = r->pos.step;
        pending_lr = lr;
    }
    if (pending >= 0) {
        mbt_status last = account_step(r, epoch, pending, pending_step, pending_lr, &k);
        if (st == MBT_OK || (st == MBT_ERR_INTERRUPTED && last != MBT_OK)) st = last; /* a bad loss wins over a stop */
    }
    emit(r, &(mbt_pretrain_event){.kind = MBT_PRETRAIN_EPOCH_END, .epoch = epoch, .epochs = c->epochs});
    return st;
}

/* The sums of a new epoch: zero, the names kept. */
static void clear_sums(mbt_epoch_sums *s) {
    for (int j = 0; j < MBT_EPOCH_MAX_VALUES; j++) s->sums[j] = 0;
    s->steps = 0;
    s->knn_before_pending = 0;
}

/* Where r->pos stands: "epoch 2, batch 5 of 16, step 21", "end of epoch 3, step 48", ... */
static void describe_position(const run *r, char *buf, size_t size) {
    const mbt_train_position *p = &r->pos;
    if (p->batch_in_epoch == r->steps_per_epoch) /* trained, the end of the epoch not done */
        snprintf(buf, size, "epoch %d trained, step %lld", p->epoch + 1, (long long)p->step);
    else if (p->batch_in_epoch > 0)
        snprintf(buf, size, "epoch %d, batch %lld of %lld, step %lld", p->epoch + 1, (long long)p->batch_in_epoch,
                 (long long)r->steps_per_epoch, (long long)p->step);
    else if (p->epoch > 0) snprintf(buf, size, "end of epoch %d, step %lld", p->epoch, (long long)p->step);
    else snprintf(buf, size, "before training, step 0");
}

/* "RUN/last.safetensors (end of epoch 3, step 48)", for the message after a bad loss. The file holds the
 * position of the last completed epoch or stop (r->pos has moved on since, within the epoch). */
static void last_checkpoint(run *r, char *buf, size_t size) {
    char path[4096];
    join(path, sizeof path, r->dir, "last.safetensors");
    mbt_train_position pos;
    if (access(path, F_OK) != 0 || mbt_checkpoint_read_position(path, &pos) != MBT_OK) {
        snprintf(buf, size, "none was written yet");
        return;
    }
    run at = *r;
    at.pos = pos;
    char where[160];
    describe_position(&at, where, sizeof where);
    snprintf(buf, size, "%s (%s)", path, where);
}

/* After a stop (a signal, or --max-steps; the message already set): saves last.safetensors at the
 * position reached and returns MBT_ERR_INTERRUPTED with the whole message; after a failed save, its
 * error. `again`: the k-NN pass cut short runs again on resume. */
static mbt_status stop_with_checkpoint(run *r, int again) {
    char msg[512], where[160];
    snprintf(msg, sizeof msg, "%s", mbt_error_message());
    MBT_TRY(save(r, "last.safetensors"));
    describe_position(r, where, sizeof where);
    return MBT_FAIL(MBT_ERR_INTERRUPTED, "%s; last checkpoint: %s/last.safetensors (%s); resume with --resume %s%s", msg,
                    r->dir, where, r->dir, again ? " (the k-NN pass runs again)" : "");
}

mbt_status mbt_pretrain_run(const mbt_pretrain_config *given, const mbt_pretrain_observer *observer) {
    run r;
    memset(&r, 0, sizeof r);
    r.observer = observer;
    cJSON *tree = NULL;
    mbt_status st = setup(&r, given, &tree);
    r.start_time = mbt_now();
    const mbt_pretrain_config *c = &r.cfg;
    /* a fresh run, or a resume of one stopped in this pass (a stop after it saves step 0 too) */
    if (st == MBT_OK && c->knn_every > 0 && (!given->resume_dir || r.sums.knn_before_pending)) {
        double t1, t5;
        st = knn_monitor(&r, 0, &t1, &t5);
        if (st == MBT_OK) {
            if (t5 >= 0) note(&r, "k-NN before training: top-1 %.2f%%  top-5 %.2f%%", t1, t5);
            else note(&r, "k-NN before training: top-1 %.2f%% (%d-NN, Euclidean, majority)", t1, c->knn_k);
            st = metrics_row(&r, 0, 0, NULL, t1, t5, 0);
            r.sums.knn_before_pending = 0;
        } else if (st == MBT_ERR_INTERRUPTED) { /* the untrained state: --resume starts with this pass */
            r.sums.knn_before_pending = 1;
            st = stop_with_checkpoint(&r, 1);
        }
    }
    int first_epoch = r.pos.epoch + 1;
    for (int epoch = first_epoch; st == MBT_OK && epoch <= c->epochs; epoch++) {
        double t0 = mbt_now();
        int64_t n = 0;
        if (r.pos.batch_in_epoch == 0) clear_sums(&r.sums);
        st = train_epoch(&r, epoch, &n);
        if (st == MBT_ERR_INTERRUPTED) {
            st = stop_with_checkpoint(&r, 0);
            break;
        }
        if (st == MBT_ERR_NUMERIC) {
            char msg[512], last[4400];
            snprintf(msg, sizeof msg, "%s", mbt_error_message()); /* before reading the checkpoint */
            last_checkpoint(&r, last, sizeof last);
            MBT_FAIL(MBT_ERR_NUMERIC, "%s; stopped; the last good checkpoint is kept: %s", msg, last);
            break;
        }
        if (st != MBT_OK) break;
        double lr = mbt_pretrain_lr(c, r.steps_per_epoch, epoch, r.steps_per_epoch - 1); /* its last step's */
        double ips = n ? n * c->batch_size / (mbt_now() - t0) : 0, top1 = -1, top5 = -1;
        if (c->knn_every > 0 && (epoch % c->knn_every == 0 || epoch == c->epochs)) {
            st = knn_monitor(&r, epoch, &top1, &top5);
            if (st == MBT_ERR_INTERRUPTED) {
                /* epoch trained, its end not done: saved as "all batches of epoch E trained", so that
                 * --resume runs this pass again and writes the epoch's row as an unstopped run would */
                st = stop_with_checkpoint(&r, 1);
            }
            if (st != MBT_OK) break;
            if (top5 >= 0) note(&r, "epoch %d: k-NN top-1 %.2f%%  top-5 %.2f%%", epoch, top1, top5);
            else note(&r, "epoch %d: k-NN top-1 %.2f%% (%d-NN, Euclidean, majority)", epoch, top1, c->knn_k);
        }
        r.pos.epoch = epoch;
        r.pos.batch_in_epoch = 0;
        int64_t ns = r.sums.steps;
        double mean[MBT_EPOCH_MAX_VALUES];
        for (int j = 0; j < r.sums.n_values; j++) mean[j] = ns ? r.sums.sums[j] / ns : NAN;
        st = metrics_row(&r, epoch, lr, ns ? mean : NULL, top1, top5, ips);
        if (st == MBT_OK && mbt_plot_refresh_run(r.dir) != MBT_OK) /* a failure is a warning, the run goes on */
            note(&r, "warning: %s/curves.png not redrawn: %s", r.dir, mbt_error_message());
        clear_sums(&r.sums);
        if (st == MBT_OK && top1 > r.pos.best_knn) {
            r.pos.best_knn = top1;
            st = save(&r, "best.safetensors");
        }
        if (st == MBT_OK) st = save(&r, "last.safetensors");
        if (st == MBT_OK && epoch % c->checkpoint_every == 0) {
            char name[64];
            snprintf(name, sizeof name, "epoch_%04d.safetensors", epoch);
            st = save(&r, name);
        }
    }
    teardown(&r);
    cJSON_Delete(tree);
    return st;
}
