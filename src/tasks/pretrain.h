/* Self-supervised pretraining (Barlow Twins / Mixed Barlow Twins) over a dataset: the loop with its
 * schedule, k-NN monitor, metrics, atomic checkpoints, exact resume and signal handling. */
#ifndef MBT_PRETRAIN_H
#define MBT_PRETRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"

typedef struct {
    /* data */
    const char *dataset;      /* a dataset kind's name (data/dataset_kind.h; the CLI offers MBT_KIND_PRETRAIN) */
    const char *data_dir;
    int subset;               /* use N training images by the kind's subset rule (0: all) */
    int image_size;           /* 0: the dataset's */
    /* model */
    const char *arch;         /* resnet18, resnet50 */
    int feature_dim;
    /* objective */
    const char *method;       /* mixbt (default), bt, simclr, byol, wmse (tasks/method.h) */
    double lambda_bt, lambda_reg;
    /* the baselines (simclr, byol, wmse), ssl-sota cfg.py's settings */
    int emb, head_size, head_layers;
    int num_samples;          /* views per image */
    double tau, byol_tau;
    int w_size, w_iter;
    double w_eps;
    int no_norm;              /* 1: the losses do not L2-normalise (--no-norm) */
    const char *lr_step;      /* cos, step, none (train.py's schedule) */
    const char *drop;         /* "50,25": MultiStepLR milestones at epochs - d */
    double drop_gamma, eta_min;
    int t0, tmult;            /* CosineAnnealingWarmRestarts; t0 0: epochs */
    int no_lr_warmup;         /* 1: no 500-step linear warm-up */
    /* augmentation overrides (data/augment.h mbt_augment_flags); -1: the recipe's value */
    double cj0, cj1, cj2, cj3, cj_p, gs_p, crop_s0, crop_s1, crop_r0, crop_r1, hf_p;
    /* optimisation */
    int batch_size, epochs;
    double lr;
    const char *lr_schedule;  /* cosine, step */
    int warmup_epochs;        /* cosine: linear warm-up length (the reference: 10) */
    double weight_decay;
    /* monitor */
    int knn_every, knn_k;
    double knn_t;
    int knn_subset;           /* limit the k-NN memory bank to N images (0: all) */
    int knn_test_subset;      /* limit the k-NN test set to N images (0: all) */
    /* run */
    uint64_t seed;
    int threads, workers;
    const char *device;       /* cpu (NULL: cpu), cuda, cuda:N; how to run, not what: a resume may change it */
    const char *precision;    /* fp32 (NULL: fp32) or bf16 (cuda only): how to run, so a resume may change it */
    const char *loader;       /* auto (NULL), host, device: where the training images are augmented (the same
                                 batches either way, so a resume may change it too) */
    const char *out_dir;
    const char *resume_dir;
    const char *init_from;    /* a new run starts from this checkpoint's model weights (tasks/pretrain_init.h) */
    int strict, no_strict;    /* --init-from: --strict (the default) or --no-strict */
    int checkpoint_every;     /* epochs between numbered checkpoints */
    int print_every;          /* the CLI's display: steps between plain progress lines off a terminal */
    double progress_seconds;  /* and at most this many seconds between them (training and k-NN passes) */
    int64_t max_steps;        /* stop after this many steps in total (0: no limit; for tests/demos) */
} mbt_pretrain_config;

/* Fills the defaults of the reference's main.py (CIFAR-10 recipe, ResNet-18), from the field table of
 * tasks/pretrain_config.h. */
void mbt_pretrain_config_defaults(mbt_pretrain_config *cfg);

/* The learning rate of batch i (from 0) of epoch `epoch` (from 1): the cosine schedule with 10 warm-up
 * epochs on the reference's step counter epoch * steps_per_epoch + i (SPEC quirk 1: the schedule runs
 * one epoch ahead), times lr; or the step schedule (MultiStepLR at E-50 and E-25, gamma 0.2, 1e-3). */
double mbt_pretrain_lr(const mbt_pretrain_config *cfg, int64_t steps_per_epoch, int epoch, int64_t i);

/* What a pretraining reports while it runs. The task emits every event; how and how often they are
 * shown (a live line on a terminal, plain lines now and then in a log) is the caller's choice. */
typedef enum {
    MBT_PRETRAIN_NOTE,      /* a line of information: text ("resuming RUN at epoch 3, step 48") */
    MBT_PRETRAIN_STEP,      /* a step's losses were collected (each step, in order) */
    MBT_PRETRAIN_EPOCH_END, /* the epoch's steps are over (before its k-NN pass) */
    MBT_PRETRAIN_PASS,      /* a k-NN feature pass: text names it ("k-NN pass after epoch 3"); done == 0:
                               it begins, and detail says what it extracts */
} mbt_pretrain_event_kind;

typedef struct {
    mbt_pretrain_event_kind kind;
    const char *text;
    const char *detail;
    int epoch, epochs;
    int64_t batch, batches; /* STEP: the batch just accounted (from 1) of the epoch's batches */
    int64_t step;           /* STEP: optimizer steps completed */
    int last_of_epoch;      /* STEP: the epoch's last batch */
    double loss, lr;        /* STEP: the total loss and the step's learning rate */
    int n_values;           /* STEP: the method's loss values (e.g. loss_bt, loss_reg) */
    const char *const *value_names;
    const double *values;
    int64_t done, total;    /* PASS: images done of total */
    double images_per_s, eta_s; /* STEP: over the epoch so far, and the rest of the run; PASS: the pass's */
} mbt_pretrain_event;

typedef struct {
    void (*fn)(const mbt_pretrain_event *event, void *ctx);
    void *ctx;
} mbt_pretrain_observer;

/* Runs (or resumes) a pretraining, reporting to `observer` (may be NULL). Returns MBT_ERR_INTERRUPTED at
 * --max-steps or, once a stop is requested (core/stop.h; the CLI raises it on SIGINT/SIGTERM), in any
 * phase (training, the k-NN pass, between epochs), with RUN/last.safetensors saved such that --resume
 * continues exactly as if the run had not stopped (a k-NN pass cut short runs again). */
mbt_status mbt_pretrain_run(const mbt_pretrain_config *cfg, const mbt_pretrain_observer *observer);

#endif
