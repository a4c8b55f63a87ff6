/* `mixbt embed`: a dataset split's backbone features (or projector outputs) and labels as .npy files. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/eval_flags.h"
#include "cli/eval_progress.h"
#include "cli/flags.h"
#include "cli/kind_help.h"
#include "core/status.h"
#include "data/dataset_kind.h"
#include "tasks/embed.h"
#include "cli/signals.h"

int cmd_embed(int argc, char **argv) {
    mbt_embed_config c;
    mbt_embed_defaults(&c);
    const char *split = "train";
    char kinds[256];
    char limit_help[1][256];
    kind_help_subset(limit_help[0], sizeof limit_help[0], "the first N images of the split", MBT_KIND_EVAL);
    flag flags[] = {
        EVAL_FLAG_CHECKPOINT(&c.src),
        {"dataset", FLAG_CHOICE, &c.dataset, mbt_dataset_kind_names(kinds, sizeof kinds, MBT_KIND_EVAL, "|", NULL), "NAME", "dataset", 0, 0, -1},
        EVAL_FLAG_DATA(&c.src, "folder holding the dataset's files (required)"),
        {"split", FLAG_CHOICE, &split, "train|test", "S", "which split", 0, 0, -1},
        EVAL_FLAG_SUBSET(&c.src, limit_help[0]),
        {"head", FLAG_BOOL, &c.head, NULL, NULL, "projector outputs normalize(g(h)) instead of backbone features", 0, 0, -1},
        {"out", FLAG_STRING, &c.out, NULL, "FILE.npy", "features file; labels go to FILE_labels.npy (required)", 0, 0, -1},
        EVAL_FLAG_ARCH(&c.src),
        {"batch-size", FLAG_INT, &c.batch_size, NULL, "B", "images per forward pass", 0, 1, 65536},
        EVAL_FLAGS_RUN(&c.src),
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("embed", flags, n, argc, argv, 2, NULL, 0, NULL);
    if (rc == 1) {
        flags_print_help("embed", "--checkpoint FILE --data DIR --out FILE.npy [flags]",
                         "Writes the L2-normalised backbone features (evaluation-mode BN, evaluation transform) of a\n"
                         "split in dataset order as an N x dim float32 .npy file, and the int64 labels as\n"
                         "FILE_labels.npy; with --head the projector outputs instead.",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (!c.src.checkpoint || !c.src.data_dir || !c.out) {
        fprintf(stderr, "mixbt embed: %s is required\n",
                !c.src.checkpoint ? "--checkpoint FILE" : !c.src.data_dir ? "--data DIR" : "--out FILE.npy");
        return 2;
    }
    char labels[4096];
    if (mbt_embed_labels_path(c.out, labels, sizeof labels) != MBT_OK) {
        fprintf(stderr, "mixbt embed: %s\n", mbt_error_message());
        return 2;
    }
    c.test_split = !strcmp(split, "test");
    eval_progress ep;
    mbt_eval_progress prog = eval_progress_make(&ep, stderr);
    mbt_embed_result r;
    signals_install();
    mbt_status st = mbt_embed_run(&c, &prog, stderr, &r);
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt embed: %s\n", mbt_error_message());
        return st == MBT_ERR_INTERRUPTED ? 130 : 1;
    }
    printf("wrote %s (%lld x %d float32 %s) and %s (int64 labels) in %.1f s\n", c.out, (long long)r.rows, r.dim,
           c.head ? "projector outputs" : "backbone features", r.labels_path, r.seconds);
    return 0;
}
