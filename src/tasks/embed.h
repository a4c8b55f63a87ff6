/* Embeddings of a dataset split for use elsewhere (numpy, scikit-learn ...): the L2-normalised
 * backbone features (evaluation-mode BN, evaluation transform; what the k-NN evaluation uses), or with
 * head the projector outputs, in dataset order, as an N x dim float32 .npy file, and the labels as an
 * N int64 .npy file beside it (FILE.npy -> FILE_labels.npy). Both are written atomically; the features
 * are streamed to disk batch by batch. */
#ifndef MBT_EMBED_H
#define MBT_EMBED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/status.h"
#include "tasks/evaluate.h"

typedef struct {
    mbt_eval_source src;           /* subset: the first N images of the split (test_subset unused) */
    const char *dataset;
    int test_split;                /* 0: the training split, 1: the test split */
    int head;                      /* projector outputs instead of backbone features */
    const char *out;               /* FILE.npy */
    int batch_size;
} mbt_embed_config;

/* Training split, backbone features, batch 256, 2 threads, 2 workers. */
void mbt_embed_defaults(mbt_embed_config *c);

/* The labels file of a features file: "dir/x.npy" -> "dir/x_labels.npy". MBT_ERR_ARG when out does not
 * end in ".npy" or the result does not fit size bytes. */
mbt_status mbt_embed_labels_path(const char *out, char *buf, size_t size);

typedef struct {
    int64_t rows;
    int dim;
    char labels_path[4096];
    double seconds;
    mbt_eval_model_info model;
} mbt_embed_result;

mbt_status mbt_embed_run(const mbt_embed_config *c, const mbt_eval_progress *progress, FILE *log, mbt_embed_result *res);

#endif
