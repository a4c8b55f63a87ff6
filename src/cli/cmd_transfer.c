/* `mixbt transfer`: the transfer evaluation protocol of a checkpoint on another dataset (SPEC section 5,
 * reference evaluate_transfer.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/eval_flags.h"
#include "cli/eval_progress.h"
#include "cli/flags.h"
#include "cli/kind_help.h"
#include "cli/probe_cli.h"
#include "core/status.h"
#include "data/dataset_kind.h"
#include "cli/signals.h"
#include "tasks/transfer.h"

/* "a,b,c" into three positive-or-any floats; 0 on bad text. */
static int parse_triple(const char *text, float v[3]) {
    const char *s = text;
    for (int k = 0; k < 3; k++) {
        char *end;
        double x = strtod(s, &end);
        if (end == s || (k < 2 && *end != ',') || (k == 2 && *end)) return 0;
        v[k] = (float)x;
        s = end + 1;
    }
    return 1;
}

/* "60,80" into up to MBT_PROBE_MAX_MILESTONES epochs; "none" or "" for none; 0 on bad text. */
static int parse_milestones(const char *text, int *m, int *n) {
    *n = 0;
    if (!*text || !strcmp(text, "none")) return 1;
    const char *s = text;
    for (;;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1000000 || *n == MBT_PROBE_MAX_MILESTONES) return 0;
        m[(*n)++] = (int)v;
        if (!*end) return 1;
        if (*end != ',') return 0;
        s = end + 1;
    }
}

int cmd_transfer(int argc, char **argv) {
    mbt_transfer_config c;
    mbt_transfer_defaults(&c);
    const char *bn = "train", *mean = NULL, *std = NULL, *milestones = "60,80";
    int64_t seed = 0;
    char kinds[256], names[256], target_help[256], subset_help[256];
    snprintf(target_help, sizeof target_help, "target dataset (required; %s are the reference's names)",
             kind_help_aliases(names, sizeof names, MBT_KIND_TRANSFER));
    snprintf(subset_help, sizeof subset_help,
             "training images: N of them (the first N for %s, else spread over the classes; 0: all)",
             kind_help_titles(names, sizeof names, MBT_KIND_TRANSFER, MBT_SUBSET_FIRST, "/"));
    flag flags[] = {
        EVAL_FLAG_CHECKPOINT(&c.src),
        {"target", FLAG_CHOICE, &c.target, mbt_dataset_kind_names(kinds, sizeof kinds, MBT_KIND_TRANSFER, "|", "|"), "NAME", target_help, 0, 0, -1},
        EVAL_FLAG_DATA(&c.src, "folder holding the target's files in their official layout (required)"),
        EVAL_FLAG_ARCH(&c.src),
        {"size", FLAG_INT, &c.size, NULL, "S", "Resize((S, S)) of every image (0: the checkpoint's input size, 32 for CIFAR, 64 for STL-10/Tiny-ImageNet)", 0, 0, 1024},
        {"norm", FLAG_STRING, &c.norm, NULL, "NAME", "normalisation constants of another target, or cifar10, stl10, imagenet (default: the target's)", 0, 0, -1},
        {"mean", FLAG_STRING, &mean, NULL, "R,G,B", "normalisation mean (replaces the target's; needs --std)", 0, 0, -1},
        {"std", FLAG_STRING, &std, NULL, "R,G,B", "normalisation standard deviation (needs --mean)", 0, 0, -1},
        {"epochs", FLAG_INT, &c.epochs, NULL, "E", "epochs", 0, 1, 1e6},
        {"batch-size", FLAG_INT, &c.batch_size, NULL, "B", "images per SGD step (and per training-mode BN batch)", 0, 2, 65536},
        {"lr", FLAG_FLOAT, &c.lr, NULL, "LR", "SGD learning rate of the first epochs", 0, 1e-12, 100},
        {"momentum", FLAG_FLOAT, &c.momentum, NULL, "M", "SGD momentum", 0, 0, 0.999999},
        {"weight-decay", FLAG_FLOAT, &c.weight_decay, NULL, "WD", "SGD L2 weight decay", 0, 0, 1},
        {"milestones", FLAG_STRING, &milestones, NULL, "E1,E2", "epochs after which the learning rate is multiplied by 0.1 (MultiStepLR; 'none')", 0, 0, -1},
        {"bn", FLAG_CHOICE, &bn, "train|frozen", "MODE", "backbone BN on training batches: batch statistics with drifting running statistics (the reference), or frozen", 0, 0, -1},
        {"features-once", FLAG_BOOL, &c.features_once, NULL, NULL, "frozen BN, features extracted once and the classifier trained on them: the same numbers as --bn frozen, much faster", 0, 0, -1},
        EVAL_FLAG_SUBSET(&c.src, subset_help),
        EVAL_FLAG_TEST_SUBSET(&c.src, "test images: N of them, chosen the same way (0: all)"),
        {"extract-batch", FLAG_INT, &c.extract_batch, NULL, "B", "images per forward pass where BN is frozen", 0, 1, 65536},
        {"seed", FLAG_INT64, &seed, NULL, "S", "seed of the classifier's initialisation and the shuffling", 0, 0, 9.2e18},
        EVAL_FLAGS_RUN(&c.src),
        {"out", FLAG_STRING, &c.out_dir, NULL, "DIR", "run folder for config.json, metrics.csv and transfer_head.safetensors", 0, 0, -1},
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("transfer", flags, n, argc, argv, 2, NULL, 0, NULL);
    if (rc == 1) {
        flags_print_help("transfer", "--checkpoint FILE --target NAME --data DIR [flags]",
                         "Transfer evaluation: a Linear(emb, classes) classifier on the frozen backbone, every image\n"
                         "Resize((S, S)) + Normalize(the target's constants), no augmentation, shuffled batches,\n"
                         "cross-entropy, SGD lr 0.01 momentum 0.9 multiplied by 0.1 after epochs 60 and 80, 100 epochs;\n"
                         "per-epoch train/test loss, top-1, top-5, and the best test top-1. As the reference, BN runs in\n"
                         "training mode on training batches (--bn frozen or --features-once to keep it fixed).\n"
                         "Targets in their official layouts: see docs/EVALUATION.md.",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (!c.src.checkpoint) {
        fprintf(stderr, "mixbt transfer: --checkpoint FILE is required\n");
        return 2;
    }
    if (!c.target) {
        fprintf(stderr, "mixbt transfer: --target NAME is required (%s)\n",
                mbt_dataset_kind_names(names, sizeof names, MBT_KIND_TRANSFER, ", ", NULL));
        return 2;
    }
    if (!c.src.data_dir) {
        fprintf(stderr, "mixbt transfer: --data DIR is required (the folder holding the target's files)\n");
        return 2;
    }
    if ((rc = probe_cli_bn_mode("transfer", flags, n, bn, c.features_once, &c.bn))) return rc;
    if ((mean != NULL) != (std != NULL)) {
        fprintf(stderr, "mixbt transfer: --mean and --std go together\n");
        return 2;
    }
    if (mean && (!parse_triple(mean, c.mean) || !parse_triple(std, c.std))) {
        fprintf(stderr, "mixbt transfer: --mean '%s' / --std '%s': three comma-separated numbers each expected\n", mean, std);
        return 2;
    }
    c.has_mean_std = mean != NULL;
    float scratch[2][3];
    if (c.norm && !mbt_transfer_norm_find(c.norm, scratch[0], scratch[1])) {
        fprintf(stderr, "mixbt transfer: --norm %s: unknown (%s)\n", c.norm, mbt_transfer_norm_names(names, sizeof names));
        return 2;
    }
    if (!parse_milestones(milestones, c.milestones, &c.n_milestones)) {
        fprintf(stderr, "mixbt transfer: --milestones '%s': comma-separated epochs (at most %d) or 'none' expected\n",
                milestones, MBT_PROBE_MAX_MILESTONES);
        return 2;
    }
    c.seed = (uint64_t)seed;
    eval_progress ep;
    mbt_eval_progress prog = eval_progress_make(&ep, stderr);
    mbt_transfer_result r;
    signals_install();
    mbt_status st = mbt_transfer_run(&c, &prog, probe_cli_print_epoch, stderr, stderr, &r);
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt transfer: %s\n", mbt_error_message());
        return st == MBT_ERR_INTERRUPTED ? 130 : 1;
    }
    const mbt_probe_result *p = &r.probe;
    printf("transfer: best test top-1 %.2f%% (epoch %d), last top-1 %.2f%% top-5 %.2f%% loss %.4f  (%s, %d classes, %d px, "
           "mean %.3g,%.3g,%.3g std %.3g,%.3g,%.3g, %s, %d epochs, %lld train / %lld test images, %.1f s)\n",
           p->best.test_top1, p->best.epoch, p->last.test_top1, p->last.test_top5, p->last.test_loss, r.target->name,
           p->num_classes, p->image_size, r.mean[0], r.mean[1], r.mean[2], r.std[0], r.std[1], r.std[2],
           p->features_once ? "frozen BN, features once" : c.bn == MBT_PROBE_BN_TRAIN ? "training-mode BN" : "frozen BN",
           c.epochs, (long long)p->train_images, (long long)p->test_images, p->seconds);
    return 0;
}
