/* The transfer evaluation protocol as a configuration of the probe engine; its targets are the dataset
 * kinds marked for transfer (data/dataset_kind.c). */
#include "tasks/transfer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const mbt_dataset_kind *mbt_transfer_target_find(const char *name) {
    const mbt_dataset_kind *k = mbt_dataset_kind_find(name, 1);
    return k && (k->uses & MBT_KIND_TRANSFER) ? k : NULL;
}

/* ImageNet has no reader here, so its constants are not a kind's; the name is only good for --norm. */
static const float IMAGENET_MEAN[3] = {0.485f, 0.456f, 0.406f}, IMAGENET_STD[3] = {0.229f, 0.224f, 0.225f};

int mbt_transfer_norm_find(const char *name, float mean[3], float std[3]) {
    const mbt_dataset_kind *k = mbt_dataset_kind_find(name, 1);
    int imagenet = name && !strcmp(name, "imagenet");
    if (!imagenet && !(k && k->std[0] > 0)) return 0;
    memcpy(mean, imagenet ? IMAGENET_MEAN : k->mean, 3 * sizeof(float));
    memcpy(std, imagenet ? IMAGENET_STD : k->std, 3 * sizeof(float));
    return 1;
}

const char *mbt_transfer_norm_names(char *buf, size_t cap) {
    snprintf(buf, cap, "a target's name");
    for (int i = 0; i < mbt_dataset_kind_count(); i++) {
        const mbt_dataset_kind *k = mbt_dataset_kind_at(i);
        size_t len = strlen(buf);
        if (k->std[0] > 0 && !(k->uses & MBT_KIND_TRANSFER)) snprintf(buf + len, cap - len, ", %s", k->name);
    }
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, " or imagenet");
    return buf;
}

void mbt_transfer_defaults(mbt_transfer_config *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 100;
    c->batch_size = 128;
    c->lr = 0.01;
    c->momentum = 0.9;
    c->weight_decay = 0;
    c->milestones[0] = 60;
    c->milestones[1] = 80;
    c->n_milestones = 2;
    c->gamma = 0.1;
    c->bn = MBT_PROBE_BN_TRAIN;
    c->extract_batch = 256;
    c->src = mbt_eval_source_defaults();
}

typedef struct {
    const mbt_transfer_config *c;
    const mbt_transfer_result *r;
} describe_ctx;

static void describe(const void *ctx, cJSON *j) {
    const describe_ctx *d = ctx;
    cJSON_AddStringToObject(j, "target", d->r->target->name);
    if (d->c->norm) cJSON_AddStringToObject(j, "norm", d->c->norm);
    const float *v[2] = {d->r->mean, d->r->std};
    const char *key[2] = {"mean", "std"};
    for (int k = 0; k < 2; k++) {
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; i < 3; i++) {
            char text[32]; /* the float constant as written (0.348, not 0.34799998998641968) */
            snprintf(text, sizeof text, "%.7g", (double)v[k][i]);
            cJSON_AddItemToArray(a, cJSON_CreateNumber(strtod(text, NULL)));
        }
        cJSON_AddItemToObject(j, key[k], a);
    }
    cJSON_AddStringToObject(j, "transform", "Resize((size, size)) bilinear, ToTensor, Normalize(mean, std)");
}

mbt_status mbt_transfer_run(const mbt_transfer_config *c, const mbt_eval_progress *progress,
                            mbt_probe_epoch_fn on_epoch, void *ctx, FILE *log, mbt_transfer_result *res) {
    memset(res, 0, sizeof *res);
    const mbt_dataset_kind *t = mbt_transfer_target_find(c->target);
    char names[256];
    if (!t)
        return MBT_FAIL(MBT_ERR_ARG, "--target %s: unknown (%s)", c->target ? c->target : "(none)",
                        mbt_dataset_kind_names(names, sizeof names, MBT_KIND_TRANSFER, ", ", " or "));
    res->target = t;
    memcpy(res->mean, t->mean, sizeof res->mean);
    memcpy(res->std, t->std, sizeof res->std);
    if (c->norm && !mbt_transfer_norm_find(c->norm, res->mean, res->std))
        return MBT_FAIL(MBT_ERR_ARG, "--norm %s: unknown (%s)", c->norm, mbt_transfer_norm_names(names, sizeof names));
    if (c->has_mean_std) {
        memcpy(res->mean, c->mean, sizeof res->mean);
        memcpy(res->std, c->std, sizeof res->std);
    }
    MBT_CHECK_ARG(c->size == 0 || (c->size >= 8 && c->size <= 1024), "--size %d: 8 to 1024, or 0 for the checkpoint's",
                  c->size);
    for (int k = 0; k < 3; k++)
        MBT_CHECK_ARG(res->std[k] > 0, "--std: %g for channel %d must be positive", (double)res->std[k], k);
    MBT_CHECK_ARG(c->n_milestones >= 0 && c->n_milestones <= MBT_PROBE_MAX_MILESTONES, "--milestones: at most %d",
                  MBT_PROBE_MAX_MILESTONES);
    MBT_CHECK_ARG(c->momentum >= 0 && c->momentum < 1, "--momentum %g: 0 to below 1", c->momentum);
    mbt_augment_recipe recipe;
    mbt_probe_spec s;
    memset(&s, 0, sizeof s);
    s.command = "transfer";
    s.src = c->src;
    s.dataset = t->name;
    s.augment = 0;
    s.out_dir = c->out_dir;
    s.epochs = c->epochs;
    s.batch_size = c->batch_size;
    s.optimizer = MBT_HEAD_SGD;
    s.momentum = c->momentum;
    s.weight_decay = c->weight_decay;
    s.schedule.kind = MBT_PROBE_SCHED_MULTISTEP;
    s.schedule.lr = c->lr;
    s.schedule.gamma = c->gamma;
    s.schedule.n_milestones = c->n_milestones;
    memcpy(s.schedule.milestones, c->milestones, sizeof s.schedule.milestones);
    s.bn = c->features_once ? MBT_PROBE_BN_FROZEN : c->bn;
    s.features_once = c->features_once;
    s.extract_batch = c->extract_batch;
    s.seed = c->seed;
    describe_ctx d = {c, res};
    s.describe = describe;
    s.describe_ctx = &d;
    /* size 0: the engine sets the checkpoint's input size (32 px for CIFAR pretraining, 64 px for STL-10
     * and Tiny-ImageNet: the reference's rule, which picks the stem and the resize from the same name) */
    MBT_TRY(mbt_augment_recipe_resize(c->size > 0 ? c->size : 32, res->mean, res->std, &recipe));
    s.recipe = &recipe;
    s.recipe_size_from_model = c->size == 0;
    return mbt_probe_run(&s, progress, on_epoch, ctx, log, &res->probe);
}
