/* The transfer evaluation protocol (SPEC section 5, the reference's evaluate_transfer.py): the frozen
 * backbone of a checkpoint pretrained on CIFAR / STL-10 / Tiny-ImageNet, a Linear(emb, classes) classifier
 * with bias on its unnormalised features, every image Resize((s, s)) + ToTensor + Normalize(the target's
 * constants) with no augmentation, shuffled training batches of 128, cross-entropy,
 * SGD(lr 0.01, momentum 0.9, no weight decay), MultiStepLR([60, 80], 0.1) over 100 epochs, the best
 * test top-1 reported. The backbone runs in training mode on the training batches by default (SPEC
 * quirk 4), or with frozen statistics. It is one configuration of the probe engine (linear_probe.h).
 *
 * Targets: the dataset kinds marked MBT_KIND_TRANSFER (data/dataset_kind.c: mixbt's names and the
 * reference's --transfer_dataset names, the readers with the reference's splits, the normalisation
 * constants of the reference's data_statistics.py). */
#ifndef MBT_TRANSFER_H
#define MBT_TRANSFER_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"
#include "data/dataset_kind.h"
#include "tasks/linear_probe.h"

/* The target called name (mixbt's or the reference's name): a kind with MBT_KIND_TRANSFER, whose mean
 * and std are the target's constants; NULL if there is none. */
const mbt_dataset_kind *mbt_transfer_target_find(const char *name);
/* Normalisation constants by name: any kind that has them (every target; "cifar10" / "cifar100"
 * (0.5, 0.5, 0.5; what the reference's table evidently meant for them, SPEC quirk 6), "stl10"), or
 * "imagenet". 0 if unknown. */
int mbt_transfer_norm_find(const char *name, float mean[3], float std[3]);
/* The names mbt_transfer_norm_find knows, for messages ("a target's name, cifar10, ... or imagenet"). */
const char *mbt_transfer_norm_names(char *buf, size_t cap);

typedef struct {
    mbt_eval_source src;           /* subset / test_subset: N training / test images, spread evenly */
    const char *target;
    const char *norm;              /* NULL: the target's constants; else a name for mbt_transfer_norm_find */
    int has_mean_std;              /* 1: mean / std below replace the constants */
    float mean[3], std[3];
    int size;                      /* Resize((size, size)); 0: the checkpoint's input size (32 for CIFAR
                                    * pretraining, 64 for STL-10 / Tiny-ImageNet, as the reference) */
    const char *out_dir;           /* NULL: no run folder; else config.json, metrics.csv, transfer_head.safetensors */
    int epochs, batch_size;        /* 100, 128 */
    double lr, momentum, weight_decay; /* 0.01, 0.9, 0 */
    int milestones[MBT_PROBE_MAX_MILESTONES], n_milestones; /* 60, 80 */
    double gamma;                  /* 0.1 */
    mbt_probe_bn bn;               /* training-mode BN (the reference) or frozen */
    int features_once;             /* frozen BN, features extracted once: same numbers as bn frozen */
    int extract_batch;
    uint64_t seed;
} mbt_transfer_config;

/* The reference protocol: 100 epochs, batch 128, SGD lr 0.01 momentum 0.9, no weight decay, milestones
 * 60 and 80 with gamma 0.1, training-mode BN, the target's constants, the checkpoint's size, seed 0,
 * extract batch 256, 2 threads, 2 workers. */
void mbt_transfer_defaults(mbt_transfer_config *c);

typedef struct {
    mbt_probe_result probe;
    const mbt_dataset_kind *target;
    float mean[3], std[3]; /* the constants used */
} mbt_transfer_result;

/* Runs the protocol (see mbt_probe_run for the run folder, progress and log). Errors: an unknown
 * target or --norm name, bad constants, and everything the engine reports (missing or malformed
 * dataset files, named). */
mbt_status mbt_transfer_run(const mbt_transfer_config *c, const mbt_eval_progress *progress,
                            mbt_probe_epoch_fn on_epoch, void *ctx, FILE *log, mbt_transfer_result *result);

#endif
