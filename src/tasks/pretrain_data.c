/* The data side of pretraining over the data layer (see pretrain_data.h). Choices:
 *   the dataset kind's row (data/dataset_kind.h) gives the recipe and its image size (folder: from the
 *     first training image), the subset rule of --subset / --knn-subset / --knn-test-subset (the first
 *     N, or N spread evenly over a split stored class by class), and whether it has an unlabelled split
 *     (stl10: pretraining on train + unlabeled, k-NN bank = train, test = test);
 *   the k-NN bank is taken from the whole training split, not from the --subset;
 *   loader: "host" is the threaded loader (host batches); "device" keeps the training set on the
 *     training device and augments it there (data/resident_loader.h: the same batches); "auto" (or
 *     NULL) is "device" on a GPU for the kinds of one image size (not folder) when the set takes at
 *     most a quarter of the GPU's free memory, else "host". */
#include "tasks/pretrain_data.h"

#include <stdio.h>

#include "tasks/method.h"

#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/dataset_kind.h"
#include "core/device.h"
#include "data/loader.h"
#include "data/resident_loader.h"

struct mbt_pretrain_data {
    const mbt_dataset_kind *kind;
    mbt_augment_recipe recipe;
    mbt_dataset *train_full, *train, *bank_full, *bank, *test_full, *test;
    mbt_loader *pair, *eval[2];
    mbt_resident_loader *resident; /* instead of pair: the training set on the device */
    mbt_loader *current; /* the k-NN split being iterated */
    int num_classes;
    int views;           /* per training image */
};

void mbt_pretrain_data_close(mbt_pretrain_data *d) {
    if (!d) return;
    mbt_loader_destroy(d->pair);
    mbt_resident_loader_destroy(d->resident);
    mbt_loader_destroy(d->eval[0]);
    mbt_loader_destroy(d->eval[1]);
    mbt_dataset_destroy(d->train);
    mbt_dataset_destroy(d->train_full);
    mbt_dataset_destroy(d->bank);
    mbt_dataset_destroy(d->bank_full);
    mbt_dataset_destroy(d->test);
    mbt_dataset_destroy(d->test_full);
    free(d);
}

/* Whether the training set goes on the device (see the loader choice above). */
static mbt_status use_device_data(const mbt_pretrain_data *d, const mbt_pretrain_config *cfg, mbt_device device,
                                  int *yes) {
    const char *mode = cfg->loader ? cfg->loader : "auto";
    *yes = 0;
    if (!strcmp(mode, "device")) {
        *yes = 1;
        return MBT_OK;
    }
    MBT_CHECK_ARG(!strcmp(mode, "host") || !strcmp(mode, "auto"), "--loader %s: expected auto, host or device", mode);
    if (!strcmp(mode, "host") || device == MBT_DEVICE_CPU || d->kind->mixed_sizes ||
        mbt_augment_recipe_blurs(&d->recipe))
        return MBT_OK;
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_status st = mbt_dataset_image(d->train, 0, &rd, &img);
    double bytes = (double)img.width * img.height * 3 * (double)mbt_dataset_count(d->train);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    MBT_TRY(st);
    size_t free_bytes;
    MBT_TRY(mbt_device_free_memory(device, &free_bytes));
    *yes = bytes <= (double)free_bytes / 4;
    return MBT_OK;
}

/* The baselines train and monitor with ssl-sota's recipe of the dataset ("sslsota_<dataset>") and the
 * augmentation overrides of the configuration (-1: the recipe's value). */
static mbt_status baseline_recipe(const mbt_pretrain_config *cfg, mbt_augment_recipe *recipe) {
    mbt_method_kind kind;
    MBT_TRY(mbt_method_parse(cfg->method ? cfg->method : "mixbt", &kind));
    if (!mbt_method_is_baseline(kind)) return MBT_OK;
    char name[64];
    snprintf(name, sizeof name, "sslsota_%s", cfg->dataset);
    if (mbt_augment_recipe_get(name, cfg->image_size, recipe) != MBT_OK)
        return MBT_FAIL(MBT_ERR_ARG, "--method %s: ssl-sota has no recipe for --dataset %s (cifar10, cifar100, stl10, "
                        "tiny_imagenet)", mbt_method_name(kind), cfg->dataset);
    mbt_augment_flags f = mbt_augment_recipe_flags(recipe);
    const double given[11] = {cfg->cj0, cfg->cj1, cfg->cj2, cfg->cj3, cfg->cj_p, cfg->gs_p,
                              cfg->crop_s0, cfg->crop_s1, cfg->crop_r0, cfg->crop_r1, cfg->hf_p};
    float *field[11] = {&f.cj0, &f.cj1, &f.cj2, &f.cj3, &f.cj_p, &f.gs_p, &f.crop_s0, &f.crop_s1, &f.crop_r0, &f.crop_r1, &f.hf_p};
    for (int i = 0; i < 11; i++)
        if (given[i] != -1) *field[i] = (float)given[i];
    return mbt_augment_recipe_set_flags(recipe, &f);
}

/* Views per training image: the baselines' --num-samples, 2 for Mixed BT and BT. */
static mbt_status training_views(const mbt_pretrain_config *cfg, int *views) {
    mbt_method_kind kind;
    MBT_TRY(mbt_method_parse(cfg->method ? cfg->method : "mixbt", &kind));
    *views = mbt_method_is_baseline(kind) ? cfg->num_samples : 2;
    MBT_CHECK_ARG(*views >= 2 && *views <= MBT_LOADER_MAX_VIEWS, "--num-samples %d: expected 2 to %d views per image",
                  *views, MBT_LOADER_MAX_VIEWS);
    return MBT_OK;
}

static mbt_status open_all(mbt_pretrain_data *d, const mbt_pretrain_config *cfg, int batch, mbt_device device) {
    const char *kind = cfg->dataset;
    MBT_CHECK_ARG(kind != NULL, "pretrain: no dataset");
    MBT_CHECK_ARG(batch >= 1, "pretrain: batch size %d", batch);
    MBT_TRY(mbt_dataset_kind_get(kind, &d->kind));
    int unlabeled = d->kind->unlabeled;
    mbt_split train_split = unlabeled ? MBT_SPLIT_TRAIN_UNLABELED : MBT_SPLIT_TRAIN;
    MBT_TRY(mbt_dataset_open(&d->train_full, kind, cfg->data_dir, train_split));
    d->num_classes = mbt_dataset_num_classes(d->train_full);
    MBT_TRY(mbt_dataset_kind_subset(d->kind, d->train_full, cfg->subset, &d->train));
    MBT_TRY(mbt_dataset_kind_recipe(d->kind, d->train_full, cfg->image_size, &d->recipe));
    MBT_TRY(baseline_recipe(cfg, &d->recipe));
    MBT_TRY(training_views(cfg, &d->views));
    int workers = cfg->workers > 0 ? cfg->workers : 1;
    mbt_loader_config lc = {d->train, d->recipe, MBT_LOADER_PAIR, batch, workers, cfg->seed, 0, d->views};
    int on_device;
    MBT_TRY(use_device_data(d, cfg, device, &on_device));
    if (on_device) MBT_TRY(mbt_resident_loader_create(&d->resident, &lc, device));
    else MBT_TRY(mbt_loader_create(&d->pair, &lc));
    if (cfg->knn_every <= 0) return MBT_OK;
    if (unlabeled) MBT_TRY(mbt_dataset_open(&d->bank_full, kind, cfg->data_dir, MBT_SPLIT_TRAIN));
    MBT_TRY(mbt_dataset_kind_subset(d->kind, unlabeled ? d->bank_full : d->train_full, cfg->knn_subset, &d->bank));
    MBT_TRY(mbt_dataset_open(&d->test_full, kind, cfg->data_dir, MBT_SPLIT_TEST));
    MBT_TRY(mbt_dataset_kind_subset(d->kind, d->test_full, cfg->knn_test_subset, &d->test));
    mbt_loader_config ec = {d->bank, d->recipe, MBT_LOADER_EVAL, batch, workers, cfg->seed, 0, 0};
    MBT_TRY(mbt_loader_create(&d->eval[MBT_EVAL_BANK], &ec));
    ec.dataset = d->test;
    MBT_TRY(mbt_loader_create(&d->eval[MBT_EVAL_TEST], &ec));
    return MBT_OK;
}

mbt_status mbt_pretrain_data_open(mbt_pretrain_data **out, const mbt_pretrain_config *cfg, int batch,
                                  mbt_device device) {
    *out = NULL;
    mbt_pretrain_data *d = calloc(1, sizeof *d);
    if (!d) return MBT_FAIL(MBT_ERR_NOMEM, "pretrain data: out of memory");
    mbt_status st = open_all(d, cfg, batch, device);
    if (st != MBT_OK) {
        mbt_pretrain_data_close(d);
        return st;
    }
    *out = d;
    return MBT_OK;
}

int mbt_pretrain_data_image_size(const mbt_pretrain_data *d) { return d->recipe.size; }
int64_t mbt_pretrain_data_steps_per_epoch(const mbt_pretrain_data *d) {
    return d->resident ? mbt_resident_loader_batches(d->resident) : mbt_loader_batches(d->pair);
}
size_t mbt_pretrain_data_device_bytes(const mbt_pretrain_data *d) {
    return d->resident ? mbt_resident_loader_bytes(d->resident) : 0;
}
int mbt_pretrain_data_num_classes(const mbt_pretrain_data *d) { return d->num_classes; }
int mbt_pretrain_data_views(const mbt_pretrain_data *d) { return d->views; }

mbt_status mbt_pretrain_data_start_epoch(mbt_pretrain_data *d, int epoch, int64_t skip) {
    MBT_CHECK_ARG(epoch >= 1, "pretrain data: epoch %d (epochs count from 1)", epoch);
    if (d->resident) return mbt_resident_loader_start(d->resident, (uint32_t)epoch, skip);
    return mbt_loader_start(d->pair, (uint32_t)epoch, skip);
}

mbt_status mbt_pretrain_data_next_views(mbt_pretrain_data *d, const float **x, int *on_device) {
    int n;
    *on_device = d->resident != NULL;
    if (d->resident) {
        MBT_TRY(mbt_resident_loader_next_views(d->resident, x, &n));
    } else {
        mbt_batch b;
        MBT_TRY(mbt_loader_next(d->pair, &b));
        for (int v = 0; v < d->views; v++) x[v] = b.x[v];
        n = b.n;
    }
    if (n == 0)
        return MBT_FAIL(MBT_ERR_ARG, "pretrain data: the epoch's %lld batches are used up (start the next epoch)",
                        (long long)mbt_pretrain_data_steps_per_epoch(d));
    return MBT_OK;
}

mbt_status mbt_pretrain_data_next_pair(mbt_pretrain_data *d, const float **x1, const float **x2, int *on_device) {
    const float *x[MBT_LOADER_MAX_VIEWS] = {NULL};
    *x1 = *x2 = NULL;
    MBT_TRY(mbt_pretrain_data_next_views(d, x, on_device));
    *x1 = x[0];
    *x2 = x[1];
    return MBT_OK;
}

mbt_status mbt_pretrain_data_eval_begin(mbt_pretrain_data *d, mbt_eval_split split, int *count) {
    MBT_CHECK_ARG(split == MBT_EVAL_BANK || split == MBT_EVAL_TEST, "pretrain data: unknown k-NN split %d", (int)split);
    if (!d->eval[split])
        return MBT_FAIL(MBT_ERR_ARG, "pretrain data: the k-NN sets were not opened (knn_every is 0)");
    MBT_TRY(mbt_loader_start(d->eval[split], 0, 0));
    d->current = d->eval[split];
    *count = (int)mbt_dataset_count(split == MBT_EVAL_BANK ? d->bank : d->test);
    return MBT_OK;
}

mbt_status mbt_pretrain_data_eval_next(mbt_pretrain_data *d, const float **x, const int32_t **labels, int *n) {
    if (!d->current) return MBT_FAIL(MBT_ERR_ARG, "pretrain data: eval_next without eval_begin");
    mbt_batch b;
    MBT_TRY(mbt_loader_next(d->current, &b));
    *x = b.x1;
    *labels = b.labels;
    *n = b.n;
    return MBT_OK;
}
