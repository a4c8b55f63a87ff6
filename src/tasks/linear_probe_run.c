/* The protocol engine of the linear evaluation and transfer protocols over a checkpoint and a dataset
 * (see linear_probe.h): the reference mode (training-mode BN on the training batches, augmented or not),
 * frozen BN, and features extracted once; and the linear evaluation protocol as its configuration. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/device.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "optim/schedule.h"
#include "tasks/eval_sslsota.h"
#include "tasks/evaluate_data.h"
#include "tasks/linear_probe.h"
#include "tasks/run_folder.h"
#include "tasks/train_bn_features.h"

double mbt_probe_schedule_lr(const mbt_probe_schedule *s, int epoch1, int epochs) {
    if (s->kind == MBT_PROBE_SCHED_MULTISTEP)
        return mbt_sched_multistep(s->lr, s->gamma, s->milestones, s->n_milestones, epoch1 - 1);
    if (s->kind == MBT_PROBE_SCHED_COSINE) return mbt_sched_cosine_annealing(s->lr, epoch1 - 1, epochs);
    return mbt_sched_exponential(s->lr, pow(s->lr_end / s->lr, 1.0 / epochs), epoch1 - 1);
}

void mbt_linear_probe_defaults(mbt_linear_probe_config *c) {
    memset(c, 0, sizeof *c);
    c->dataset = "cifar10";
    c->epochs = 200;
    c->batch_size = 512;
    c->weight_decay = 5e-6;
    c->bn = MBT_PROBE_BN_TRAIN;
    c->extract_batch = 256;
    c->src = mbt_eval_source_defaults();
}

typedef struct {
    const mbt_probe_spec *c;
    const mbt_eval_progress *progress;
    FILE *log;
    mbt_model *model;
    mbt_train_bn_features bn_train; /* training-mode BN forwards (the reference mode) */
    int bn_train_ready;
    int once; /* features extracted once */
    mbt_eval_data data;
    int data_open;
    mbt_feature_extractor fx;
    int fx_ready;
    mbt_view_batches *views;
    mbt_loader *loader;
    mbt_linear_head head;
    int head_ready;
    int emb, classes;
    int64_t n_train, n_test;
    float *train_feat, *test_feat, *batch_feat;
    int32_t *train_lab, *test_lab, *batch_lab, *perm;
    int test_cached;
    FILE *metrics;
    double t0;
} probe;

static void report(probe *p, const char *stage, int64_t done, int64_t total) {
    if (p->progress && p->progress->fn) p->progress->fn(p->progress->ctx, stage, done, total);
}

/* Raw (unnormalised) evaluation-mode features of a whole part, through an evaluation loader. */
static mbt_status extract_part(probe *p, mbt_eval_part part, float *feat, int32_t *lab, const char *stage) {
    mbt_loader_destroy(p->loader);
    p->loader = NULL;
    MBT_TRY(mbt_eval_data_loader(&p->data, part, mbt_model_batch(p->model), p->c->src.workers, &p->loader));
    return mbt_eval_extract_all(&p->fx, p->loader, mbt_eval_data_count(&p->data, part), feat, lab, p->progress, stage);
}

/* ---- run folder ---------------------------------------------------------------------------------- */

static mbt_status write_config(probe *p, const mbt_eval_model_info *mi) {
    const mbt_probe_spec *c = p->c;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", c->out_dir);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "command", c->command);
    cJSON_AddStringToObject(j, "checkpoint", c->src.checkpoint);
    cJSON_AddStringToObject(j, "arch", mbt_arch_name(mi->config.arch));
    cJSON_AddNumberToObject(j, "image_size", p->data.image_size);
    cJSON_AddStringToObject(j, "dataset", c->dataset);
    cJSON_AddStringToObject(j, "data", c->src.data_dir);
    cJSON_AddNumberToObject(j, "subset", c->src.subset);
    cJSON_AddNumberToObject(j, "test_subset", c->src.test_subset);
    cJSON_AddNumberToObject(j, "epochs", c->epochs);
    cJSON_AddNumberToObject(j, "batch_size", c->batch_size);
    cJSON_AddStringToObject(j, "optimizer", c->optimizer == MBT_HEAD_SGD ? "sgd" : "adam");
    if (c->schedule.kind == MBT_PROBE_SCHED_MULTISTEP) {
        cJSON_AddNumberToObject(j, "lr", c->schedule.lr);
        cJSON_AddItemToObject(j, "milestones", cJSON_CreateIntArray(c->schedule.milestones, c->schedule.n_milestones));
        cJSON_AddNumberToObject(j, "gamma", c->schedule.gamma);
    } else {
        cJSON_AddNumberToObject(j, "lr_start", c->schedule.lr);
        cJSON_AddNumberToObject(j, "lr_end", c->schedule.lr_end);
    }
    if (c->optimizer == MBT_HEAD_SGD) cJSON_AddNumberToObject(j, "momentum", c->momentum);
    cJSON_AddNumberToObject(j, "weight_decay", c->weight_decay);
    cJSON_AddBoolToObject(j, "augment", c->augment);
    cJSON_AddStringToObject(j, "bn", c->bn == MBT_PROBE_BN_TRAIN && !p->once ? "train" : "frozen");
    cJSON_AddBoolToObject(j, "features_once", p->once);
    if (c->drop_last) cJSON_AddBoolToObject(j, "drop_last", 1);
    if (c->override_norm) {
        cJSON_AddItemToObject(j, "norm_mean", cJSON_CreateFloatArray(c->norm_mean, 3));
        cJSON_AddItemToObject(j, "norm_std", cJSON_CreateFloatArray(c->norm_std, 3));
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "train_images", (double)p->n_train);
    cJSON_AddNumberToObject(j, "test_images", (double)p->n_test);
    if (c->describe) c->describe(c->describe_ctx, j);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    mbt_status st = mbt_atomic_write_text(path, text);
    free(text);
    return st;
}

/* Creates the run folder (before any long work, so that a used one is refused at once). */
static mbt_status make_run_folder(const char *dir, const char *command) {
    char holds[160];
    snprintf(holds, sizeof holds, "a%s %s evaluation (metrics.csv); choose another folder",
             command[0] == 'a' || command[0] == 'e' || command[0] == 'i' || command[0] == 'o' ? "n" : "", command);
    return mbt_run_folder_create(dir, "metrics.csv", holds);
}

static mbt_status open_run_folder(probe *p, const mbt_eval_model_info *mi) {
    MBT_TRY(write_config(p, mi));
    return mbt_run_metrics_open(p->c->out_dir, "epoch,lr,train_loss,train_top1,train_top5,test_loss,test_top1,test_top5,elapsed_s",
                                1, 0, &p->metrics);
}

static mbt_status save_head(probe *p) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_head.safetensors", p->c->out_dir, p->c->command);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    int64_t ws[2] = {p->classes, p->emb}, bs[1] = {p->classes};
    mbt_status st = mbt_state_dict_add(&sd, "fc.weight", MBT_DTYPE_F32, 2, ws, p->head.w, MBT_SD_BORROW);
    if (st == MBT_OK) st = mbt_state_dict_add(&sd, "fc.bias", MBT_DTYPE_F32, 1, bs, p->head.b, MBT_SD_BORROW);
    if (st == MBT_OK) st = mbt_state_dict_set_meta(&sd, "format", "pt");
    if (st == MBT_OK) st = mbt_safetensors_write(path, &sd);
    mbt_state_dict_free(&sd);
    return st;
}

/* ---- one epoch ----------------------------------------------------------------------------------- */

static mbt_status train_epoch_images(probe *p, int epoch, double lr, mbt_class_counts *cnt) {
    const mbt_probe_spec *c = p->c;
    MBT_TRY(mbt_view_batches_start(p->views, (uint32_t)epoch));
    char stage[48];
    snprintf(stage, sizeof stage, "epoch %d/%d", epoch, c->epochs);
    char phase[80];
    snprintf(phase, sizeof phase, "the linear head's training (epoch %d/%d)", epoch, c->epochs);
    report(p, stage, 0, p->n_train);
    int64_t done = 0;
    int mb = mbt_model_batch(p->model);
    for (;;) {
        const float *x;
        const int32_t *y;
        int n;
        MBT_TRY(mbt_stop_check(phase));
        MBT_TRY(mbt_view_batches_next(p->views, &x, &y, &n));
        if (n == 0) break;
        done += n;
        const float *feat = p->batch_feat;
        if (c->bn == MBT_PROBE_BN_TRAIN) {
            if (n == 1) continue; /* see the note printed at the start */
            MBT_TRY(mbt_train_bn_features_run(&p->bn_train, n, x, &feat));
        } else {
            size_t per_image = (size_t)3 * p->data.recipe.size * p->data.recipe.size;
            for (int s = 0; s < n; s += mb) {
                int m = n - s < mb ? n - s : mb;
                MBT_TRY(mbt_feature_extractor_run(&p->fx, m, x + (size_t)s * per_image, p->batch_feat + (size_t)s * p->emb));
            }
        }
        MBT_TRY(mbt_linear_head_train_step(&p->head, feat, y, n, lr, cnt, NULL));
        report(p, stage, done, p->n_train);
    }
    return MBT_OK;
}

static mbt_status train_epoch_features(probe *p, int epoch, double lr, mbt_class_counts *cnt) {
    mbt_rng rng;
    mbt_rng_init(&rng, p->c->seed, mbt_rng_stream_id(MBT_RNG_TAG_EVAL_ORDER, (uint64_t)epoch, 0, 0));
    mbt_rng_permutation(&rng, p->perm, (int)p->n_train);
    char phase[80];
    snprintf(phase, sizeof phase, "the linear head's training (epoch %d/%d)", epoch, p->c->epochs);
    return mbt_linear_head_train_epoch(&p->head, p->train_feat, p->train_lab, p->perm, p->n_train, p->c->batch_size,
                                       p->c->drop_last, lr, cnt, NULL, phase);
}

static mbt_status test_pass(probe *p, mbt_class_counts *cnt) {
    /* the test features change only while training-mode BN moves the running statistics */
    int fixed = p->once || p->c->bn == MBT_PROBE_BN_FROZEN;
    if (!fixed || !p->test_cached) {
        if (p->bn_train_ready) { /* the running statistics the epoch moved, to where the test pass runs */
            MBT_TRY(mbt_train_bn_features_sync(&p->bn_train));
            MBT_TRY(mbt_feature_extractor_refresh_buffers(&p->fx));
        }
        MBT_TRY(extract_part(p, MBT_EVAL_TEST, p->test_feat, p->test_lab, "test"));
    }
    p->test_cached = 1;
    int B = p->c->batch_size;
    for (int64_t s = 0; s < p->n_test; s += B) {
        int n = p->n_test - s < B ? (int)(p->n_test - s) : B;
        MBT_TRY(mbt_linear_head_evaluate(&p->head, p->test_feat + (size_t)s * p->emb, p->test_lab + s, n, cnt));
    }
    return MBT_OK;
}

static double pct(int64_t hits, int64_t total) { return total ? 100.0 * (double)hits / (double)total : 0; }

/* ---- the run ------------------------------------------------------------------------------------- */

/* Rebuilds the model for image_size x image_size inputs with the same parameters, buffers and counters
 * (the protocol's resize differs from the checkpoint's input size); a training model when training. */
static mbt_status rebuild_for_size(probe *p, mbt_eval_model_info *mi, int image_size, int batch, int training) {
    mbt_model_config cfg = mi->config;
    cfg.image_size = image_size;
    mbt_model *m = NULL;
    MBT_TRY(mbt_model_create(&m, &cfg, batch, 1, training, MBT_DEVICE_CPU));
    mbt_status st = mbt_eval_model_copy_state(m, p->model);
    if (st != MBT_OK) {
        char why[512]; /* the message is rewritten below: keep a copy of it */
        snprintf(why, sizeof why, "%s", mbt_error_message());
        mbt_model_destroy(m);
        return MBT_FAIL(st, "%s: the %d px model does not take the %d px model's state: %s", p->c->command,
                        image_size, mi->config.image_size, why);
    }
    mbt_model_destroy(p->model);
    p->model = m;
    mi->config = cfg;
    return MBT_OK;
}

static mbt_status setup(probe *p, mbt_probe_result *res) {
    const mbt_probe_spec *c = p->c;
    MBT_CHECK_ARG(c->epochs >= 1, "--epochs %d: must be at least 1", c->epochs);
    MBT_CHECK_ARG(c->batch_size >= 2, "--batch-size %d: must be at least 2", c->batch_size);
    MBT_CHECK_ARG(c->extract_batch >= 1, "extract batch %d: must be at least 1", c->extract_batch);
    MBT_CHECK_ARG(c->weight_decay >= 0, "--weight-decay %g: must not be negative", c->weight_decay);
    MBT_CHECK_ARG(c->schedule.lr > 0, "--lr %g: must be positive", c->schedule.lr);
    MBT_CHECK_ARG(c->schedule.n_milestones >= 0 && c->schedule.n_milestones <= MBT_PROBE_MAX_MILESTONES,
                  "%s: %d milestones (at most %d)", c->command, c->schedule.n_milestones, MBT_PROBE_MAX_MILESTONES);
    /* without augmentation, frozen BN makes every epoch's training features the same: extract them once */
    p->once = c->features_once || (!c->augment && c->bn == MBT_PROBE_BN_FROZEN);
    res->features_once = p->once;
    int train_bn = c->bn == MBT_PROBE_BN_TRAIN && !p->once;
    mbt_device device;
    MBT_TRY(mbt_device_open(c->src.device ? c->src.device : "cpu", "--device", &device));
    if (c->out_dir) MBT_TRY(make_run_folder(c->out_dir, c->command));
    mbt_set_threads(c->src.threads > 0 ? c->src.threads : 1);
    mbt_eval_data_config dc = {c->dataset, c->src.data_dir, 0, c->src.subset, c->src.test_subset, 1, 1};
    MBT_TRY(mbt_eval_data_open(&p->data, &dc));
    p->data_open = 1;
    p->n_train = mbt_eval_data_count(&p->data, MBT_EVAL_TRAIN);
    p->n_test = mbt_eval_data_count(&p->data, MBT_EVAL_TEST);
    /* the model's batch: the training-mode BN batch, else any (not past the largest split) */
    int64_t most = p->n_train > p->n_test ? p->n_train : p->n_test;
    int64_t batch = train_bn ? (c->batch_size < p->n_train ? c->batch_size : p->n_train)
                             : (c->extract_batch < most ? c->extract_batch : most);
    if (batch < 2) batch = 2; /* a training model needs 2; a single image is padded */
    /* the loaded model runs training-mode forwards itself only on the CPU (on a GPU a copy does) */
    int host_training = train_bn && device == MBT_DEVICE_CPU;
    mbt_eval_model_options mo = {c->src.checkpoint, c->src.arch, (int)batch, host_training, 0};
    MBT_TRY(mbt_eval_model_load(&mo, &p->model, &res->model, p->log));
    if (c->recipe) {
        mbt_augment_recipe recipe = *c->recipe;
        if (c->recipe_size_from_model) recipe.size = res->model.config.image_size;
        if (recipe.size != res->model.config.image_size) {
            if (p->log)
                fprintf(p->log, "%s: the backbone takes %d px inputs here (the checkpoint's input size is %d)\n",
                        c->command, recipe.size, res->model.config.image_size);
            MBT_TRY(rebuild_for_size(p, &res->model, recipe.size, (int)batch, host_training));
        }
        MBT_TRY(mbt_eval_data_set_recipe(&p->data, &recipe));
    } else {
        mbt_eval_model_note_dataset(&res->model, c->dataset, p->log);
        MBT_TRY(mbt_eval_data_set_image_size(&p->data, res->model.config.image_size));
        if (c->override_norm) {
            memcpy(p->data.recipe.mean, c->norm_mean, sizeof c->norm_mean);
            memcpy(p->data.recipe.std, c->norm_std, sizeof c->norm_std);
        }
    }
    if (p->once && c->drop_last && p->n_train < c->batch_size)
        return MBT_FAIL(MBT_ERR_ARG,
                        "%s: %lld training images make no full batch of %d (this protocol drops the partial one); "
                        "lower --batch-size",
                        c->command, (long long)p->n_train, c->batch_size);
    res->image_size = p->data.image_size;
    p->classes = p->data.num_classes;
    p->emb = mbt_model_embedding_dim(res->model.config.arch);
    res->train_images = p->n_train;
    res->test_images = p->n_test;
    res->num_classes = p->classes;
    res->emb = p->emb;
    MBT_TRY(mbt_feature_extractor_init(&p->fx, p->model, MBT_FEAT_RAW, device));
    p->fx_ready = 1;
    if (c->optimizer == MBT_HEAD_SGD)
        MBT_TRY(mbt_linear_head_init_sgd(&p->head, p->emb, p->classes, c->batch_size, c->momentum, c->weight_decay));
    else MBT_TRY(mbt_linear_head_init(&p->head, p->emb, p->classes, c->batch_size, c->weight_decay));
    p->head_ready = 1;
    if (c->head_init_std > 0) mbt_linear_head_reset_normal(&p->head, c->seed, c->head_init_std);
    else mbt_linear_head_reset(&p->head, c->seed);
    size_t B = (size_t)c->batch_size;
    p->batch_feat = malloc(B * p->emb * sizeof(float));
    p->batch_lab = malloc(B * sizeof(int32_t));
    p->test_feat = malloc((size_t)p->n_test * p->emb * sizeof(float));
    p->test_lab = malloc((size_t)p->n_test * sizeof(int32_t));
    if (!p->batch_feat || !p->batch_lab || !p->test_feat || !p->test_lab)
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory for %lld test features", c->command, (long long)p->n_test);
    if (p->once) {
        p->train_feat = malloc((size_t)p->n_train * p->emb * sizeof(float));
        p->train_lab = malloc((size_t)p->n_train * sizeof(int32_t));
        p->perm = malloc((size_t)p->n_train * sizeof(int32_t));
        if (!p->train_feat || !p->train_lab || !p->perm)
            return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory for %lld training features", c->command,
                            (long long)p->n_train);
        double t = mbt_now();
        MBT_TRY(extract_part(p, MBT_EVAL_TRAIN, p->train_feat, p->train_lab, "train features"));
        res->extract_seconds = mbt_now() - t;
    } else {
        MBT_TRY(mbt_view_batches_create(&p->views, p->data.part[MBT_EVAL_TRAIN], &p->data.recipe, c->batch_size,
                                        c->src.workers > 0 ? c->src.workers : 1, c->seed));
        mbt_view_batches_set_augment(p->views, c->augment);
        int rem = (int)(p->n_train % c->batch_size);
        if (train_bn) {
            MBT_TRY(mbt_train_bn_features_init(&p->bn_train, p->model, rem, device));
            p->bn_train_ready = 1;
        }
        if (train_bn && rem == 1 && p->log) {
            fprintf(p->log, "%s: the last batch of each epoch holds 1 image, which training-mode BN cannot "
                            "normalise here; it is skipped\n", c->command);
        }
    }
    if (c->out_dir) MBT_TRY(open_run_folder(p, &res->model));
    return MBT_OK;
}

static mbt_status run_epochs(probe *p, mbt_probe_epoch_fn on_epoch, void *ctx, mbt_probe_result *res) {
    const mbt_probe_spec *c = p->c;
    res->best.test_top1 = -1;
    for (int e = 1; e <= c->epochs; e++) {
        mbt_probe_epoch ep = {.epoch = e, .lr = mbt_probe_schedule_lr(&c->schedule, e, c->epochs)};
        mbt_class_counts tr = {0}, te = {0};
        if (p->once) MBT_TRY(train_epoch_features(p, e, ep.lr, &tr));
        else MBT_TRY(train_epoch_images(p, e, ep.lr, &tr));
        MBT_TRY(test_pass(p, &te));
        ep.train_loss = tr.total ? tr.loss_sum / (double)tr.total : NAN;
        ep.train_top1 = pct(tr.top1, tr.total);
        ep.train_top5 = pct(tr.top5, tr.total);
        ep.test_loss = te.loss_sum / (double)te.total;
        ep.test_top1 = pct(te.top1, te.total);
        ep.test_top5 = pct(te.top5, te.total);
        ep.seconds = mbt_now() - p->t0;
        res->last = ep;
        if (ep.test_top1 > res->best.test_top1) res->best = ep;
        if (p->metrics) {
            char row[256];
            snprintf(row, sizeof row, "%d,%.8g,%.6f,%.4f,%.4f,%.6f,%.4f,%.4f,%.1f", e, ep.lr, ep.train_loss, ep.train_top1,
                     ep.train_top5, ep.test_loss, ep.test_top1, ep.test_top5, ep.seconds);
            MBT_TRY(mbt_run_metrics_row(p->metrics, p->c->out_dir, row));
        }
        if (on_epoch) on_epoch(ctx, &ep, c->epochs);
    }
    return c->out_dir ? save_head(p) : MBT_OK;
}

mbt_status mbt_probe_run(const mbt_probe_spec *c, const mbt_eval_progress *progress, mbt_probe_epoch_fn on_epoch,
                         void *ctx, FILE *log, mbt_probe_result *res) {
    memset(res, 0, sizeof *res);
    probe p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.progress = progress;
    p.log = log;
    p.t0 = mbt_now();
    mbt_status st = c->command && c->src.checkpoint ? MBT_OK : MBT_FAIL(MBT_ERR_ARG, "protocol: no command or checkpoint");
    if (st == MBT_OK) st = setup(&p, res);
    if (st == MBT_OK) st = run_epochs(&p, on_epoch, ctx, res);
    res->seconds = mbt_now() - p.t0;
    if (p.metrics && fclose(p.metrics) != 0 && st == MBT_OK)
        st = MBT_FAIL(MBT_ERR_IO, "%s/metrics.csv: write failed (%s)", c->out_dir, strerror(errno));
    free(p.train_feat);
    free(p.test_feat);
    free(p.batch_feat);
    free(p.train_lab);
    free(p.test_lab);
    free(p.batch_lab);
    free(p.perm);
    if (p.head_ready) mbt_linear_head_free(&p.head);
    mbt_view_batches_destroy(p.views);
    mbt_loader_destroy(p.loader);
    if (p.fx_ready) mbt_feature_extractor_free(&p.fx);
    if (p.data_open) mbt_eval_data_close(&p.data);
    if (p.bn_train_ready) mbt_train_bn_features_free(&p.bn_train);
    mbt_model_destroy(p.model);
    return st;
}

/* ---- the linear evaluation protocol --------------------------------------------------------------- */

static void describe_protocol(const void *ctx, cJSON *config) {
    cJSON_AddStringToObject(config, "protocol", mbt_linear_protocol_name(*(const mbt_linear_protocol *)ctx));
}

const char *mbt_linear_protocol_name(mbt_linear_protocol p) {
    return p == MBT_LINEAR_SSLSOTA ? "sslsota" : p == MBT_LINEAR_IMAGENET ? "imagenet" : "reference";
}

/* evaluate_imagenet.py (--weights freeze): the spec's settings beyond the shared ones. */
static mbt_status imagenet_protocol(const mbt_linear_probe_config *c, mbt_probe_spec *s, mbt_augment_recipe *recipe) {
    if (c->bn == MBT_PROBE_BN_TRAIN || c->features_once)
        return MBT_FAIL(MBT_ERR_ARG, "--protocol imagenet trains on augmented images with the backbone in evaluation "
                                     "mode; it cannot be combined with --bn train or --features-once");
    MBT_TRY(mbt_augment_recipe_get("imagenet_linear", 0, recipe));
    s->recipe = recipe;
    s->augment = 1;
    s->bn = MBT_PROBE_BN_FROZEN;
    s->optimizer = MBT_HEAD_SGD;
    s->momentum = 0.9;
    s->head_init_std = 0.01;
    s->schedule = (mbt_probe_schedule){.kind = MBT_PROBE_SCHED_COSINE, .lr = 0.3};
    return MBT_OK;
}

mbt_status mbt_linear_probe_run(const mbt_linear_probe_config *c, const mbt_eval_progress *progress,
                                mbt_probe_epoch_fn on_epoch, void *ctx, FILE *log, mbt_linear_probe_result *res) {
    int sslsota = c->protocol == MBT_LINEAR_SSLSOTA;
    if (sslsota && c->bn == MBT_PROBE_BN_TRAIN) {
        memset(res, 0, sizeof *res);
        return MBT_FAIL(MBT_ERR_ARG, "--protocol sslsota extracts the features once with evaluation-mode BN; it cannot "
                                     "be combined with --bn train");
    }
    mbt_probe_spec s;
    memset(&s, 0, sizeof s);
    s.command = "linear";
    s.src = c->src;
    s.dataset = c->dataset;
    s.augment = !sslsota; /* ssl-sota: the clf loader's images, with the test transform */
    s.out_dir = c->out_dir;
    s.epochs = c->epochs;
    s.batch_size = c->batch_size;
    s.optimizer = MBT_HEAD_ADAM;
    s.weight_decay = c->weight_decay;
    s.schedule = (mbt_probe_schedule){.kind = MBT_PROBE_SCHED_EXP_DECAY, .lr = 1e-2, .lr_end = 1e-6};
    s.bn = sslsota ? MBT_PROBE_BN_FROZEN : c->bn;
    s.features_once = sslsota || c->features_once;
    s.drop_last = sslsota;
    s.extract_batch = c->extract_batch;
    s.seed = c->seed;
    s.describe = describe_protocol;
    s.describe_ctx = &c->protocol;
    s.override_norm = sslsota && mbt_sslsota_normalisation(c->dataset, s.norm_mean, s.norm_std);
    mbt_augment_recipe recipe;
    if (c->protocol == MBT_LINEAR_IMAGENET) {
        mbt_status st = imagenet_protocol(c, &s, &recipe);
        if (st != MBT_OK) {
            memset(res, 0, sizeof *res);
            return st;
        }
    }
    return mbt_probe_run(&s, progress, on_epoch, ctx, log, res);
}
