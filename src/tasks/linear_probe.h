/* The linear evaluation protocol (SPEC section 5, the reference's linear.py): a Linear(emb, classes)
 * classifier on a frozen backbone, cross-entropy, Adam with L2 weight decay and an exponentially
 * decaying learning rate, top-1 / top-5 accuracy; and the engine it shares with the transfer protocol
 * (tasks/transfer.h: SGD with momentum, a step schedule, no augmentation, other datasets).
 *
 * This header has three parts: the classifier itself over feature vectors (mbt_linear_head: PyTorch's
 * nn.Linear initialisation, a training step = logits, mean cross-entropy, gradients, one
 * torch.optim.Adam or torch.optim.SGD step; an evaluation pass), the protocol engine over a dataset
 * and a checkpoint with the optimiser, schedule, transform and data as configuration (mbt_probe_run),
 * and the linear evaluation protocol as one configuration of it (mbt_linear_probe_run). */
#ifndef MBT_LINEAR_PROBE_H
#define MBT_LINEAR_PROBE_H

#include <stdint.h>
#include <stdio.h>

#include "core/plan.h"
#include "core/status.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "tasks/eval_source.h"
#include "tasks/evaluate.h"

/* ---- the classifier ------------------------------------------------------------------------------- */

typedef enum {
    MBT_HEAD_ADAM = 0, /* torch.optim.Adam (betas 0.9 / 0.999, eps 1e-8), L2 weight decay: linear.py */
    MBT_HEAD_SGD = 1   /* torch.optim.SGD with momentum (dampening 0), L2 weight decay: evaluate_transfer.py */
} mbt_head_optimizer;

typedef struct {
    int in, classes, max_batch;
    float *params;  /* [classes * in + classes]: the weight [classes, in] then the bias, one optimiser vector */
    float *grads;   /* same layout */
    float *w, *b;   /* views into params */
    float *logits;  /* [max_batch, classes] scratch */
    float *dlogits; /* [max_batch, classes] scratch */
    float *xb;      /* [max_batch, in] rows gathered by mbt_linear_head_train_epoch */
    int32_t *yb;    /* [max_batch] their labels */
    mbt_head_optimizer optimizer;
    mbt_adam_state adam; /* MBT_HEAD_ADAM */
    mbt_adam_config adam_cfg;
    mbt_sgd_state sgd;   /* MBT_HEAD_SGD */
    mbt_sgd_config sgd_cfg;
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
/* The same with torch.optim.SGD(momentum, weight_decay) as the optimiser (the momentum buffer starts
 * as the first step's gradient, as torch's does). */
mbt_status mbt_linear_head_init_sgd(mbt_linear_head *h, int in, int classes, int max_batch, double momentum,
                                    double weight_decay);
void mbt_linear_head_free(mbt_linear_head *h);
/* nn.Linear's default initialisation: weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)) drawn from
 * the Philox stream (seed, MBT_RNG_TAG_EVAL_HEAD); the optimiser state is cleared. */
void mbt_linear_head_reset(mbt_linear_head *h, uint64_t seed);
/* evaluate_imagenet.py's initialisation: weight normal(0, std) from the same stream, bias 0; the optimiser
 * state is cleared. */
void mbt_linear_head_reset_normal(mbt_linear_head *h, uint64_t seed, double std);
/* Sets the parameters (w [classes, in], b [classes]) and clears the optimiser state. */
void mbt_linear_head_set(mbt_linear_head *h, const float *w, const float *b);

/* One training step on n <= max_batch rows x [n, in] with labels [n] in [0, classes): logits, loss =
 * mean cross-entropy, gradients, one optimiser step with learning rate lr. counts (may be NULL) gains the
 * batch's loss * n and the hits of the logits before the step (what the reference's train loop sums);
 * *loss (may be NULL) receives the batch mean. */
mbt_status mbt_linear_head_train_step(mbt_linear_head *h, const float *x, const int32_t *labels, int n, double lr,
                                      mbt_class_counts *counts, double *loss);
/* One epoch of training steps over rows of x [*, in] with labels, visited in `order` [n] (row indices,
 * e.g. a permutation), `batch` <= max_batch rows per step gathered into the head's scratch; the last
 * n % batch rows make a step of their own, or are left out when drop_last (ssl-sota's eval/sgd.py
 * takes only full batches of 1000). Same learning rate for every step. counts as for train_step;
 * losses (may be NULL) receives each step's batch mean; stop_phase (may be NULL): mbt_stop_check is
 * polled before each step with it. */
mbt_status mbt_linear_head_train_epoch(mbt_linear_head *h, const float *x, const int32_t *labels, const int32_t *order,
                                       int64_t n, int batch, int drop_last, double lr, mbt_class_counts *counts,
                                       double *losses, const char *stop_phase);
/* Logits of n <= max_batch rows into h->logits, and the batch's loss * n and hits added to counts. */
mbt_status mbt_linear_head_evaluate(mbt_linear_head *h, const float *x, const int32_t *labels, int n,
                                    mbt_class_counts *counts);

/* Hits of one row of logits: *top1 = label ranks first, *top5 = among the first five (classes ranked
 * by descending logit, equal logits by lower class index). Returns the cross-entropy -log softmax[label]
 * computed in double. */
double mbt_class_row_stats(const float *logits, int classes, int label, int *top1, int *top5);

/* ---- the protocol engine (linear evaluation, transfer) ------------------------------------------- */

typedef enum {
    MBT_PROBE_BN_TRAIN = 0, /* the reference: the frozen backbone runs in training mode on the training
                             * batches (BN normalises with batch statistics and its running statistics
                             * drift, SPEC quirk 4), evaluation mode on the test set */
    MBT_PROBE_BN_FROZEN = 1 /* evaluation-mode BN everywhere: the backbone is a fixed function */
} mbt_probe_bn;

typedef enum {
    MBT_PROBE_SCHED_EXP_DECAY = 0, /* linear.py: lr * gamma^(epoch - 1), gamma = (lr_end / lr)^(1 / epochs) */
    MBT_PROBE_SCHED_MULTISTEP = 1, /* evaluate_transfer.py: MultiStepLR, lr * gamma^(milestones <= epoch - 1) */
    MBT_PROBE_SCHED_COSINE = 2     /* evaluate_imagenet.py: CosineAnnealingLR(epochs), lr (1 + cos(pi (epoch - 1)
                                    * / epochs)) / 2 */
} mbt_probe_sched_kind;

#define MBT_PROBE_MAX_MILESTONES 8

typedef struct {
    mbt_probe_sched_kind kind;
    double lr;     /* the first epoch's learning rate */
    double lr_end; /* EXP_DECAY: reached after the last epoch */
    double gamma;  /* MULTISTEP: factor at each milestone */
    int milestones[MBT_PROBE_MAX_MILESTONES], n_milestones;
} mbt_probe_schedule;

/* The learning rate of epoch `epoch1` (from 1) of `epochs` (the scheduler stepped after each epoch). */
double mbt_probe_schedule_lr(const mbt_probe_schedule *s, int epoch1, int epochs);

typedef struct cJSON cJSON;

typedef struct {
    const char *command;           /* "linear", "transfer": names the run in config.json, the head file
                                    * (<command>_head.safetensors) and messages */
    mbt_eval_source src;           /* subset / test_subset: the first N, or N spread evenly; the device: the
                                    * GPU only with evaluation-mode BN (frozen, or features once) so far */
    const char *dataset;
    const mbt_augment_recipe *recipe; /* NULL: the dataset's recipe at the checkpoint's input size; else
                                       * this transform, at its size (the backbone is rebuilt for that input
                                       * size when it differs from the checkpoint's) */
    int recipe_size_from_model;    /* 1: the recipe is used at the checkpoint's input size instead */
    int override_norm;             /* recipe NULL: 1 replaces the dataset recipe's normalisation by these */
    float norm_mean[3], norm_std[3];
    int augment;                   /* training images: 1 one augmented view each (the recipe's training
                                    * transform), 0 the evaluation transform */
    const char *out_dir;           /* NULL: no run folder; else config.json, metrics.csv, the head */
    int epochs, batch_size;
    mbt_head_optimizer optimizer;
    double head_init_std;          /* 0: nn.Linear's default initialisation; > 0: weight normal(0, std), bias 0 */
    double weight_decay, momentum; /* momentum: SGD only */
    mbt_probe_schedule schedule;
    mbt_probe_bn bn;
    int features_once;             /* extract features once (evaluation transform, evaluation BN), then
                                    * train the classifier on them; implied by augment 0 with frozen BN,
                                    * which computes the same */
    int drop_last;                 /* features once: each epoch takes only the full batches of its
                                    * shuffled order (ssl-sota's eval/sgd.py); 0: the last partial batch
                                    * makes a step too */
    int extract_batch;             /* images per backbone forward where the protocol allows any (frozen BN,
                                    * features once, the test set); training-mode BN forwards use batch_size */
    uint64_t seed;
    /* adds the command's own entries to config.json (may be NULL) */
    void (*describe)(const void *ctx, cJSON *config);
    const void *describe_ctx;
} mbt_probe_spec;

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
    int image_size;             /* the backbone's input side */
    int features_once;          /* the run extracted the features once */
    double seconds, extract_seconds;
    mbt_eval_model_info model;
} mbt_probe_result;

/* Called after each epoch (may be NULL). */
typedef void (*mbt_probe_epoch_fn)(void *ctx, const mbt_probe_epoch *e, int epochs);

/* Runs the protocol: data opened and the run folder made (a used one is refused) before the checkpoint
 * is read; then `epochs` epochs of shuffled training batches (a new Philox order per epoch, the last
 * partial batch kept) through the classifier, each followed by a test pass; per-epoch numbers to
 * on_epoch and metrics.csv. Progress of long stages to `progress`, notes to log (both may be NULL). */
mbt_status mbt_probe_run(const mbt_probe_spec *spec, const mbt_eval_progress *progress, mbt_probe_epoch_fn on_epoch,
                         void *ctx, FILE *log, mbt_probe_result *result);

/* ---- the linear evaluation protocol --------------------------------------------------------------- */

typedef enum {
    MBT_LINEAR_REFERENCE = 0, /* the reference's linear.py (SPEC section 5) */
    MBT_LINEAR_SSLSOTA = 1,   /* ssl-sota's eval/sgd.py on eval/get_data.py features (SPEC section 7): the
                               * training split with the evaluation transform, evaluation-mode BN, raw
                               * backbone features extracted once; 500 epochs of shuffled full batches of
                               * 1000 (drop_last), Adam lr 1e-2 -> 1e-6, weight decay 5e-6; its number is
                               * the last epoch's test top-1 / top-5 */
    MBT_LINEAR_IMAGENET = 2   /* the original's evaluate_imagenet.py (--weights freeze): a fresh fc on the
                               * frozen backbone in evaluation mode, training images RandomResizedCrop(224) +
                               * flip, SGD lr 0.3 momentum 0.9 weight decay 1e-6, CosineAnnealingLR over the
                               * epochs (100), batch 256, fc weight normal(0, 0.01) and bias 0; val
                               * Resize(256) + CenterCrop(224) */
} mbt_linear_protocol;

typedef struct {
    mbt_linear_protocol protocol;
    mbt_eval_source src;           /* subset / test_subset: the first N training / test images */
    const char *dataset;
    const char *out_dir;           /* NULL: no run folder; else config.json, metrics.csv, linear_head.safetensors */
    int epochs, batch_size;        /* 200, 512 */
    double weight_decay;           /* 5e-6 */
    mbt_probe_bn bn;
    int features_once;             /* extract features once (evaluation transform, evaluation BN), then
                                    * train the classifier on them */
    int extract_batch;             /* images per backbone forward where the protocol allows any (frozen BN,
                                    * features once, the test set); the reference mode's training forwards
                                    * use batch_size */
    uint64_t seed;
} mbt_linear_probe_config;

/* The reference protocol: 200 epochs, batch 512, weight decay 5e-6, BN in training mode, augmented
 * training images, seed 0, extract batch 256, 2 threads, 2 workers. */
void mbt_linear_probe_defaults(mbt_linear_probe_config *c);
/* "reference", "sslsota" */
const char *mbt_linear_protocol_name(mbt_linear_protocol p);

typedef mbt_probe_result mbt_linear_probe_result;

/* mbt_probe_run with Adam (lr 1e-2 decayed exponentially to 1e-6, the given weight decay) and the
 * dataset's recipe: reference protocol: augmented training images; sslsota: features once with the
 * evaluation transform and frozen BN, full batches only (--bn train is refused). */
mbt_status mbt_linear_probe_run(const mbt_linear_probe_config *c, const mbt_eval_progress *progress,
                                mbt_probe_epoch_fn on_epoch, void *ctx, FILE *log, mbt_linear_probe_result *result);

#endif
