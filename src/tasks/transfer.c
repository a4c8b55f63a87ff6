/* The transfer evaluation protocol as a configuration of the probe engine, and the targets' table. */
#include "tasks/transfer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* data_statistics.py's get_data_mean_and_stdev and get_data_nclass (FGVC-Aircraft: the reference's
 * table says 102 classes, a slip for the 100 variants of the data; the classifier here has as many
 * outputs as the data have classes). "folder" has no statistics of its own: 0.5 (maps [0, 1] to
 * [-1, 1]); pick another set with --norm or --mean / --std. */
static const mbt_transfer_target TARGETS[] = {
    {"mnist", NULL, "MNIST", "mnist", {0.170f, 0.170f, 0.170f}, {0.320f, 0.320f, 0.320f}, 10},
    {"fashionmnist", NULL, "Fashion-MNIST", "fashionmnist", {0.348f, 0.348f, 0.348f}, {0.347f, 0.347f, 0.347f}, 10},
    {"dtd", NULL, "DTD", "dtd", {0.533f, 0.474f, 0.426f}, {0.261f, 0.250f, 0.259f}, 47},
    {"cub200", "cu_birds", "CUB-200-2011", "cub200", {0.483f, 0.491f, 0.424f}, {0.228f, 0.224f, 0.259f}, 200},
    {"flowers102", "vgg_flower", "Flowers-102", "flowers102", {0.518f, 0.410f, 0.329f}, {0.296f, 0.249f, 0.285f}, 102},
    {"gtsrb", "traffic_sign", "GTSRB", "gtsrb", {0.335f, 0.291f, 0.295f}, {0.267f, 0.249f, 0.251f}, 43},
    {"aircraft", NULL, "FGVC-Aircraft", "aircraft", {0.486f, 0.507f, 0.525f}, {0.266f, 0.260f, 0.276f}, 100},
    {"folder", NULL, "image folder", "folder", {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, 0},
};

#define N_TARGETS ((int)(sizeof TARGETS / sizeof *TARGETS))

const mbt_transfer_target *mbt_transfer_target_find(const char *name) {
    for (int i = 0; name && i < N_TARGETS; i++)
        if (!strcmp(name, TARGETS[i].name) || (TARGETS[i].alias && !strcmp(name, TARGETS[i].alias))) return &TARGETS[i];
    return NULL;
}

const mbt_transfer_target *mbt_transfer_targets(int *n) {
    *n = N_TARGETS;
    return TARGETS;
}

int mbt_transfer_norm_find(const char *name, float mean[3], float std[3]) {
    static const struct {
        const char *name;
        float mean[3], std[3];
    } OTHERS[] = {
        {"cifar10", {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}},
        {"cifar100", {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}},
        {"stl10", {0.491f, 0.482f, 0.447f}, {0.247f, 0.244f, 0.262f}},
        {"imagenet", {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}},
    };
    const mbt_transfer_target *t = mbt_transfer_target_find(name);
    if (t) {
        memcpy(mean, t->mean, 3 * sizeof(float));
        memcpy(std, t->std, 3 * sizeof(float));
        return 1;
    }
    for (size_t i = 0; name && i < sizeof OTHERS / sizeof *OTHERS; i++)
        if (!strcmp(name, OTHERS[i].name)) {
            memcpy(mean, OTHERS[i].mean, 3 * sizeof(float));
            memcpy(std, OTHERS[i].std, 3 * sizeof(float));
            return 1;
        }
    return 0;
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
    c->threads = 2;
    c->workers = 2;
    c->device = "cpu";
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
    const mbt_transfer_target *t = mbt_transfer_target_find(c->target);
    if (!t)
        return MBT_FAIL(MBT_ERR_ARG,
                        "--target %s: unknown (mnist, fashionmnist, dtd, cub200 or cu_birds, flowers102 or vgg_flower, "
                        "gtsrb or traffic_sign, aircraft, folder)",
                        c->target ? c->target : "(none)");
    res->target = t;
    memcpy(res->mean, t->mean, sizeof res->mean);
    memcpy(res->std, t->std, sizeof res->std);
    if (c->norm && !mbt_transfer_norm_find(c->norm, res->mean, res->std))
        return MBT_FAIL(MBT_ERR_ARG, "--norm %s: unknown (a target's name, cifar10, cifar100, stl10 or imagenet)", c->norm);
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
    s.checkpoint = c->checkpoint;
    s.arch = c->arch;
    s.dataset = t->dataset;
    s.data_dir = c->data_dir;
    s.augment = 0;
    s.out_dir = c->out_dir;
    s.subset = c->subset;
    s.test_subset = c->test_subset;
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
    s.threads = c->threads;
    s.workers = c->workers;
    s.device = c->device;
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
