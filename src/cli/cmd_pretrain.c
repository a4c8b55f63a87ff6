/* `mixbt pretrain`: flags, the official recipes as presets, and the call into the pretraining task. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/kind_help.h"
#include "cli/pretrain_progress.h"
#include "cli/progress.h"
#include "cli/signals.h"
#include "core/status.h"
#include "data/dataset_kind.h"
#include "tasks/pretrain.h"
#include "tasks/pretrain_config.h"

/* The official recipes (scripts-pretrain-resnet18/50 of the reference; SPEC section 3: d 1024, B 256,
 * 2000 epochs, lr 0.01, cosine with 10 warm-up epochs, which are the defaults): flag settings applied
 * where the command line does not give the flag. */
typedef struct {
    const char *name;
    const char *settings[24]; /* flag, value, flag, value, ..., NULL */
} preset;

static const preset PRESETS[] = {
    {"cifar10-resnet18", {"dataset", "cifar10", "arch", "resnet18", "lambda-bt", "0.0078125", "lambda-reg", "4", NULL}},
    {"cifar100-resnet18", {"dataset", "cifar100", "arch", "resnet18", "lambda-bt", "0.0078125", "lambda-reg", "4", NULL}},
    {"stl10-resnet18", {"dataset", "stl10", "arch", "resnet18", "lambda-bt", "0.0078125", "lambda-reg", "2", NULL}},
    {"tiny_imagenet-resnet18", {"dataset", "tiny_imagenet", "arch", "resnet18", "lambda-bt", "0.0009765", "lambda-reg", "4", NULL}},
    {"cifar10-resnet50", {"dataset", "cifar10", "arch", "resnet50", "lambda-bt", "0.0078125", "lambda-reg", "4", "epochs", "1000", NULL}},
    {"cifar100-resnet50", {"dataset", "cifar100", "arch", "resnet50", "lambda-bt", "0.0078125", "lambda-reg", "4", "epochs", "1000", NULL}},
    {"stl10-resnet50", {"dataset", "stl10", "arch", "resnet50", "lambda-bt", "0.0078125", "lambda-reg", "2", NULL}},
    {"tiny_imagenet-resnet50", {"dataset", "tiny_imagenet", "arch", "resnet50", "lambda-bt", "0.0009765", "lambda-reg", "4", NULL}},
    /* the baselines: ssl-sota's scripts-pretrain/{contrastive,byol,w-mse}/<dataset>.sh (ResNet-50; batch 384,
     * cfg.py's, unless the script passes --bs; epochs 200, cfg.py's, where it passes no --epoch) */
#define SCRIPT(ds, m, ...) {ds "-" m, {"method", m, "dataset", ds, "arch", "resnet50", __VA_ARGS__, NULL}}
    SCRIPT("cifar10", "simclr", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("cifar100", "simclr", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("stl10", "simclr", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("tiny_imagenet", "simclr", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("cifar10", "byol", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("cifar100", "byol", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("stl10", "byol", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "384"),
    SCRIPT("tiny_imagenet", "byol", "epochs", "1000", "lr", "3e-3", "emb", "64", "batch-size", "320"),
    SCRIPT("cifar10", "wmse", "epochs", "1000", "lr", "3e-3", "batch-size", "256", "emb", "64", "w-size", "128", "w-eps", "1e-2"),
    SCRIPT("cifar100", "wmse", "epochs", "200", "lr", "3e-3", "batch-size", "256", "emb", "64", "w-size", "128", "w-eps", "1e-2"),
    SCRIPT("stl10", "wmse", "epochs", "1000", "lr", "2e-3", "batch-size", "256", "emb", "128", "w-size", "256", "w-eps", "1e-2"),
    SCRIPT("tiny_imagenet", "wmse", "epochs", "1000", "lr", "2e-3", "batch-size", "256", "emb", "128", "w-size", "256", "w-eps", "1e-2"),
#undef SCRIPT
    /* ssl-sota's README: W-MSE 4 and W-MSE 2 (ResNet-18, cfg.py's w_eps 1e-4 and batch 384 where not given).
     * Its STL-10 and Tiny-ImageNet W-MSE 2 (w_size 256 at batch 384) cannot run, there as here: not listed */
#define README(ds, m, ...) {ds "-" m, {"method", "wmse", "dataset", ds, "arch", "resnet18", "w-eps", "1e-4", __VA_ARGS__, NULL}}
    README("cifar10", "wmse4", "epochs", "1000", "lr", "3e-3", "num-samples", "4", "batch-size", "256", "emb", "64", "w-size", "128"),
    README("cifar100", "wmse4", "epochs", "1000", "lr", "3e-3", "num-samples", "4", "batch-size", "256", "emb", "64", "w-size", "128"),
    README("stl10", "wmse4", "epochs", "2000", "lr", "2e-3", "num-samples", "4", "batch-size", "256", "emb", "128", "w-size", "256"),
    README("tiny_imagenet", "wmse4", "epochs", "1000", "lr", "2e-3", "num-samples", "4", "batch-size", "256", "emb", "128", "w-size", "256"),
    README("cifar10", "wmse2", "epochs", "1000", "lr", "3e-3", "batch-size", "384", "emb", "64", "w-size", "128"),
    README("cifar100", "wmse2", "epochs", "1000", "lr", "3e-3", "batch-size", "384", "emb", "64", "w-size", "128"),
#undef README
};

/* Flags that only one family of methods reads: given with the other, a one-line error. */
static const char *const BASELINE_ONLY[] = {"emb", "head-size", "head-layers", "num-samples", "tau", "byol-tau", "w-size",
                                            "w-iter", "w-eps", "no-norm", "lr-step", "drop", "drop-gamma", "eta-min",
                                            "T0", "Tmult", "no-lr-warmup", "cj0", "cj1", "cj2", "cj3", "cj-p", "gs-p",
                                            "crop-s0", "crop-s1", "crop-r0", "crop-r1", "hf-p", NULL};
static const char *const MIXBT_ONLY[] = {"lambda-bt", "lambda-reg", "feature-dim", "lr-schedule", "warmup-epochs", NULL};
static const char *const WMSE_ONLY[] = {"w-size", "w-iter", "w-eps", NULL};

/* The first flag of list set on the command line (or by a preset), or NULL. */
static const char *first_set(flag *flags, int n, const char *const *list) {
    for (; *list; list++) {
        flag *f = flags_find(flags, n, *list);
        if (f && f->set) return *list;
    }
    return NULL;
}

/* The method's flag combinations and its defaults where no flag or preset gave a value (ssl-sota's CIFAR
 * scripts for the baselines: lr 3e-3, 1000 epochs, batch 384, W-MSE 256, and cfg.py's k-NN k 5; lambda_reg
 * 0 for bt); 2 after a one-line error. */
static int apply_method(const char *method, flag *flags, int n) {
    int baseline = !strcmp(method, "simclr") || !strcmp(method, "byol") || !strcmp(method, "wmse");
    const char *bad = first_set(flags, n, baseline ? MIXBT_ONLY : BASELINE_ONLY);
    if (!bad && baseline && strcmp(method, "wmse")) bad = first_set(flags, n, WMSE_ONLY);
    if (!bad && !strcmp(method, "bt")) {
        flag *f = flags_find(flags, n, "lambda-reg");
        if (f->set && *(double *)f->value != 0) bad = "lambda-reg";
    }
    if (bad) {
        fprintf(stderr, "mixbt pretrain: --%s does not apply to --method %s\n", bad, method);
        return 2;
    }
    const char *defaults[12] = {NULL};
    if (!strcmp(method, "bt")) {
        defaults[0] = "lambda-reg", defaults[1] = "0";
    } else if (baseline) {
        const char *d[] = {"lr", "3e-3", "epochs", "1000", "batch-size", strcmp(method, "wmse") ? "384" : "256",
                           "knn-k", "5", NULL}; /* the monitor: ssl-sota's 5-NN */
        memcpy(defaults, d, sizeof d);
    }
    for (const char *const *s = defaults; *s; s += 2) {
        flag *f = flags_find(flags, n, s[0]);
        if (!f->set && flags_set_value("pretrain", f, s[1])) return 2;
    }
    return 0;
}

static const preset *find_preset(const char *name) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof *PRESETS; i++)
        if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
    return NULL;
}

/* Applies a preset's settings to the flags the command line left unset; 2 after a one-line error. */
static int apply_preset(const preset *p, flag *flags, int n) {
    for (const char *const *s = p->settings; *s; s += 2) {
        flag *f = flags_find(flags, n, s[0]);
        if (!f) { /* a mistake in the table above */
            fprintf(stderr, "mixbt pretrain: --preset %s: unknown flag --%s\n", p->name, s[0]);
            return 2;
        }
        if (f->set) continue;
        int rc = flags_set_value("pretrain", f, s[1]);
        if (rc) return rc;
    }
    return 0;
}

static flag_type flag_type_of(mbt_field_type t) {
    switch (t) {
    case MBT_FIELD_CHOICE: return FLAG_CHOICE;
    case MBT_FIELD_DEVICE: return FLAG_DEVICE;
    case MBT_FIELD_INT: return FLAG_INT;
    case MBT_FIELD_INT64:
    case MBT_FIELD_UINT64: return FLAG_INT64;
    case MBT_FIELD_DOUBLE: return FLAG_FLOAT;
    case MBT_FIELD_BOOL: return FLAG_BOOL;
    default: return FLAG_STRING;
    }
}

int cmd_pretrain(int argc, char **argv) {
    signals_install(); /* first: a signal during the setup is seen at the first poll */
    mbt_pretrain_config c;
    mbt_pretrain_config_defaults(&c);
    const char *preset_name = NULL;
    char kinds[256];
    char limit_help[3][256];
    kind_help_subset(limit_help[0], sizeof limit_help[0], "use the first N training images", MBT_KIND_PRETRAIN);
    kind_help_subset(limit_help[1], sizeof limit_help[1], "k-NN memory bank: the first N training images", MBT_KIND_PRETRAIN);
    kind_help_subset(limit_help[2], sizeof limit_help[2], "k-NN test images: the first N", MBT_KIND_PRETRAIN);
    /* --preset, then a flag per field of the configuration (tasks/pretrain_config.h) */
    size_t n_fields;
    const mbt_config_field *fields = mbt_pretrain_fields(&n_fields);
    flag flags[96];
    if (n_fields + 1 > sizeof flags / sizeof *flags) { /* the table outgrew this array */
        fprintf(stderr, "mixbt pretrain: internal error: %zu configuration fields, room for %zu flags\n", n_fields,
                sizeof flags / sizeof *flags - 1);
        return 1;
    }
    int n = 0;
    flags[n++] = (flag){"preset", FLAG_STRING, &preset_name, NULL, "NAME",
                        "an official recipe: {cifar10,cifar100,stl10,tiny_imagenet}-{resnet18,resnet50} (Mixed BT), "
                        "-{simclr,byol,wmse} (ssl-sota's scripts), -wmse4 and {cifar10,cifar100}-wmse2 (its README); explicit flags override it",
                        0, 0, -1};
    for (size_t i = 0; i < n_fields; i++) {
        const mbt_config_field *f = &fields[i];
        if (!f->flag) continue;
        flag *g = &flags[n++];
        *g = (flag){f->flag, flag_type_of(f->type), mbt_pretrain_field_ptr(&c, f), f->choices, f->meta, f->help, 0, f->min, f->max};
        /* what depends on the dataset kinds compiled in */
        if (!strcmp(f->key, "dataset")) g->choices = mbt_dataset_kind_names(kinds, sizeof kinds, MBT_KIND_PRETRAIN, "|", NULL);
        if (!strcmp(f->key, "subset")) g->help = limit_help[0];
        if (!strcmp(f->key, "knn_subset")) g->help = limit_help[1];
        if (!strcmp(f->key, "knn_test_subset")) g->help = limit_help[2];
    }
    int rc = flags_parse("pretrain", flags, n, argc, argv, 2, NULL, 0, NULL);
    if (rc == 1) {
        flags_print_help("pretrain", "--data DIR [--preset NAME] [flags]",
                         "Self-supervised pretraining with Mixed Barlow Twins (--method bt: plain Barlow Twins), or\n"
                         "ssl-sota's SimCLR, BYOL or W-MSE (--method simclr|byol|wmse, with its flags and recipes).\n"
                         "Writes DIR/config.json, DIR/metrics.csv, DIR/curves.png (its curves, redrawn after each\n"
                         "epoch: mixbt plot), DIR/last.safetensors, DIR/best.safetensors and\n"
                         "DIR/epoch_NNNN.safetensors. SIGINT (Ctrl-C) or SIGTERM stops it within seconds in any\n"
                         "phase (training, the k-NN pass, a checkpoint write) with DIR/last.safetensors saved and\n"
                         "exit status 130; --resume DIR then continues exactly (a cut k-NN pass runs again). A second\n"
                         "signal ends it at once (the last complete checkpoint stays). Off a terminal, progress lines\n"
                         "come every --print-every steps or MIXBT_PROGRESS_SECONDS (30) seconds. At the start it prints\n"
                         "what the model and a training step cost (as mixbt inspect --model) and records it in config.json.\n"
                         "--init-from FILE starts a new run from a checkpoint's model weights (the optimizer starts fresh).",
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
        if ((rc = apply_preset(p, flags, n))) return rc;
    }
    if (!c.resume_dir && (rc = apply_method(c.method ? c.method : "mixbt", flags, n))) return rc;
    if (!c.resume_dir && !c.data_dir) {
        fprintf(stderr, "mixbt pretrain: --data DIR is required (the folder holding the dataset)\n");
        return 2;
    }
    if (!c.resume_dir && !c.out_dir) {
        fprintf(stderr, "mixbt pretrain: --out DIR is required (the run folder to create)\n");
        return 2;
    }
    c.progress_seconds = progress_interval();
    pretrain_progress display;
    mbt_pretrain_observer observer = pretrain_progress_make(&display, stderr, c.print_every, c.progress_seconds);
    mbt_status st = mbt_pretrain_run(&c, &observer);
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
