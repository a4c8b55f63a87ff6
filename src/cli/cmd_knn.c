/* `mixbt knn`: the k-NN evaluation of a checkpoint: the weighted cosine k-NN of the reference (SPEC
 * section 5), as the pretraining monitor computes it, or ssl-sota's Euclidean majority vote (section 7). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/eval_flags.h"
#include "cli/eval_progress.h"
#include "cli/flags.h"
#include "cli/kind_help.h"
#include "core/status.h"
#include "data/dataset_kind.h"
#include "tasks/eval_sslsota.h"
#include "tasks/evaluate.h"
#include "cli/signals.h"

int cmd_knn(int argc, char **argv) {
    mbt_knn_eval_config c;
    mbt_knn_eval_defaults(&c);
    const char *protocol = "reference";
    char kinds[256];
    char limit_help[2][256];
    kind_help_subset(limit_help[0], sizeof limit_help[0], "memory bank: the first N training images", MBT_KIND_EVAL);
    kind_help_subset(limit_help[1], sizeof limit_help[1], "test images: the first N", MBT_KIND_EVAL);
    flag flags[] = {
        EVAL_FLAG_CHECKPOINT(&c.src),
        {"dataset", FLAG_CHOICE, &c.dataset, mbt_dataset_kind_names(kinds, sizeof kinds, MBT_KIND_EVAL, "|", NULL), "NAME", "evaluation dataset", 0, 0, -1},
        EVAL_FLAG_DATA(&c.src, "folder holding the dataset's files (required)"),
        EVAL_FLAG_ARCH(&c.src),
        {"protocol", FLAG_CHOICE, &protocol, "reference|sslsota", "NAME", "reference: weighted cosine k-NN; sslsota: the baselines' (ssl-sota eval/knn.py) Euclidean majority vote on raw features", 0, 0, -1},
        {"k", FLAG_INT, &c.k, NULL, "K", "neighbours, clamped to the memory bank size (--protocol sslsota: default 5)", 0, 1, 1e6},
        {"t", FLAG_FLOAT, &c.temperature, NULL, "T", "temperature of the weights exp(sim/T) (reference protocol only)", 0, 1e-6, 1e6},
        EVAL_FLAG_SUBSET(&c.src, limit_help[0]),
        EVAL_FLAG_TEST_SUBSET(&c.src, limit_help[1]),
        {"batch-size", FLAG_INT, &c.batch_size, NULL, "B", "images per forward pass", 0, 1, 65536},
        EVAL_FLAGS_RUN(&c.src),
    };
    int n = (int)(sizeof flags / sizeof *flags);
    int rc = flags_parse("knn", flags, n, argc, argv, 2, NULL, 0, NULL);
    if (rc == 1) {
        flags_print_help("knn", "--checkpoint FILE --data DIR [flags]",
                         "Weighted k-NN evaluation: memory bank = the training images with the evaluation transform,\n"
                         "L2-normalised backbone features (evaluation-mode BN), cosine similarity, the k nearest\n"
                         "vote with weights exp(sim/T); prints top-1 and top-5 accuracy on the test images.\n"
                         "--protocol sslsota: the baselines' k-NN (ssl-sota eval/knn.py): raw backbone features,\n"
                         "Euclidean distance, majority vote of the k nearest (ties to the smallest label); top-1.",
                         flags, n);
        return 0;
    }
    if (rc) return rc;
    if (!c.src.checkpoint) {
        fprintf(stderr, "mixbt knn: --checkpoint FILE is required\n");
        return 2;
    }
    if (!c.src.data_dir) {
        fprintf(stderr, "mixbt knn: --data DIR is required (the folder holding the dataset)\n");
        return 2;
    }
    if (!strcmp(protocol, "sslsota")) {
        if (flags_find(flags, n, "t")->set) {
            fprintf(stderr, "mixbt knn: --t weights the reference protocol's votes; --protocol sslsota takes a plain majority vote\n");
            return 2;
        }
        c.protocol = MBT_KNN_SSLSOTA;
        if (!flags_find(flags, n, "k")->set) c.k = MBT_SSLSOTA_KNN_K;
    }
    eval_progress ep;
    mbt_eval_progress prog = eval_progress_make(&ep, stderr);
    mbt_knn_eval_result r;
    signals_install();
    mbt_status st = mbt_knn_eval_run(&c, &prog, stderr, NULL, &r);
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt knn: %s\n", mbt_error_message());
        return st == MBT_ERR_INTERRUPTED ? 130 : 1;
    }
    if (c.protocol == MBT_KNN_SSLSOTA) {
        printf("k-NN top-1 %.2f%%  (sslsota: k %d, Euclidean majority vote on raw features; %s %s, %d px; bank %lld, "
               "test %lld images; features %.1f s, k-NN %.1f s)\n",
               r.top1, r.k, mbt_arch_name(r.model.config.arch), r.model.format, r.model.config.image_size,
               (long long)r.bank, (long long)r.test, r.extract_seconds, r.classify_seconds);
        return 0;
    }
    printf("k-NN top-1 %.2f%%  top-5 %.2f%%  (k %d, T %g; %s %s, %d px; bank %lld, test %lld images; features %.1f s, "
           "k-NN %.1f s)\n",
           r.top1, r.top5, r.k, c.temperature, mbt_arch_name(r.model.config.arch), r.model.format,
           r.model.config.image_size, (long long)r.bank, (long long)r.test, r.extract_seconds, r.classify_seconds);
    return 0;
}
