/* Internal structure of a head (models/mlp_head.h), shared by the head's own files only. */
#ifndef MBT_MLP_HEAD_INTERNAL_H
#define MBT_MLP_HEAD_INTERNAL_H

#include "core/plan.h"
#include "models/mlp_head.h"
#include "models/param_store.h"
#include "ops/batchnorm.h"

/* Linear(bias), then BatchNorm1d (+ ReLU fused into it) or a ReLU alone, or nothing (the last layer). */
typedef struct {
    int in, out;
    int bn, relu;
    float *w, *dw, *b, *db;
    float *gamma, *beta, *dgamma, *dbeta, *rmean, *rvar;
    int64_t tracked;
    /* A batch-norm op is made for one batch size: each slot has one for the n of its last training
     * forward (made again only when n changes), evaluation one for `rows` (rows are independent there). */
    mbt_batchnorm *bn_train[MBT_MAX_SLOTS];
    int bn_rows[MBT_MAX_SLOTS];
    mbt_batchnorm *bn_eval;
    float *y[MBT_MAX_SLOTS];    /* Linear output */
    float *a[MBT_MAX_SLOTS];    /* BN(+ReLU) or ReLU output; NULL: y is the layer's output */
    void *ws[MBT_MAX_SLOTS];    /* the BN op's per-call state */
    float *mean[MBT_MAX_SLOTS], *var[MBT_MAX_SLOTS];
} mbt_head_layer;

struct mbt_head {
    mbt_head_config cfg;
    mbt_device device;
    int rows, slots, training;
    int n_layers;
    mbt_head_layer layer[MBT_HEAD_MAX_HIDDEN + 1];
    const float *input[MBT_MAX_SLOTS];  /* a slot's forward input until its backward */
    int n[MBT_MAX_SLOTS];               /* rows of a slot's pending forward */
    size_t ws_bytes;                    /* workspace planned per slot and BN */
    float *ga, *gb;                     /* backward scratch [rows, widest layer] */
    mbt_param_store ps;
    mbt_plan acts;
};

/* A batch-norm op of layer l for n rows (training, or inference only). */
mbt_status mbt_head_bn_create(const mbt_head *h, const mbt_head_layer *l, int n, int inference, mbt_batchnorm **op);

/* The output of layer l on a slot. */
static inline float *mbt_head_layer_out(const mbt_head_layer *l, int slot) { return l->a[slot] ? l->a[slot] : l->y[slot]; }

#endif
