/* The interface through which the pretraining loop drives a self-supervised method (Mixed Barlow
 * Twins, Barlow Twins, SimCLR, BYOL, W-MSE): the method owns its models, heads and workspaces; the loop
 * owns the data, the schedule, the optimizer (one Adam state per parameter segment, one lr), the
 * metrics and the checkpoints.
 *
 * Per step the loop calls mbt_method_queue(views) (zeroes and fills the gradients of every segment,
 * leaves the loss values to collect), then Adam on each segment, then mbt_method_after_update (refreshes
 * the models' weights; BYOL's target EMA), and later mbt_method_collect for the step's loss values (up to
 * two steps may be queued before their values are collected, as mixbt_step.h describes). */
#ifndef MBT_METHOD_H
#define MBT_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "models/model.h"

typedef enum {
    MBT_METHOD_MIXBT = 0, /* Mixed Barlow Twins (the default) */
    MBT_METHOD_BT,        /* plain Barlow Twins (mixbt without the regulariser) */
    MBT_METHOD_SIMCLR,    /* ssl-sota's contrastive method */
    MBT_METHOD_BYOL,
    MBT_METHOD_WMSE
} mbt_method_kind;

#define MBT_METHOD_MAX_SEGMENTS 3
#define MBT_METHOD_MAX_VALUES 4
#define MBT_METHOD_MAX_VIEWS 4

/* "mixbt", "bt", "simclr", "byol", "wmse". */
const char *mbt_method_name(mbt_method_kind kind);
/* MBT_ERR_ARG naming the text when it is none of them. */
mbt_status mbt_method_parse(const char *name, mbt_method_kind *kind);
/* 1 for the ssl-sota baselines (SimCLR, BYOL, W-MSE). */
int mbt_method_is_baseline(mbt_method_kind kind);
/* " (bt 1.2345 reg 0.1234)" for several loss values, each by its name without "loss_", sep between
 * them, each printed with fmt (one double); "" for one value. */
void mbt_method_values_text(const char *const *names, const double *values, int n, const char *sep, const char *fmt,
                            char *buf, size_t size);

/* What a method computes (not how: device and precision are how to run). */
typedef struct {
    mbt_method_kind kind;
    mbt_arch arch;
    int image_size, batch; /* images per view and step */
    uint64_t seed;         /* parameter initialisation and per-step draws */
    /* mixbt / bt */
    int feature_dim;
    double lambda_bt, lambda_reg; /* lambda_reg is ignored by bt (0) */
    /* the baselines (ssl-sota cfg.py names) */
    int n_views;                  /* --num-samples, 2 .. MBT_METHOD_MAX_VIEWS */
    int emb, head_size, head_layers;
    int normalize;                /* 0: --no-norm */
    double tau;                   /* SimCLR's temperature */
    double byol_tau;              /* BYOL's base EMA coefficient */
    int w_size, w_iter;           /* W-MSE */
    double w_eps;
} mbt_method_config;

/* Defaults of ssl-sota's cfg.py for the baselines (emb 64, head 1024, 2 layers, 2 views, tau 0.5,
 * byol_tau 0.99, w_size 128, w_iter 1, w_eps 1e-4, norm on) and of the reference for mixbt. */
void mbt_method_config_defaults(mbt_method_config *cfg);

/* A flat vector the optimizer updates, with its gradient (device memory). */
typedef struct {
    const char *name; /* the optimizer state's key in a checkpoint: "" (the backbone or mixbt's model: the
                         historical mixbt.optimizer.exp_avg), "head", "pred" */
    float *params;
    const float *grads;
    size_t n;
} mbt_method_segment;

/* Where the step stands, for per-step draws (mix, W-MSE groups) and the EMA schedule. */
typedef struct {
    int64_t step;      /* optimizer steps completed before this one */
    int epoch, epochs; /* this step's epoch (from 1) and the run's length */
    const int32_t *groups; /* W-MSE: w_iter permutations of the batch (host) to use instead of those drawn
                              from (seed, step); NULL in training (the parity tests give PyTorch's) */
} mbt_method_step_info;

typedef struct mbt_method mbt_method;

typedef struct {
    void (*destroy)(mbt_method *m);
    mbt_status (*queue)(mbt_method *m, const float *const *views, const mbt_method_step_info *info);
    mbt_status (*collect)(mbt_method *m, double *values);
    mbt_status (*after_update)(mbt_method *m, const mbt_method_step_info *info);
    mbt_status (*params_to_host)(mbt_method *m);
    mbt_status (*params_to_device)(mbt_method *m);
} mbt_method_ops;

struct mbt_method {
    const mbt_method_ops *ops;
    mbt_method_config cfg;
    mbt_device device;
    mbt_model *model;      /* the online backbone: the k-NN monitor's features */
    int n_views;           /* views per step the loop hands to queue */
    int n_segments;
    mbt_method_segment segments[MBT_METHOD_MAX_SEGMENTS];
    int n_values;          /* loss values per step; their sum is the loss */
    const char *value_names[MBT_METHOD_MAX_VALUES]; /* metrics.csv columns ("loss_bt", "loss_reg"; "loss") */
    mbt_param **entries;   /* the checkpoint's state_dict entries in order (host memory, see model.h) */
    size_t n_entries;
    void *impl;
};

/* Creates the method's models, heads and workspaces for cfg on device, parameters initialised from
 * cfg->seed. */
mbt_status mbt_method_create(mbt_method **m, const mbt_method_config *cfg, mbt_device device, mbt_precision precision);
void mbt_method_destroy(mbt_method *m);

/* Queues a step on the views (n_views pointers to [batch, 3, H, W] in the device's memory): zeroes the
 * segments' gradients and leaves dL/dparams there. */
mbt_status mbt_method_queue(mbt_method *m, const float *const *views, const mbt_method_step_info *info);
/* The n_values loss values of the oldest step queued. */
mbt_status mbt_method_collect(mbt_method *m, double *values);
/* After the optimizer has updated every segment: refreshes the models' copies of the weights and runs
 * the method's own update (BYOL's target EMA). */
mbt_status mbt_method_after_update(mbt_method *m, const mbt_method_step_info *info);
/* The checkpoint entries' host copies: refreshed from the device (before reading them) and uploaded
 * (after writing them), as mbt_model_params_to_host/_to_device. */
mbt_status mbt_method_params_to_host(mbt_method *m);
mbt_status mbt_method_params_to_device(mbt_method *m);

/* For implementations: appends entries to m->entries (grown with realloc; freed by mbt_method_destroy). */
mbt_status mbt_method_add_entry(mbt_method *m, mbt_param *p);
mbt_status mbt_method_add_model_entries(mbt_method *m, mbt_model *model);
/* The implementations' constructors (method.c dispatches on cfg->kind). */
mbt_status mbt_method_create_mixbt(mbt_method *m, mbt_precision precision);
mbt_status mbt_method_create_baseline(mbt_method *m, mbt_precision precision);

#endif
