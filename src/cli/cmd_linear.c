/* `mixbt linear`: the linear evaluation protocol of a checkpoint (SPEC section 5, reference linear.py), or
 * ssl-sota's (section 7, eval/sgd.py). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/eval_flags.h"
#include "cli/eval_progress.h"
#include "cli/flags.h"
#include "cli/kind_help.h"
#include "cli/probe_cli.h"
#include "core/status.h"
#include "data/dataset_kind.h"
#include "tasks/linear_probe.h"
#include "cli/signals.h"

int cmd_linear(int argc, char **argv) {
    mbt_linear_probe_config c;
    mbt_linear_probe_defaults(&c);
    const char *bn = "train";
    const char *protocol = "reference";
    int64_t seed = 0;
    char kinds[256];
    char limit_help[2][256];
    kind_help_subset(limit_help[0], sizeof limit_help[0], "training images: the first N", MBT_KIND_EVAL);
    kind_help_subset(limit_help[1], sizeof limit_help[1], "test images: the first N", MBT_KIND_EVAL);
    flag flags[] = {
        EVAL_FLAG_CHECKPOINT(&c.src),
        {"dataset", FLAG_CHOICE, &c.dataset, mbt_dataset_kind_names(kinds, sizeof kinds, MBT_KIND_EVAL, "|", NULL), "NAME", "evaluation dataset", 0, 0, -1},
        EVAL_FLAG_DATA(&c.src, "folder holding the dataset's files (required)"),
        EVAL_FLAG_ARCH(&c.src),
        {"protocol", FLAG_CHOICE, &protocol, "reference|sslsota|imagenet", "NAME", "reference: linear.py; sslsota: the baselines' eval/sgd.py (features once, full shuffled batches, 500 epochs of batch 1000); imagenet: evaluate_imagenet.py (SGD 0.3, cosine, 100 epochs of batch 256)", 0, 0, -1},
        {"epochs", FLAG_INT, &c.epochs, NULL, "E", "epochs; the learning rate decays from 1e-2 to 1e-6 over them (--protocol sslsota: default 500; imagenet: 100, from 0.3 along a cosine)", 0, 1, 1e6},
        {"batch-size", FLAG_INT, &c.batch_size, NULL, "B", "images per classifier step (and per training-mode BN batch) (--protocol sslsota: default 1000; imagenet: 256)", 0, 2, 65536},
        {"weight-decay", FLAG_FLOAT, &c.weight_decay, NULL, "WD", "Adam L2 weight decay (--protocol imagenet: SGD's, default 1e-6)", 0, 0, 1},
        {"bn", FLAG_CHOICE, &bn, "train|frozen", "MODE", "backbone BN on training batches: batch statistics with drifting running statistics (the reference), or frozen", 0, 0, -1},
        {"features-once", FLAG_BOOL, &c.features_once, NULL, NULL, "extract features once (no augmentation, frozen BN) and train on them: much faster", 0, 0, -1},
        EVAL_FLAG_SUBSET(&c.src, limit_help[0]),
        EVAL_FLAG_TEST_SUBSET(&c.src, limit_help[1]),
        {"extract-batch", FLAG_INT, &c.extract_batch, NULL, "B", "images per forward pass where BN is frozen", 0, 1, 65536},
        {"seed", FLAG_INT64, &seed, NULL, "S", "seed of the classifier's initialisation, the shuffling and the augmentations", 0, 0, 9.2e18},
        EVAL_FLAGS_RUN(&c.src),
        {"out", FLAG_STRING, &c.out_dir, NULL, "DIR", "run folder for config.json, metrics.csv and linear_head.safetensors", 0, 0, -1},
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("linear", flags, n, argc, argv, 2, NULL, 0, NULL);
    if (rc == 1) {
        flags_print_help("linear", "--checkpoint FILE --data DIR [flags]",
                         "Linear evaluation: a Linear(emb, classes) classifier on the frozen backbone, cross-entropy,\n"
                         "Adam lr 1e-2 decayed exponentially to 1e-6, weight decay 5e-6, augmented training images\n"
                         "(the dataset's pretraining augmentation, one view); per-epoch train/test loss, top-1, top-5.\n"
                         "As the reference, BN runs in training mode on training batches (--bn frozen to keep it\n"
                         "fixed); --features-once trains on features extracted once without augmentation.\n"
                         "--protocol sslsota: the baselines' linear evaluation (ssl-sota eval/sgd.py): raw features of\n"
                         "the training images (evaluation transform and BN) extracted once, each epoch a new order cut\n"
                         "into full batches (the rest unused); its result is the last epoch's test top-1 / top-5.\n"
                         "--protocol imagenet: the original's evaluate_imagenet.py (--weights freeze) for ImageNet\n"
                         "(--dataset imagenet): a fresh fc (weight normal(0, 0.01), bias 0) on the backbone in\n"
                         "evaluation mode, training images RandomResizedCrop(224) + flip, SGD lr 0.3 momentum 0.9,\n"
                         "CosineAnnealingLR over the epochs; val Resize(256) + CenterCrop(224).",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (!c.src.checkpoint) {
        fprintf(stderr, "mixbt linear: --checkpoint FILE is required\n");
        return 2;
    }
    if (!c.src.data_dir) {
        fprintf(stderr, "mixbt linear: --data DIR is required (the folder holding the dataset)\n");
        return 2;
    }
    if (!strcmp(protocol, "sslsota")) {
        if (flags_find(flags, n, "bn")->set && !strcmp(bn, "train")) {
            fprintf(stderr, "mixbt linear: --protocol sslsota extracts the features once with frozen BN; it cannot be "
                            "combined with --bn train\n");
            return 2;
        }
        c.protocol = MBT_LINEAR_SSLSOTA;
        c.features_once = 1;
        c.bn = MBT_PROBE_BN_FROZEN;
        if (!flags_find(flags, n, "epochs")->set) c.epochs = 500;
        if (!flags_find(flags, n, "batch-size")->set) c.batch_size = 1000;
    } else if (!strcmp(protocol, "imagenet")) {
        if ((flags_find(flags, n, "bn")->set && !strcmp(bn, "train")) || c.features_once) {
            fprintf(stderr, "mixbt linear: --protocol imagenet trains on augmented images with the backbone in "
                            "evaluation mode; it cannot be combined with --bn train or --features-once\n");
            return 2;
        }
        c.protocol = MBT_LINEAR_IMAGENET;
        c.bn = MBT_PROBE_BN_FROZEN;
        if (!flags_find(flags, n, "epochs")->set) c.epochs = 100;
        if (!flags_find(flags, n, "batch-size")->set) c.batch_size = 256;
        if (!flags_find(flags, n, "weight-decay")->set) c.weight_decay = 1e-6;
    } else if ((rc = probe_cli_bn_mode("linear", flags, n, bn, c.features_once, &c.bn))) return rc;
    c.seed = (uint64_t)seed;
    eval_progress ep;
    mbt_eval_progress prog = eval_progress_make(&ep, stderr);
    mbt_linear_probe_result r;
    signals_install();
    mbt_status st = mbt_linear_probe_run(&c, &prog, probe_cli_print_epoch, stderr, stderr, &r);
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt linear: %s\n", mbt_error_message());
        return st == MBT_ERR_INTERRUPTED ? 130 : 1;
    }
    if (c.protocol == MBT_LINEAR_SSLSOTA) {
        printf("linear (sslsota): test top-1 %.2f%% top-5 %.2f%% loss %.4f after %d epochs  (best top-1 %.2f%% at epoch "
               "%d; batches of %d, %lld train / %lld test images, %.1f s)\n",
               r.last.test_top1, r.last.test_top5, r.last.test_loss, c.epochs, r.best.test_top1, r.best.epoch,
               c.batch_size, (long long)r.train_images, (long long)r.test_images, r.seconds);
        return 0;
    }
    printf("linear%s: best test top-1 %.2f%% (epoch %d), last top-1 %.2f%% top-5 %.2f%% loss %.4f  (%s, %s BN, %d epochs, "
           "%lld train / %lld test images, %.1f s)\n",
           c.protocol == MBT_LINEAR_IMAGENET ? " (imagenet)" : "", r.best.test_top1, r.best.epoch, r.last.test_top1, r.last.test_top5, r.last.test_loss,
           c.features_once ? "features once" : "augmented images", c.bn == MBT_PROBE_BN_TRAIN ? "training-mode" : "frozen",
           c.epochs, (long long)r.train_images, (long long)r.test_images, r.seconds);
    return 0;
}
