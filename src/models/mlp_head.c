/* Construction of a head (models/mlp_head.h): configuration, the memory plan, the batch-norm ops, the
 * state_dict entries in nn.Sequential's order, PyTorch's initialisation, parameter transfers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/mlp_head_internal.h"
#include "ops/eltwise.h"

#define MBT_RNG_TAG_HEAD_INIT 3 /* (stream, 0, 0): a head's initialisation */

static mbt_status copy_prefix(char *dst, size_t size, const char *src, const char *what) {
    if (!src) src = "";
    if (strlen(src) >= size)
        return MBT_FAIL(MBT_ERR_ARG, "head: %s '%s' longer than %zu characters", what, src, size - 1);
    memcpy(dst, src, strlen(src) + 1);
    return MBT_OK;
}

mbt_status mbt_head_config_sslsota(int in_dim, int head_size, int head_layers, int emb, const char *prefix,
                                   mbt_head_config *cfg) {
    if (head_layers < 1 || head_layers > MBT_HEAD_MAX_HIDDEN + 1)
        return MBT_FAIL(MBT_ERR_ARG, "head: %d layers (expected 1 to %d)", head_layers, MBT_HEAD_MAX_HIDDEN + 1);
    mbt_head_config c;
    memset(&c, 0, sizeof c);
    c.in_dim = in_dim;
    c.n_hidden = head_layers - 1;
    for (int i = 0; i < c.n_hidden; i++) c.hidden[i] = head_size;
    c.hidden_bn = 1;
    c.out_dim = emb;
    MBT_TRY(copy_prefix(c.prefix, sizeof c.prefix, prefix, "prefix"));
    *cfg = c;
    return MBT_OK;
}

static mbt_status check_config(const mbt_head_config *c) {
    if (c->n_hidden < 0 || c->n_hidden > MBT_HEAD_MAX_HIDDEN)
        return MBT_FAIL(MBT_ERR_ARG, "head: %d hidden layers (expected 0 to %d)", c->n_hidden, MBT_HEAD_MAX_HIDDEN);
    if (c->in_dim < 1 || c->out_dim < 1)
        return MBT_FAIL(MBT_ERR_ARG, "head: sizes %d -> %d must be positive", c->in_dim, c->out_dim);
    for (int i = 0; i < c->n_hidden; i++)
        if (c->hidden[i] < 1) return MBT_FAIL(MBT_ERR_ARG, "head: hidden layer %d has size %d", i, c->hidden[i]);
    if (!memchr(c->prefix, 0, sizeof c->prefix) || !memchr(c->out_bn_prefix, 0, sizeof c->out_bn_prefix))
        return MBT_FAIL(MBT_ERR_ARG, "head: a name prefix is not terminated");
    return MBT_OK;
}

/* ---- planning and ops ---------------------------------------------------------------------- */

static void set_shapes(mbt_head *h) {
    const mbt_head_config *c = &h->cfg;
    int in = c->in_dim;
    h->n_layers = c->n_hidden + 1;
    for (int j = 0; j < h->n_layers; j++) {
        mbt_head_layer *l = &h->layer[j];
        int last = j == h->n_layers - 1;
        l->in = in;
        l->out = last ? c->out_dim : c->hidden[j];
        l->bn = last ? c->out_bn : c->hidden_bn;
        l->relu = !last;
        in = l->out;
    }
}

static void plan_head(mbt_head *h) {
    size_t widest = 0;
    for (int j = 0; j < h->n_layers; j++) {
        mbt_head_layer *l = &h->layer[j];
        mbt_param_store_plan(&h->ps, &l->w, &l->dw, (size_t)l->out * l->in);
        mbt_param_store_plan(&h->ps, &l->b, &l->db, (size_t)l->out);
        if (l->bn) {
            mbt_param_store_plan(&h->ps, &l->gamma, &l->dgamma, (size_t)l->out);
            mbt_param_store_plan(&h->ps, &l->beta, &l->dbeta, (size_t)l->out);
            mbt_plan_floats(&h->ps.buffers, &l->rmean, (size_t)l->out);
            mbt_plan_floats(&h->ps.buffers, &l->rvar, (size_t)l->out);
        }
        size_t numel = (size_t)h->rows * l->out;
        for (int s = 0; s < h->slots; s++) {
            mbt_plan_floats(&h->acts, &l->y[s], numel);
            if (l->bn || l->relu) mbt_plan_floats(&h->acts, &l->a[s], numel);
            if (l->bn) {
                mbt_plan_floats(&h->acts, &l->mean[s], (size_t)l->out);
                mbt_plan_floats(&h->acts, &l->var[s], (size_t)l->out);
                if (h->ws_bytes) mbt_plan_bytes(&h->acts, &l->ws[s], h->ws_bytes);
            }
        }
        if (numel > widest) widest = numel;
    }
    if (h->training) {
        mbt_plan_floats(&h->acts, &h->ga, widest);
        mbt_plan_floats(&h->acts, &h->gb, widest);
    }
}

static mbt_batchnorm_shape bn_shape(int n, int c) { return (mbt_batchnorm_shape){n, c, 1, 1e-5f, 0.1f}; }

mbt_status mbt_head_bn_create(const mbt_head *h, const mbt_head_layer *l, int n, int inference, mbt_batchnorm **op) {
    mbt_batchnorm_shape s = bn_shape(n, l->out);
    return mbt_batchnorm_create(op, h->device, &s, (l->relu ? MBT_BN_FUSE_RELU : 0) | (inference ? MBT_BN_INFERENCE : 0));
}

/* The batch-norm ops for `rows` rows; the workspace a slot needs is that of a training op of `rows`. */
static mbt_status create_ops(mbt_head *h) {
    for (int j = 0; j < h->n_layers; j++) {
        mbt_head_layer *l = &h->layer[j];
        if (!l->bn) continue;
        MBT_TRY(mbt_head_bn_create(h, l, h->rows, 1, &l->bn_eval));
        for (int s = 0; h->training && s < h->slots; s++) {
            MBT_TRY(mbt_head_bn_create(h, l, h->rows, 0, &l->bn_train[s]));
            l->bn_rows[s] = h->rows;
            size_t bytes = mbt_batchnorm_workspace_bytes(l->bn_train[s]);
            if (bytes > h->ws_bytes) h->ws_bytes = bytes;
        }
    }
    return MBT_OK;
}

/* ---- state_dict entries: nn.Sequential's indices (Linear, [BatchNorm1d], ReLU per hidden layer) -- */

static void register_entries(mbt_head *h) {
    const mbt_head_config *c = &h->cfg;
    int stride = c->hidden_bn ? 3 : 2;
    char a[96];
    for (int j = 0; j < h->n_layers; j++) {
        mbt_head_layer *l = &h->layer[j];
        int64_t wshape[2] = {l->out, l->in}, bshape[1] = {l->out};
        int at = j * stride, last = j == h->n_layers - 1;
        snprintf(a, sizeof a, "%s%d.", c->prefix, at);
        mbt_param_store_add(&h->ps, a, "weight", MBT_PARAM_WEIGHT, 2, wshape, l->w, l->dw, NULL);
        mbt_param_store_add(&h->ps, a, "bias", MBT_PARAM_WEIGHT, 1, bshape, l->b, l->db, NULL);
        if (!l->bn) continue;
        /* the output BN is a module of its own when named (SimCLR's bn_last), else the next index */
        if (last && c->out_bn_prefix[0]) snprintf(a, sizeof a, "%s", c->out_bn_prefix);
        else snprintf(a, sizeof a, "%s%d.", c->prefix, at + 1);
        mbt_param_store_add_bn(&h->ps, a, l->out, l->gamma, l->dgamma, l->beta, l->dbeta, l->rmean, l->rvar,
                               &l->tracked);
    }
}

/* ---- public -------------------------------------------------------------------------------- */

mbt_status mbt_head_create(mbt_head **out, const mbt_head_config *cfg, int rows, int slots, int training,
                           mbt_device device) {
    *out = NULL;
    MBT_TRY(check_config(cfg));
    if (rows < (training ? 2 : 1))
        return MBT_FAIL(MBT_ERR_ARG, "head: %d rows (a training head needs at least 2)", rows);
    if (slots < 1 || slots > MBT_MAX_SLOTS) return MBT_FAIL(MBT_ERR_ARG, "head: slots must be 1..%d", MBT_MAX_SLOTS);
    MBT_TRY(mbt_param_store_check_device(device, "head"));
    mbt_head *h = calloc(1, sizeof *h);
    if (!h) return MBT_FAIL(MBT_ERR_NOMEM, "head: out of memory");
    h->cfg = *cfg;
    h->device = device;
    h->rows = rows;
    h->training = training;
    h->slots = training ? slots : 1;
    set_shapes(h);
    mbt_param_store_init(&h->ps, device, training, "head");
    mbt_plan_init(&h->acts, device);
    mbt_status st = create_ops(h);
    if (st == MBT_OK) {
        plan_head(h);
        st = mbt_param_store_commit(&h->ps);
    }
    if (st == MBT_OK) st = mbt_plan_commit(&h->acts);
    if (st == MBT_OK) {
        register_entries(h);
        st = h->ps.entry_error;
    }
    if (st != MBT_OK) {
        mbt_head_destroy(h);
        return st;
    }
    *out = h;
    return MBT_OK;
}

void mbt_head_destroy(mbt_head *h) {
    if (!h) return;
    for (int j = 0; j < h->n_layers; j++) {
        mbt_batchnorm_destroy(h->layer[j].bn_eval);
        for (int s = 0; s < MBT_MAX_SLOTS; s++) mbt_batchnorm_destroy(h->layer[j].bn_train[s]);
    }
    mbt_param_store_free(&h->ps);
    mbt_plan_free(&h->acts);
    free(h);
}

const mbt_head_config *mbt_head_get_config(const mbt_head *h) { return &h->cfg; }
mbt_device mbt_head_device(const mbt_head *h) { return h->device; }
size_t mbt_head_param_count(const mbt_head *h) { return h->ps.n_entries; }
mbt_param *mbt_head_param(mbt_head *h, size_t i) { return i < h->ps.n_entries ? &h->ps.entries[i] : NULL; }
float *mbt_head_flat_params(mbt_head *h) { return (float *)h->ps.params.block; }
float *mbt_head_flat_grads(mbt_head *h) { return (float *)h->ps.grads.block; }
size_t mbt_head_flat_size(const mbt_head *h) { return mbt_plan_float_count(&h->ps.params); }
size_t mbt_head_buffer_size(const mbt_head *h) { return mbt_plan_float_count(&h->ps.buffers); }

double mbt_head_forward_macs(const mbt_head *h) {
    double macs = 0;
    for (int j = 0; j < h->n_layers; j++) macs += (double)h->layer[j].in * h->layer[j].out;
    return macs;
}

static void fill_uniform(mbt_rng *rng, float *w, size_t n, double bound) {
    for (size_t i = 0; i < n; i++) w[i] = (float)(bound * (2.0 * mbt_rng_uniform_double(rng) - 1.0));
}

/* Draws into the host copy (the parameters themselves on the CPU), then uploads. */
mbt_status mbt_head_init_params(mbt_head *h, uint64_t seed, uint64_t stream) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_HEAD_INIT, stream, 0, 0));
    for (int j = 0; j < h->n_layers; j++) { /* nn.Linear: weight, then bias, U(+-1/sqrt(fan_in)) */
        mbt_head_layer *l = &h->layer[j];
        double bound = 1.0 / sqrt((double)l->in);
        fill_uniform(&rng, mbt_param_store_host_ptr(&h->ps, l->w), (size_t)l->out * l->in, bound);
        fill_uniform(&rng, mbt_param_store_host_ptr(&h->ps, l->b), (size_t)l->out, bound);
        if (!l->bn) continue;
        float *gamma = mbt_param_store_host_ptr(&h->ps, l->gamma), *beta = mbt_param_store_host_ptr(&h->ps, l->beta);
        float *rmean = mbt_param_store_host_ptr(&h->ps, l->rmean), *rvar = mbt_param_store_host_ptr(&h->ps, l->rvar);
        for (int i = 0; i < l->out; i++) {
            gamma[i] = 1.0f;
            beta[i] = 0.0f;
            rmean[i] = 0.0f;
            rvar[i] = 1.0f;
        }
        l->tracked = 0;
    }
    return mbt_head_params_to_device(h);
}

mbt_status mbt_head_params_to_device(mbt_head *h) { return mbt_param_store_to_device(&h->ps); }
mbt_status mbt_head_params_to_host(mbt_head *h) { return mbt_param_store_to_host(&h->ps); }

mbt_status mbt_head_zero_grads(mbt_head *h) {
    if (!h->training) return MBT_FAIL(MBT_ERR_ARG, "head: no gradients in a head built for evaluation");
    return mbt_zero(h->device, mbt_plan_float_count(&h->ps.grads), (float *)h->ps.grads.block);
}
