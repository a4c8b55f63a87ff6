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
    int print_every;          /* steps between plain progress lines when not on a terminal */
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

/* Runs (or resumes) a pretraining; progress goes to `log`. Returns MBT_ERR_INTERRUPTED at --max-steps
 * or, once the caller has installed tasks/stop.h's handlers, after a SIGINT/SIGTERM in any phase
 * (training, the k-NN pass, between epochs), with RUN/last.safetensors saved such that --resume
 * continues exactly as if the run had not stopped (a k-NN pass cut short runs again). */
mbt_status mbt_pretrain_run(const mbt_pretrain_config *cfg, FILE *log);

#endif
