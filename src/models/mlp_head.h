/* The multilayer heads of the baseline methods (ssl-sota's make_head, BYOL's predictor, SimCLR's
 * bn_last), as PyTorch builds them: (Linear(bias) [+ BatchNorm1d] + ReLU) x n_hidden, then
 * Linear(bias), then optionally a BatchNorm1d of the output. A head is a module of its own beside the
 * backbone model (models/model.h): the baselines run it over all views at once (one batch-norm batch
 * of views x batch rows) or once per view, which a projector fused into the model cannot express.
 *
 * Memory is planned once, like the model's: parameters, gradients, BN running statistics and
 * activations for `slots` forward calls of up to `rows` rows each, on one device; a call allocates
 * nothing. Parameters and gradients are one flat vector each (for the optimizer and an all-reduce).
 * Entries (mbt_param, with PyTorch's state_dict names) are host memory as the model's: on CUDA call
 * mbt_head_params_to_host before reading them and mbt_head_params_to_device after writing them. */
#ifndef MBT_MLP_HEAD_H
#define MBT_MLP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "models/model.h"

#define MBT_HEAD_MAX_HIDDEN 3

typedef struct {
    int in_dim;                          /* input features (the backbone's embedding, or emb for BYOL's predictor) */
    int hidden[MBT_HEAD_MAX_HIDDEN];     /* sizes of the hidden Linear(bias) [+ BN] + ReLU layers */
    int n_hidden;                        /* 0 .. MBT_HEAD_MAX_HIDDEN (ssl-sota: head_layers - 1) */
    int hidden_bn;                       /* BatchNorm1d after each hidden Linear (ssl-sota's add_bn, default on) */
    int out_dim;                         /* the last Linear(bias)'s output size (ssl-sota's emb) */
    int out_bn;                          /* a BatchNorm1d(out_dim) after the last Linear (SimCLR's bn_last) */
    char prefix[32];                     /* state_dict prefix of the Sequential, e.g. "head." or "pred." */
    char out_bn_prefix[32];              /* state_dict prefix of the output BN, e.g. "bn_last." */
} mbt_head_config;

typedef struct mbt_head mbt_head;

/* ssl-sota's head: in_dim -> (head_size) x (head_layers - 1) -> emb, BN in the hidden layers, with
 * `prefix` names; SimCLR adds out_bn by hand. MBT_ERR_ARG when head_layers is outside 1..MBT_HEAD_MAX_HIDDEN+1. */
mbt_status mbt_head_config_sslsota(int in_dim, int head_size, int head_layers, int emb, const char *prefix,
                                   mbt_head_config *cfg);

/* Plans the head for forward calls of up to `rows` rows and `slots` calls before backward (training = 0:
 * evaluation only, one slot, no gradients). Parameters are zero until init or load. */
mbt_status mbt_head_create(mbt_head **head, const mbt_head_config *cfg, int rows, int slots, int training,
                           mbt_device device);
void mbt_head_destroy(mbt_head *head);
const mbt_head_config *mbt_head_get_config(const mbt_head *head);
mbt_device mbt_head_device(const mbt_head *head);

/* PyTorch's default initialisation (Linear: weight and bias U(+-1/sqrt(in)); BN: gamma 1, beta 0,
 * running mean 0, var 1, counter 0) from the counter-based stream of (seed, stream) (the Philox stream
 * mbt_rng_stream_id(3, stream, 0, 0): stream < 2^20), drawn on the host and uploaded: the same values on
 * every device. Distinct heads of one run use distinct streams. */
mbt_status mbt_head_init_params(mbt_head *head, uint64_t seed, uint64_t stream);

/* The state_dict entries in PyTorch's order (weights, BN buffers and num_batches_tracked counters). */
size_t mbt_head_param_count(const mbt_head *head);
mbt_param *mbt_head_param(mbt_head *head, size_t index);
/* Trainable parameters and gradients as flat vectors of mbt_head_flat_size floats in the device's memory. */
float *mbt_head_flat_params(mbt_head *head);
float *mbt_head_flat_grads(mbt_head *head);
size_t mbt_head_flat_size(const mbt_head *head);
size_t mbt_head_buffer_size(const mbt_head *head);
/* Multiply-adds of one row's forward pass (the Linear layers). */
double mbt_head_forward_macs(const mbt_head *head);

mbt_status mbt_head_params_to_device(mbt_head *head);
mbt_status mbt_head_params_to_host(mbt_head *head);
mbt_status mbt_head_zero_grads(mbt_head *head);

/* Training forward of n (2 <= n <= rows) rows x [n, in_dim] (device memory) on a slot; every BN
 * normalises over these n rows and updates its running statistics as nn.BatchNorm1d does (momentum
 * 0.1, unbiased variance), and its counter. x must stay unchanged until the slot's backward.
 * *out receives [n, out_dim], valid until the slot is reused. */
mbt_status mbt_head_forward_train(mbt_head *head, int slot, int n, const float *x, const float **out);
/* Backward of a slot's forward from dout [n, out_dim]: accumulates the parameter gradients and writes
 * dx [n, in_dim] (overwritten; NULL: not needed). */
mbt_status mbt_head_backward(mbt_head *head, int slot, const float *dout, float *dx);
/* Evaluation forward (running statistics) of n <= rows rows into out [n, out_dim]; uses slot 0. */
mbt_status mbt_head_forward_eval(mbt_head *head, int n, const float *x, float *out);

#endif
