/* What a training run costs, as one report that `mixbt inspect` prints and `mixbt pretrain` prints at
 * start and stores in config.json: parameters and multiply-adds per image of each part (backbone,
 * projector; a baseline's head and BYOL's predictor), and per training step of the method (its views,
 * the networks run forward, the backward passes; BYOL's target network forward). Counted in thop's
 * convention (models/model_cost.h). */
#ifndef MBT_COST_REPORT_H
#define MBT_COST_REPORT_H

#include <stdio.h>

#include "models/model_cost.h"
#include "tasks/method.h"

#define MBT_COST_MAX_PARTS 4

typedef struct {
    char model[192];                        /* "resnet18, 32 px (3x3 conv, no max pool), projector 512-512-1024" */
    int n_parts;
    const char *part_names[MBT_COST_MAX_PARTS]; /* "backbone", "projector", "head", "predictor" */
    mbt_cost_part parts[MBT_COST_MAX_PARTS];
    mbt_cost_part total;                    /* the sum of the parts */
    const char *method;                     /* NULL: no training step counted (the method is not known) */
    int heads;                              /* 1: a baseline's step (backbone and heads) */
    int views, batch;                       /* forward passes of `batch` images per step */
    double step_forward;                    /* multiply-adds of the trained networks' forward passes per step */
    double step_target;                     /* BYOL: of its target network's forward passes (no backward) */
    double step_total;                      /* with the backward passes (about twice the forward) */
} mbt_cost_report;

/* The report of a model (its backbone and projector, a backbone alone when cfg->backbone_only) and of a
 * Mixed BT / BT step of `views` forward passes of `batch` images (method NULL or views 0: no step). */
mbt_status mbt_cost_report_model(const mbt_model_config *cfg, const char *method, int views, int batch,
                                 mbt_cost_report *r);
/* The report of what `mixbt pretrain` builds for a method configuration (Mixed BT: 3 forward passes per
 * step, the two views and their mix; BT: 2; the baselines: n_views, with their heads). */
mbt_status mbt_cost_report_method(const mbt_method_config *cfg, mbt_cost_report *r);
/* The report of the model a checkpoint holds (file: any checkpoint evaluation reads; key: the state dict
 * inside a .pth, NULL: detected): Mixed BT / BT with their projector (the step of the method, batch and
 * views of mixbt's stored configuration, else mixbt's 3 passes of 256 images); a baseline's encoder with
 * the heads found in the file (head.*; bn_last.*: SimCLR; pred.*: BYOL; else W-MSE unless the
 * configuration names the method; 2 views of 256 images unless it says otherwise); an encoder alone
 * without a step. */
mbt_status mbt_cost_report_checkpoint(const char *file, const char *key, mbt_cost_report *r);

/* The table: the model line, a row per part and the total, the training step, how it is counted. */
void mbt_cost_report_print(const mbt_cost_report *r, FILE *out);
/* The report as a JSON object (a cJSON *, the caller's): <part>_params, <part>_macs_per_image for each
 * part and total, method, step_views, step_batch, step_macs_forward, step_macs_target_forward (BYOL),
 * step_macs_with_backward, counting. */
void *mbt_cost_report_json(const mbt_cost_report *r);

#endif
