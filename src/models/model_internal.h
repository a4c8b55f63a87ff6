/* Internal structure of the model (shared by the model's own files only). */
#ifndef MBT_MODEL_INTERNAL_H
#define MBT_MODEL_INTERNAL_H

#include "core/plan.h"
#include "models/model.h"
#include "models/param_store.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/pool.h"

/* A convolution followed by batch norm (with ReLU fused unless it ends a residual block). */
typedef struct {
    mbt_conv2d_shape cs;
    mbt_batchnorm_shape bs;
    int relu;
    mbt_conv2d *conv;
    mbt_batchnorm *bn;
    float *w, *dw, *gamma, *beta, *dgamma, *dbeta, *rmean, *rvar;
    int64_t tracked;
    float *t[MBT_MAX_SLOTS];    /* conv output = BN input */
    float *a[MBT_MAX_SLOTS];    /* BN(+ReLU) output, when owned by the unit */
    void *ws[MBT_MAX_SLOTS];    /* fused ReLU state */
    float *mean[MBT_MAX_SLOTS], *var[MBT_MAX_SLOTS];
    size_t out_numel;           /* n * c_out * h_out * w_out */
} mbt_unit;

typedef struct {
    int n_units;                /* 2 (BasicBlock) or 3 (Bottleneck) */
    mbt_unit unit[3];
    int has_down;
    mbt_unit down;
    float *y[MBT_MAX_SLOTS];    /* block output relu(main + shortcut) */
    size_t out_numel;
} mbt_block;

typedef struct {
    int in, out;
    int bias, bn;               /* hidden layers: no bias, BN+ReLU; last: bias per config, no BN */
    float *w, *dw, *b, *db;
    mbt_batchnorm *bnop;
    float *gamma, *beta, *dgamma, *dbeta, *rmean, *rvar;
    int64_t tracked;
    float *y[MBT_MAX_SLOTS];    /* linear output */
    float *a[MBT_MAX_SLOTS];    /* BN+ReLU output (hidden layers) */
    void *ws[MBT_MAX_SLOTS];
    float *mean[MBT_MAX_SLOTS], *var[MBT_MAX_SLOTS];
} mbt_proj_layer;

struct mbt_model {
    mbt_model_config cfg;
    mbt_device device;
    int batch, slots, training;
    int bf16;                   /* MBT_PRECISION_BF16: the backbone's activations (see acts below) are bf16 */
    int emb;
    mbt_unit stem;
    mbt_maxpool *pool;
    mbt_pool_shape pool_shape;
    float *pooled[MBT_MAX_SLOTS];
    void *pool_ws[MBT_MAX_SLOTS];
    mbt_block *blocks;
    int n_blocks;
    int final_hw;               /* spatial size of layer4's output */
    mbt_proj_layer proj[MBT_MAX_PROJ_LAYERS];
    int n_proj;
    const float *input[MBT_MAX_SLOTS];
    float *feature[MBT_MAX_SLOTS];  /* avg-pooled backbone features [batch, emb] */
    float *out[MBT_MAX_SLOTS];      /* normalised projector output */
    /* backward scratch shared by every slot and layer (backward runs one layer at a time) */
    float *grad_a, *grad_b, *grad_c, *grad_d;
    size_t grad_numel;
    float *proj_ga, *proj_gb;
    size_t proj_numel;
    float *eval_input;          /* padded NCHW input for partial evaluation batches */
    float *shortcut;            /* downsample BN output, transient in forward */
    /* With bf16, the backbone's activation pointers (unit t and a, pooled, block y, shortcut, grad_a..d)
     * address bf16 arrays: only ops told so (the BF16 flags, the _bf16 functions) read them. */
    mbt_param_store ps;         /* parameters, gradients, running statistics, state_dict entries */
    mbt_plan acts;
};

/* The host-side address of a pointer into the params, buffers or grads plan: the same offset in its
 * host copy on CUDA, p itself on the CPU (and for NULL). */
float *mbt_model_host_ptr(const mbt_model *m, float *p);

#endif
