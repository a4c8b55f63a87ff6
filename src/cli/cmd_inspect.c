/* `mixbt inspect`: a checkpoint's tensors and metadata, and what a model costs (parameters, multiply-adds
 * per image and per training step), for a checkpoint or for an architecture named by flags. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "io/checkpoint_file.h"
#include "tasks/cost_report.h"

static int inspect_checkpoint(const char *file, const char *key) {
    if (mbt_ckpt_inspect(file, key, stdout) != MBT_OK) {
        fprintf(stderr, "mixbt inspect: %s\n", mbt_error_message());
        return 1;
    }
    /* the cost of the model it holds, where it is one mixbt builds */
    mbt_cost_report r;
    if (mbt_cost_report_checkpoint(file, key, &r) != MBT_OK) {
        printf("\ncost: not shown (%s)\n", mbt_error_message());
        return 0;
    }
    printf("\n");
    mbt_cost_report_print(&r, stdout);
    return 0;
}

/* --model: the report of the model (and method) the flags describe; 2 after a one-line error. */
static int model_cost(const char *arch, int image_size, const char *projector, const char *method, int batch,
                      const mbt_method_config *heads, flag *flags, int n) {
    mbt_method_config m = *heads;
    if (mbt_method_parse(method, &m.kind) != MBT_OK) return 2; /* the flag parser checked the choice */
    int baseline = mbt_method_is_baseline(m.kind);
    static const char *const BASELINE_ONLY[] = {"emb", "head-size", "head-layers", "num-samples"};
    for (int i = 0; i < 4 && !baseline; i++)
        if (flags_find(flags, n, BASELINE_ONLY[i])->set) {
            fprintf(stderr, "mixbt inspect: --%s applies to --method simclr|byol|wmse, not %s\n", BASELINE_ONLY[i], method);
            return 2;
        }
    if (baseline && projector) {
        fprintf(stderr, "mixbt inspect: --projector applies to --method mixbt|bt (the baselines have --emb, --head-size, "
                        "--head-layers)\n");
        return 2;
    }
    mbt_cost_report r;
    mbt_status st;
    if (baseline) {
        mbt_arch_parse(arch, &m.arch);
        m.image_size = image_size;
        m.batch = batch;
        st = mbt_cost_report_method(&m, &r);
    } else {
        mbt_arch a;
        mbt_arch_parse(arch, &a);
        mbt_model_config cfg;
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
        st = mbt_cost_report_model(&cfg, method, strcmp(method, "bt") ? 3 : 2, batch, &r);
    }
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt inspect: %s\n", mbt_error_message());
        return 2;
    }
    mbt_cost_report_print(&r, stdout);
    return 0;
}

int cmd_inspect(int argc, char **argv) {
    const char *key = NULL, *pos[1], *arch = "resnet18", *projector = NULL, *method = "mixbt";
    int npos = 0, model = 0, image_size = 32, batch = 256;
    mbt_method_config heads; /* the baselines' head flags, with pretrain's defaults */
    mbt_method_config_defaults(&heads);
    flag flags[] = {
        {"key", FLAG_STRING, &key, NULL, "PATH", "the state dict inside a training checkpoint (default: detected)", 0, 0, -1},
        {"model", FLAG_BOOL, &model, NULL, NULL, "no FILE: the cost of the model the flags below describe", 0, 0, -1},
        {"arch", FLAG_CHOICE, &arch, "resnet18|resnet50", "NAME", "--model: backbone", 0, 0, -1},
        {"image-size", FLAG_INT, &image_size, NULL, "PX",
         "--model: input size (32: CIFAR stem; 64, 96: 3x3 stem with max pool; 224: ImageNet stem and model; the "
         "baselines: 32, 64 or 224)", 0, 16, 1024},
        {"projector", FLAG_STRING, &projector, NULL, "SIZES",
         "--model: projector sizes (default: 512-1024, the small-data model; 8192-8192-8192 at 224 px)", 0, 0, -1},
        {"method", FLAG_CHOICE, &method, "mixbt|bt|simclr|byol|wmse", "M",
         "--model: the training step counted (mixbt: 3 forward passes, bt: 2; the baselines: --num-samples views "
         "through backbone and head, BYOL's predictor, and BYOL's target network forward only)", 0, 0, -1},
        {"batch-size", FLAG_INT, &batch, NULL, "B", "--model: images per view in the training step counted", 0, 1, 1 << 20},
        {"emb", FLAG_INT, &heads.emb, NULL, "D", "--model, baselines: the head's output size", 0, 1, 65536},
        {"head-size", FLAG_INT, &heads.head_size, NULL, "N", "--model, baselines: hidden size of the head (and BYOL's predictor)",
         0, 1, 65536},
        {"head-layers", FLAG_INT, &heads.head_layers, NULL, "N", "--model, baselines: Linear layers of the head", 0, 1, 4},
        {"num-samples", FLAG_INT, &heads.n_views, NULL, "N", "--model, baselines: views per image", 0, 2, MBT_METHOD_MAX_VIEWS},
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("inspect", flags, n, argc, argv, 2, pos, 1, &npos);
    if (rc == 1) {
        flags_print_help("inspect",
                         "FILE [--key PATH] | --model [--arch A] [--image-size PX] [--projector SIZES | --method "
                         "simclr|byol|wmse [--emb D] [--head-size N] [--head-layers N]]",
                         "Lists a checkpoint's tensors (name, dtype, shape, size) and metadata, then what its model costs\n"
                         "(parameters and multiply-adds per image of the backbone and projector, or of a baseline's\n"
                         "head and BYOL's predictor, and per training step of its method). With --model, the cost of\n"
                         "the model the flags describe, without a checkpoint.",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (model) {
        if (npos) {
            fprintf(stderr, "mixbt inspect: --model takes no FILE (see mixbt inspect --help)\n");
            return 2;
        }
        return model_cost(arch, image_size, projector, method, batch, &heads, flags, n);
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
