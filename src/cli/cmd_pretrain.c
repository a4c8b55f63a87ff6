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
#include "tasks/pretrain_config.h"
#include "tasks/stop.h"

/* The official recipes (scripts-pretrain-resnet18/50 of the reference; SPEC section 3: d 1024, B 256,
 * 2000 epochs, lr 0.01, cosine with 10 warm-up epochs, which are the defaults): flag settings applied
 * where the command line does not give the flag. */
typedef struct {
    const char *name;
    const char *settings[16]; /* flag, value, flag, value, ..., NULL */
} preset;

static const preset PRESETS[] = {
    {"cifar10-resnet18", {"dataset", "cifar10", "arch", "resnet18", "lambda-bt", "0.0078125", "lambda-reg", "4", NULL}},
    {"cifar100-resnet18", {"dataset", "cifar100", "arch", "resnet18", "lambda-bt", "0.0078125", "lambda-reg", "4", NULL}},
    {"stl10-resnet18", {"dataset", "stl10", "arch", "resnet18", "lambda-bt", "0.0078125", "lambda-reg", "2", NULL}},
    {"tiny_imagenet-resnet18", {"dataset", "tiny_imagenet", "arch", "resnet18", "lambda-bt", "0.0009765", "lambda-reg", "4", NULL}},
    {"cifar10-resnet50", {"dataset", "cifar10", "arch", "resnet50", "lambda-bt", "0.0078125", "lambda-reg", "4", NULL}},
    {"cifar100-resnet50", {"dataset", "cifar100", "arch", "resnet50", "lambda-bt", "0.0078125", "lambda-reg", "4", NULL}},
    {"stl10-resnet50", {"dataset", "stl10", "arch", "resnet50", "lambda-bt", "0.0078125", "lambda-reg", "2", NULL}},
    {"tiny_imagenet-resnet50", {"dataset", "tiny_imagenet", "arch", "resnet50", "lambda-bt", "0.0009765", "lambda-reg", "4", NULL}},
};

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
    default: return FLAG_STRING;
    }
}

int cmd_pretrain(int argc, char **argv) {
    mbt_stop_install(); /* first: a signal during the setup is seen at the first poll */
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
                        "an official recipe: {cifar10,cifar100,stl10,tiny_imagenet}-{resnet18,resnet50}; explicit flags override it",
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
        if ((rc = apply_preset(p, flags, n))) return rc;
    }
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
