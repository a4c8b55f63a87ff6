/* The flag-table rows that the evaluation commands (knn, linear, transfer, embed) share, over the
 * mbt_eval_source of their configuration (tasks/eval_source.h). */
#ifndef MBT_CLI_EVAL_FLAGS_H
#define MBT_CLI_EVAL_FLAGS_H

#include "cli/flags.h"
#include "tasks/eval_source.h"

/* What mbt_eval_model_load (tasks/evaluate_model.h) reads; docs/EVALUATION.md "Checkpoints" has the details. */
#define EVAL_CHECKPOINT_HELP                                                                                        \
    "the encoder to evaluate (required): a mixbt .safetensors of any --method (a baseline's: its encoder), or a "  \
    ".pth/.safetensors of the reference's Model (f.*), its ImageNet model (backbone.*), a torchvision ResNet or "   \
    "an ssl-sota model (model.module.*)"

/* --checkpoint, --data (its help: what the folder holds) and --arch. */
#define EVAL_FLAG_CHECKPOINT(s) {"checkpoint", FLAG_STRING, &(s)->checkpoint, NULL, "FILE", EVAL_CHECKPOINT_HELP, 0, 0, -1}
#define EVAL_FLAG_DATA(s, help) {"data", FLAG_STRING, &(s)->data_dir, NULL, "DIR", (help), 0, 0, -1}
#define EVAL_FLAG_ARCH(s)                                                                                          \
    {"arch", FLAG_CHOICE, &(s)->arch, "resnet18|resnet50", "NAME", "backbone (default: from the checkpoint)", 0, 0, -1}
/* --subset and --test-subset with their help texts. */
#define EVAL_FLAG_SUBSET(s, help) {"subset", FLAG_INT, &(s)->subset, NULL, "N", (help), 0, 0, 1e9}
#define EVAL_FLAG_TEST_SUBSET(s, help) {"test-subset", FLAG_INT, &(s)->test_subset, NULL, "N", (help), 0, 0, 1e9}
/* --threads, --workers and --device. */
#define EVAL_FLAGS_RUN(s)                                                                                          \
    {"threads", FLAG_INT, &(s)->threads, NULL, "N", "compute threads", 0, 1, 1024},                                 \
    {"workers", FLAG_INT, &(s)->workers, NULL, "N", "data loader threads", 0, 1, 256},                              \
    {"device", FLAG_DEVICE, &(s)->device, NULL, "DEV", "where the backbone runs: cpu, cuda or cuda:N", 0, 0, -1}

#endif
