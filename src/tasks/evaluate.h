/* Evaluation of pretrained encoders: feature extraction over a dataset pass, and the standalone weighted
 * k-NN evaluation (SPEC section 5): memory bank = the training split with the evaluation transform,
 * features = L2-normalised backbone features with evaluation-mode BN, cosine similarity, top k, weights
 * exp(sim / T), top-1 / top-5 on the test split; the computation of the pretraining monitor
 * (forward_eval features, then mbt_knn_classify with blocks of 256 queries and k clamped to the bank). */
#ifndef MBT_EVALUATE_H
#define MBT_EVALUATE_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"
#include "data/loader.h"
#include "core/plan.h"
#include "models/model.h"
#include "tasks/device_batch.h"
#include "tasks/eval_source.h"
#include "tasks/evaluate_model.h"

/* Progress of a long stage: fn(ctx, stage, 0, total) when it starts, then after each batch with the
 * images done so far; the last call has done == total. fn may be NULL. */
typedef struct {
    void (*fn)(void *ctx, const char *stage, int64_t done, int64_t total);
    void *ctx;
} mbt_eval_progress;

typedef enum {
    MBT_FEAT_BACKBONE = 0, /* L2-normalised backbone features (evaluation-mode BN) [n, emb] */
    MBT_FEAT_HEAD = 1,     /* the projector output of the evaluation forward [n, feature_dim] (normalised
                            * for the small-data model: normalize(g(h)), the reference's second output) */
    MBT_FEAT_RAW = 2       /* unnormalised backbone features (evaluation-mode BN) [n, emb] */
} mbt_feature_kind;

typedef struct {
    mbt_model *model;     /* the model given (on the host) */
    mbt_feature_kind kind;
    int dim;              /* floats per image */
    mbt_device device;
    /* CUDA: a copy of the model's state on the device, its input buffer and output rows */
    mbt_model *on_device;
    mbt_device_batch input;
    int input_ready;
    mbt_plan plan;
    float *rows;          /* [batch, dim] in device memory */
} mbt_feature_extractor;

/* An extractor of `kind` features of model (a CPU model: what mbt_eval_model_load builds) computed on
 * `device`, which the caller has opened (mbt_device_open). CPU: model itself runs. CUDA: a copy of its
 * parameters and running statistics is made on the GPU, at the same batch, and the features come back
 * to host memory; model is not changed (re-init after changing it). */
mbt_status mbt_feature_extractor_init(mbt_feature_extractor *fx, mbt_model *model, mbt_feature_kind kind,
                                      mbt_device device);
void mbt_feature_extractor_free(mbt_feature_extractor *fx);
/* After the running statistics of the model given to init changed (training-mode BN forwards): CUDA:
 * copies them to the device copy; CPU: nothing (the model itself runs). */
mbt_status mbt_feature_extractor_refresh_buffers(mbt_feature_extractor *fx);
/* Features of n <= batch images x (host memory) into out [n, dim] (host memory). */
mbt_status mbt_feature_extractor_run(mbt_feature_extractor *fx, int n, const float *x, float *out);

/* Receives the features of one batch, in dataset order. */
typedef mbt_status (*mbt_feature_sink)(void *ctx, const float *rows, const int32_t *labels, int n);

/* Runs a pass of an evaluation loader (mbt_eval_data_loader) through the extractor, batch by batch,
 * into sink. `total` is the number of images expected (for progress; a different count is an error). */
mbt_status mbt_eval_extract(mbt_feature_extractor *fx, mbt_loader *loader, int64_t total, mbt_feature_sink sink,
                            void *ctx, const mbt_eval_progress *progress, const char *stage);

/* The same into features [total, dim] and labels [total]. */
mbt_status mbt_eval_extract_all(mbt_feature_extractor *fx, mbt_loader *loader, int64_t total, float *features,
                                int32_t *labels, const mbt_eval_progress *progress, const char *stage);

/* ---- standalone k-NN ---------------------------------------------------------------------------- */

typedef enum {
    MBT_KNN_REFERENCE = 0, /* the weighted cosine k-NN above (SPEC section 5) */
    MBT_KNN_SSLSOTA = 1    /* ssl-sota's eval/knn.py (SPEC section 7): raw backbone features, Euclidean
                            * distance, majority vote of the k nearest (tasks/knn_euclid.h); top-1 only */
} mbt_knn_protocol;

typedef struct {
    mbt_knn_protocol protocol;
    mbt_eval_source src;           /* subset: the memory bank's first N training images; test_subset: the
                                    * first N test images */
    const char *dataset;
    int k;                         /* neighbours (clamped to the bank size) */
    double temperature;            /* the reference protocol only */
    int batch_size;
} mbt_knn_eval_config;

/* k 200, T 0.5 (SPEC quirk 5), batch 256, 2 threads, 2 workers. */
void mbt_knn_eval_defaults(mbt_knn_eval_config *c);

typedef struct {
    double top1, top5;        /* percent; top5 is NAN under the sslsota protocol (a majority vote) */
    int64_t bank, test;       /* images */
    int k, num_classes;
    double extract_seconds, classify_seconds;
    mbt_eval_model_info model;
} mbt_knn_eval_result;

/* predictions (may be NULL): [test images, MBT_KNN_TOPN] ranked classes of each test image (-1 past the
 * number of classes); the caller sizes it from test_subset or the test split's size. sslsota: the
 * predicted class, then -1. */
mbt_status mbt_knn_eval_run(const mbt_knn_eval_config *c, const mbt_eval_progress *progress, FILE *log,
                            int32_t *predictions, mbt_knn_eval_result *result);

#endif
