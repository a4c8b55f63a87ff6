/* The linear evaluation protocol (SPEC section 5, the reference's linear.py): a Linear(emb, classes)
 * classifier on a frozen backbone, cross-entropy, Adam with L2 weight decay and an exponentially
 * decaying learning rate, top-1 / top-5 accuracy.
 *
 * This header has two parts: the classifier itself over feature vectors (mbt_linear_head: PyTorch's
 * nn.Linear initialisation, a training step = logits, mean cross-entropy, gradients, one
 * torch.optim.Adam step; an evaluation pass), and the protocol run over a dataset and a checkpoint
 * (mbt_linear_probe_run). */
#ifndef MBT_LINEAR_PROBE_H
#define MBT_LINEAR_PROBE_H

#include <stdint.h>
#include <stdio.h>

#include "core/plan.h"
#include "core/status.h"
#include "optim/adam.h"
#include "tasks/evaluate.h"

/* ---- the classifier ------------------------------------------------------------------------------- */

typedef struct {
    int in, classes, max_batch;
    float *params;  /* [classes * in + classes]: the weight [classes, in] then the bias, one Adam vector */
    float *grads;   /* same layout */
    float *w, *b;   /* views into params */
    float *logits;  /* [max_batch, classes] scratch */
    float *dlogits; /* [max_batch, classes] scratch */
    mbt_adam_state adam;
    mbt_adam_config adam_cfg;
    mbt_plan plan;
} mbt_linear_head;

/* Running sums of a pass: sum of per-image losses, top-1 / top-5 hits, images. */
typedef struct {
    double loss_sum;
    int64_t top1, top5, total;
} mbt_class_counts;

/* Plans and allocates a classifier for batches of up to max_batch feature rows. Adam betas (0.9,
 * 0.999), eps 1e-8, the given L2 weight decay. Parameters are zero until reset or set. */
mbt_status mbt_linear_head_init(mbt_linear_head *h, int in, int classes, int max_batch, double weight_decay);
void mbt_linear_head_free(mbt_linear_head *h);
/* nn.Linear's default initialisation: weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)) drawn from
 * the Philox stream (seed, MBT_RNG_TAG_EVAL_HEAD); the Adam state is cleared. */
void mbt_linear_head_reset(mbt_linear_head *h, uint64_t seed);
/* Sets the parameters (w [classes, in], b [classes]) and clears the Adam state. */
void mbt_linear_head_set(mbt_linear_head *h, const float *w, const float *b);

/* One training step on n <= max_batch rows x [n, in] with labels [n] in [0, classes): logits, loss =
 * mean cross-entropy, gradients, one Adam step with learning rate lr. counts (may be NULL) gains the
 * batch's loss * n and the hits of the logits before the step (what the reference's train loop sums);
 * *loss (may be NULL) receives the batch mean. */
mbt_status mbt_linear_head_train_step(mbt_linear_head *h, const float *x, const int32_t *labels, int n, double lr,
                                      mbt_class_counts *counts, double *loss);
/* Logits of n <= max_batch rows into h->logits, and the batch's loss * n and hits added to counts. */
mbt_status mbt_linear_head_evaluate(mbt_linear_head *h, const float *x, const int32_t *labels, int n,
                                    mbt_class_counts *counts);

/* Hits of one row of logits: *top1 = label ranks first, *top5 = among the first five (classes ranked
 * by descending logit, equal logits by lower class index). Returns the cross-entropy -log softmax[label]
 * computed in double. */
double mbt_class_row_stats(const float *logits, int classes, int label, int *top1, int *top5);

/* ---- the protocol --------------------------------------------------------------------------------- */

typedef enum {
    MBT_PROBE_BN_TRAIN = 0, /* the reference: the frozen backbone runs in training mode on the training
                             * batches (BN normalises with batch statistics and its running statistics
                             * drift, SPEC quirk 4), evaluation mode on the test set */
    MBT_PROBE_BN_FROZEN = 1 /* evaluation-mode BN everywhere: the backbone is a fixed function */
} mbt_probe_bn;

typedef struct {
    const char *checkpoint, *arch; /* arch NULL: from the checkpoint */
    const char *dataset, *data_dir;
    const char *out_dir;           /* NULL: no run folder; else config.json, metrics.csv, linear_head.safetensors */
    int subset, test_subset;       /* first N training / test images (0: all) */
    int epochs, batch_size;        /* 200, 512 */
    double weight_decay;           /* 5e-6 */
    mbt_probe_bn bn;
    int features_once;             /* extract features once (evaluation transform, evaluation BN), then
                                    * train the classifier on them */
    int extract_batch;             /* images per backbone forward where the protocol allows any (frozen BN,
                                    * features once, the test set); the reference mode's training forwards
                                    * use batch_size */
    uint64_t seed;
    int threads, workers;
} mbt_linear_probe_config;

/* The reference protocol: 200 epochs, batch 512, weight decay 5e-6, BN in training mode, augmented
 * training images, seed 0, extract batch 256, 2 threads, 2 workers. */
void mbt_linear_probe_defaults(mbt_linear_probe_config *c);

typedef struct {
    int epoch;
    double lr;
    double train_loss, train_top1, train_top5; /* over the epoch's batches, before each step */
    double test_loss, test_top1, test_top5;
    double seconds;                            /* since the start of the run */
} mbt_probe_epoch;

typedef struct {
    mbt_probe_epoch last, best; /* best: the epoch of the highest test top-1 (the first if tied) */
    int64_t train_images, test_images;
    int num_classes, emb;
    double seconds, extract_seconds;
    mbt_eval_model_info model;
} mbt_linear_probe_result;

/* Called after each epoch (may be NULL). */
typedef void (*mbt_probe_epoch_fn)(void *ctx, const mbt_probe_epoch *e, int epochs);

mbt_status mbt_linear_probe_run(const mbt_linear_probe_config *c, const mbt_eval_progress *progress,
                                mbt_probe_epoch_fn on_epoch, void *ctx, FILE *log, mbt_linear_probe_result *result);

#endif
