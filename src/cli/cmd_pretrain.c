/* `mixbt pretrain`: flags, the official recipes as presets, and the call into the pretraining task. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/kind_help.h"
#include "cli/progress.h"
#include "core/status.h"
#include "data/dataset_kind.h"
#include "tasks/pretrain.h"
#include "tasks/stop.h"

/* The official recipes (scripts-pretrain-resnet18/50 of the reference; SPEC section 3). */
typedef struct {
    const char *name, *dataset, *arch;
    double lambda_bt, lambda_reg;
} preset;

static const preset PRESETS[] = {
    {"cifar10-resnet18", "cifar10", "resnet18", 0.0078125, 4.0},
    {"cifar100-resnet18", "cifar100", "resnet18", 0.0078125, 4.0},
    {"stl10-resnet18", "stl10", "resnet18", 0.0078125, 2.0},
    {"tiny_imagenet-resnet18", "tiny_imagenet", "resnet18", 0.0009765, 4.0},
    {"cifar10-resnet50", "cifar10", "resnet50", 0.0078125, 4.0},
    {"cifar100-resnet50", "cifar100", "resnet50", 0.0078125, 4.0},
    {"stl10-resnet50", "stl10", "resnet50", 0.0078125, 2.0},
    {"tiny_imagenet-resnet50", "tiny_imagenet", "resnet50", 0.0009765, 4.0},
};

static const preset *find_preset(const char *name) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof *PRESETS; i++)
        if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
    return NULL;
}

int cmd_pretrain(int argc, char **argv) {
    mbt_stop_install(); /* first: a signal during the setup is seen at the first poll */
    mbt_pretrain_config c;
    mbt_pretrain_config_defaults(&c);
    const char *preset_name = NULL;
    int64_t seed = (int64_t)c.seed;
    int64_t max_steps = c.max_steps;
    char kinds[256];
    char limit_help[3][256];
    kind_help_subset(limit_help[0], sizeof limit_help[0], "use the first N training images", MBT_KIND_PRETRAIN);
    kind_help_subset(limit_help[1], sizeof limit_help[1], "k-NN memory bank: the first N training images", MBT_KIND_PRETRAIN);
    kind_help_subset(limit_help[2], sizeof limit_help[2], "k-NN test images: the first N", MBT_KIND_PRETRAIN);
    flag flags[] = {
        {"preset", FLAG_STRING, &preset_name, NULL, "NAME", "an official recipe: {cifar10,cifar100,stl10,tiny_imagenet}-{resnet18,resnet50}; explicit flags override it", 0, 0, -1},
        {"dataset", FLAG_CHOICE, &c.dataset, mbt_dataset_kind_names(kinds, sizeof kinds, MBT_KIND_PRETRAIN, "|", NULL), "NAME", "training set", 0, 0, -1},
        {"data", FLAG_STRING, &c.data_dir, NULL, "DIR", "folder holding the dataset's files (required)", 0, 0, -1},
        {"subset", FLAG_INT, &c.subset, NULL, "N", limit_help[0], 0, 0, 1e9},
        {"image-size", FLAG_INT, &c.image_size, NULL, "PX", "train and monitor at PX x PX pixels (0: the dataset's; smaller is faster, for trials and tests)", 0, 0, 4096},
        {"arch", FLAG_CHOICE, &c.arch, "resnet18|resnet50", "NAME", "backbone", 0, 0, -1},
        {"feature-dim", FLAG_INT, &c.feature_dim, NULL, "D", "projector output size d", 0, 1, 65536},
        {"batch-size", FLAG_INT, &c.batch_size, NULL, "B", "original images per step", 0, 2, 65536},
        {"epochs", FLAG_INT, &c.epochs, NULL, "E", "epochs (the schedule's length)", 0, 1, 1e6},
        {"lr", FLAG_FLOAT, &c.lr, NULL, "LR", "learning-rate multiplier of the schedule", 0, 0, 100},
        {"lr-schedule", FLAG_CHOICE, &c.lr_schedule, "cosine|step", "S", "cosine with linear warm-up, or MultiStepLR at E-50, E-25", 0, 0, -1},
        {"warmup-epochs", FLAG_INT, &c.warmup_epochs, NULL, "E", "cosine: epochs of linear warm-up from 0 (the reference: 10)", 0, 0, 1e6},
        {"weight-decay", FLAG_FLOAT, &c.weight_decay, NULL, "WD", "Adam L2 weight decay", 0, 0, 1},
        {"lambda-bt", FLAG_FLOAT, &c.lambda_bt, NULL, "L", "weight of the off-diagonal Barlow Twins terms", 0, 0, 1e3},
        {"lambda-reg", FLAG_FLOAT, &c.lambda_reg, NULL, "L", "scale of the mixed-sample regulariser (0: plain Barlow Twins)", 0, 0, 1e3},
        {"seed", FLAG_INT64, &seed, NULL, "S", "random seed", 0, 0, 9.2e18},
        {"threads", FLAG_INT, &c.threads, NULL, "N", "compute threads", 0, 1, 1024},
        {"workers", FLAG_INT, &c.workers, NULL, "N", "data loader threads", 0, 1, 256},
        {"device", FLAG_DEVICE, &c.device, NULL, "DEV", "where to train: cpu, cuda or cuda:N (a resumed run may change it)", 0, 0, -1},
        {"precision", FLAG_CHOICE, &c.precision, "fp32|bf16", "P", "the backbone's activations and convolutions: fp32 (TF32 products on a GPU unless MIXBT_NO_TF32=1), or bf16 with fp32 weights, BN statistics, projector and loss (cuda only; a resumed run may change it)", 0, 0, -1},
        {"loader", FLAG_CHOICE, &c.loader, "auto|host|device", "WHERE", "where training images are augmented: host (loader threads), device (the set kept on --device as bytes; one image size, no blur), auto (device on a GPU when the set fits in a quarter of its free memory); the batches are the same", 0, 0, -1},
        {"knn-every", FLAG_INT, &c.knn_every, NULL, "E", "run the k-NN monitor every E epochs (0: never)", 0, 0, 1e6},
        {"knn-k", FLAG_INT, &c.knn_k, NULL, "K", "neighbours of the k-NN monitor", 0, 1, 1e6},
        {"knn-t", FLAG_FLOAT, &c.knn_t, NULL, "T", "temperature of the k-NN weights exp(sim/T)", 0, 1e-6, 1e6},
        {"knn-subset", FLAG_INT, &c.knn_subset, NULL, "N", limit_help[1], 0, 0, 1e9},
        {"knn-test-subset", FLAG_INT, &c.knn_test_subset, NULL, "N", limit_help[2], 0, 0, 1e9},
        {"checkpoint-every", FLAG_INT, &c.checkpoint_every, NULL, "E", "keep a numbered checkpoint every E epochs", 0, 1, 1e6},
        {"print-every", FLAG_INT, &c.print_every, NULL, "N", "steps between progress lines when not on a terminal", 0, 1, 1e9},
        {"max-steps", FLAG_INT64, &max_steps, NULL, "N", "stop after N steps in total (0: run all epochs)", 0, 0, 1e12},
        {"out", FLAG_STRING, &c.out_dir, NULL, "DIR", "run folder (created; must not hold another run)", 0, 0, -1},
        {"resume", FLAG_STRING, &c.resume_dir, NULL, "DIR", "continue the run in DIR from its last checkpoint", 0, 0, -1},
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("pretrain", flags, n, argc, argv, 2, NULL, 0, NULL);
    if (rc == 1) {
        flags_print_help("pretrain", "--data DIR [--preset NAME] [flags]",
                         "Self-supervised pretraining with Mixed Barlow Twins (Barlow Twins with --lambda-reg 0).\n"
                         "Writes DIR/config.json, DIR/metrics.csv, DIR/last.safetensors, DIR/best.safetensors\n"
                         "and DIR/epoch_NNNN.safetensors. SIGINT (Ctrl-C) or SIGTERM stops it within seconds in any\n"
                         "phase (training, the k-NN pass, a checkpoint write) with DIR/last.safetensors saved and\n"
                         "exit status 130; --resume DIR then continues exactly (a cut k-NN pass runs again). A second\n"
                         "signal ends it at once (the last complete checkpoint stays). Off a terminal, progress lines\n"
                         "come every --print-every steps or MIXBT_PROGRESS_SECONDS (30) seconds.",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (preset_name) {
        const preset *p = find_preset(preset_name);
        if (!p) {
            fprintf(stderr, "mixbt pretrain: --preset: unknown recipe '%s' (see mixbt pretrain --help)\n", preset_name);
            return 2;
        }
        /* the recipe's values, where no flag overrides them (SPEC section 3: d 1024, B 256, 2000 epochs, lr 0.01) */
        if (!flags_find(flags, n, "dataset")->set) c.dataset = p->dataset;
        if (!flags_find(flags, n, "arch")->set) c.arch = p->arch;
        if (!flags_find(flags, n, "lambda-bt")->set) c.lambda_bt = p->lambda_bt;
        if (!flags_find(flags, n, "lambda-reg")->set) c.lambda_reg = p->lambda_reg;
        if (!flags_find(flags, n, "feature-dim")->set) c.feature_dim = 1024;
        if (!flags_find(flags, n, "batch-size")->set) c.batch_size = 256;
        if (!flags_find(flags, n, "epochs")->set) c.epochs = 2000;
        if (!flags_find(flags, n, "lr")->set) c.lr = 0.01;
        if (!flags_find(flags, n, "lr-schedule")->set) c.lr_schedule = "cosine";
        if (!flags_find(flags, n, "warmup-epochs")->set) c.warmup_epochs = 10;
    }
    c.seed = (uint64_t)seed;
    c.max_steps = (int)max_steps;
    if (!c.resume_dir && !c.data_dir) {
        fprintf(stderr, "mixbt pretrain: --data DIR is required (the folder holding the dataset)\n");
        return 2;
    }
    if (!c.resume_dir && !c.out_dir) {
        fprintf(stderr, "mixbt pretrain: --out DIR is required (the run folder to create)\n");
        return 2;
    }
    c.progress_seconds = progress_interval();
    mbt_status st = mbt_pretrain_run(&c, stderr);
    if (st == MBT_ERR_INTERRUPTED) { /* a signal, or --max-steps */
        fprintf(stderr, "mixbt pretrain: %s\n", mbt_error_message());
        return 130;
    }
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt pretrain: %s\n", mbt_error_message());
        return 1;
    }
    return 0;
}
