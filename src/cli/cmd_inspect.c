/* `mixbt inspect`: a checkpoint's tensors and metadata, and what a model costs (parameters, multiply-adds
 * per image and per training step), for a checkpoint or for an architecture named by flags. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "io/checkpoint_file.h"
#include "models/model_cost.h"
#include "tasks/evaluate_model.h"

static const char *stem_text(mbt_stem stem) {
    return stem == MBT_STEM_CIFAR ? "3x3 conv, no max pool" : stem == MBT_STEM_SMALL ? "3x3 conv, max pool"
                                                                                     : "7x7 conv stride 2, max pool";
}

/* 1234567 -> "1,234,567" */
static const char *grouped(double v, char *buf, size_t size) {
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

static void print_part(const char *name, const mbt_cost_part *p) {
    char params[32];
    printf("  %-10s %15s  %10.4f G\n", name, grouped(p->params, params, sizeof params), p->macs / 1e9);
}

/* The cost table of a model configuration and of one training step of `views` views of `batch` images
 * (views 0: no step line). */
static int print_cost(const mbt_model_config *cfg, const char *method, int views, int batch) {
    mbt_model_cost c;
    if (mbt_model_cost_of(cfg, &c) != MBT_OK) {
        fprintf(stderr, "mixbt inspect: %s\n", mbt_error_message());
        return 1;
    }
    printf("model: %s, %d px (%s), ", mbt_arch_name(cfg->arch), cfg->image_size, stem_text(cfg->stem));
    if (cfg->backbone_only) {
        printf("no projector\n");
    } else {
        printf("projector %d", mbt_model_embedding_dim(cfg->arch));
        for (int i = 0; i < cfg->n_proj_hidden; i++) printf("-%d", cfg->proj_hidden[i]);
        printf("-%d\n", cfg->feature_dim);
    }
    printf("  %-10s %15s  %12s\n", "part", "parameters", "MACs/image");
    print_part("backbone", &c.backbone);
    print_part("projector", &c.projector);
    mbt_cost_part total = {c.backbone.params + c.projector.params, c.backbone.macs + c.projector.macs};
    print_part("total", &total);
    double forward = (double)views * batch * total.macs;
    if (views > 0) /* 0: the method is not known (a checkpoint without its projector, e.g. a baseline's) */
        printf("training step of %s (%d forward passes of %d images): %.4g T multiply-adds forward, about %.4g T with the\n"
           "backward passes (about twice the forward)\n",
           method, views, batch, forward / 1e12, 3 * forward / 1e12);
    printf("counted as thop counts convolutions and linear layers (multiply-adds; batch norm, ReLU, pooling and\n"
           "additions not counted); parameters are the trainable ones (BN running statistics not included)\n");
    return 0;
}

static int inspect_checkpoint(const char *file, const char *key) {
    if (mbt_ckpt_inspect(file, key, stdout) != MBT_OK) {
        fprintf(stderr, "mixbt inspect: %s\n", mbt_error_message());
        return 1;
    }
    /* the cost of the model it holds, where it is one mixbt builds */
    mbt_eval_model_options opt = {file, NULL, 1, 0, 0};
    mbt_model *model = NULL;
    mbt_eval_model_info info;
    if (mbt_eval_model_load(&opt, &model, &info, NULL) != MBT_OK) {
        printf("\ncost: not shown (%s)\n", mbt_error_message());
        return 0;
    }
    mbt_model_destroy(model);
    printf("\n");
    if (!info.head_loaded) info.config.backbone_only = 1; /* the projector is not in the file */
    return print_cost(&info.config, "mixbt", info.head_loaded ? 3 : 0, 256);
}

int cmd_inspect(int argc, char **argv) {
    const char *key = NULL, *pos[1], *arch = "resnet18", *projector = NULL, *method = "mixbt";
    int npos = 0, model = 0, image_size = 32, batch = 256;
    flag flags[] = {
        {"key", FLAG_STRING, &key, NULL, "PATH", "the state dict inside a training checkpoint (default: detected)", 0, 0, -1},
        {"model", FLAG_BOOL, &model, NULL, NULL, "no FILE: the cost of the model the flags below describe", 0, 0, -1},
        {"arch", FLAG_CHOICE, &arch, "resnet18|resnet50", "NAME", "--model: backbone", 0, 0, -1},
        {"image-size", FLAG_INT, &image_size, NULL, "PX",
         "--model: input size (32: CIFAR stem; 64, 96: 3x3 stem with max pool; 224: ImageNet stem and model)", 0, 16, 1024},
        {"projector", FLAG_STRING, &projector, NULL, "SIZES",
         "--model: projector sizes (default: 512-1024, the small-data model; 8192-8192-8192 at 224 px)", 0, 0, -1},
        {"method", FLAG_CHOICE, &method, "mixbt|bt", "M", "--model: the training step counted (mixbt: 3 views, bt: 2)", 0, 0, -1},
        {"batch-size", FLAG_INT, &batch, NULL, "B", "--model: images per view in the training step counted", 0, 1, 1 << 20},
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("inspect", flags, n, argc, argv, 2, pos, 1, &npos);
    if (rc == 1) {
        flags_print_help("inspect", "FILE [--key PATH] | --model [--arch A] [--image-size PX] [--projector SIZES]",
                         "Lists a checkpoint's tensors (name, dtype, shape, size) and metadata, then what its model costs\n"
                         "(parameters and multiply-adds per image of the backbone and projector, and per training step).\n"
                         "With --model, the cost of the model the flags describe, without a checkpoint.",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (model) {
        if (npos) {
            fprintf(stderr, "mixbt inspect: --model takes no FILE (see mixbt inspect --help)\n");
            return 2;
        }
        mbt_arch a;
        mbt_arch_parse(arch, &a);
        mbt_model_config cfg;
        mbt_status st;
        if (image_size == 224) {
            st = mbt_model_config_imagenet(a, projector ? projector : "8192-8192-8192", &cfg);
        } else {
            cfg = mbt_model_config_small(a, image_size, 1024);
            st = projector ? mbt_model_config_set_projector(&cfg, projector) : MBT_OK;
        }
        if (st != MBT_OK) {
            fprintf(stderr, "mixbt inspect: --projector: %s\n", mbt_error_message());
            return 2;
        }
        return print_cost(&cfg, method, strcmp(method, "bt") ? 3 : 2, batch);
    }
    for (int i = 2; i < n; i++)
        if (flags[i].set) {
            fprintf(stderr, "mixbt inspect: --%s needs --model (see mixbt inspect --help)\n", flags[i].name);
            return 2;
        }
    if (npos != 1) {
        fprintf(stderr, "mixbt inspect: expected one FILE, or --model (see mixbt inspect --help)\n");
        return 2;
    }
    return inspect_checkpoint(pos[0], key);
}
