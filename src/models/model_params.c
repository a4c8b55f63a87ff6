/* Parameter initialisation (PyTorch's defaults), weight synchronisation with the ops, the host <-> device
 * transfers of a CUDA model's parameters, zeroing grads. */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "models/model_internal.h"
#include "ops/eltwise.h"

#define MBT_RNG_TAG_INIT 1

static void fill_normal(mbt_rng *rng, float *w, size_t n, double std) {
    for (size_t i = 0; i < n; i++) w[i] = (float)(std * mbt_rng_normal(rng));
}

static void fill_uniform(mbt_rng *rng, float *w, size_t n, double bound) {
    for (size_t i = 0; i < n; i++) w[i] = (float)(bound * (2.0 * mbt_rng_uniform_double(rng) - 1.0));
}

/* The arguments are host addresses (mbt_model_host_ptr). */
static void init_bn(float *gamma, float *beta, float *rmean, float *rvar, int c, float gamma_value) {
    for (int i = 0; i < c; i++) {
        gamma[i] = gamma_value;
        beta[i] = 0;
        rmean[i] = 0;
        rvar[i] = 1;
    }
}

/* torchvision's ResNet convs: kaiming_normal_(mode='fan_out', nonlinearity='relu'). */
static void init_unit(const mbt_model *m, mbt_rng *rng, mbt_unit *u, float gamma_value) {
    const mbt_conv2d_shape *s = &u->cs;
    fill_normal(rng, mbt_model_host_ptr(m, u->w), (size_t)s->c_out * s->c_in * s->kernel * s->kernel,
                sqrt(2.0 / (s->c_out * s->kernel * s->kernel)));
    init_bn(mbt_model_host_ptr(m, u->gamma), mbt_model_host_ptr(m, u->beta), mbt_model_host_ptr(m, u->rmean),
            mbt_model_host_ptr(m, u->rvar), s->c_out, gamma_value);
    u->tracked = 0;
}

/* Draws on the host (into the parameters themselves on the CPU, into the host copy on CUDA), then
 * uploads: the same seed gives the same parameters on every device. */
mbt_status mbt_model_init_params(mbt_model *m, uint64_t seed) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_INIT, 0, 0, 0));
    if (m->cfg.stem == MBT_STEM_IMAGENET) {
        init_unit(m, &rng, &m->stem, 1.0f);
    } else { /* the replaced 3x3 conv1 keeps nn.Conv2d's default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)) */
        init_unit(m, &rng, &m->stem, 1.0f);
        const mbt_conv2d_shape *s = &m->stem.cs;
        fill_uniform(&rng, mbt_model_host_ptr(m, m->stem.w), (size_t)s->c_out * s->c_in * 9, 1.0 / sqrt(s->c_in * 9.0));
    }
    for (int b = 0; b < m->n_blocks; b++) {
        mbt_block *blk = &m->blocks[b];
        for (int i = 0; i < blk->n_units; i++)
            init_unit(m, &rng, &blk->unit[i], (i == blk->n_units - 1 && m->cfg.zero_init_residual) ? 0.0f : 1.0f);
        if (blk->has_down) init_unit(m, &rng, &blk->down, 1.0f);
    }
    for (int j = 0; j < m->n_proj; j++) { /* nn.Linear: weight and bias U(+-1/sqrt(fan_in)) */
        mbt_proj_layer *p = &m->proj[j];
        double bound = 1.0 / sqrt((double)p->in);
        fill_uniform(&rng, mbt_model_host_ptr(m, p->w), (size_t)p->out * p->in, bound);
        if (p->bias) fill_uniform(&rng, mbt_model_host_ptr(m, p->b), (size_t)p->out, bound);
        if (p->bn)
            init_bn(mbt_model_host_ptr(m, p->gamma), mbt_model_host_ptr(m, p->beta), mbt_model_host_ptr(m, p->rmean),
                    mbt_model_host_ptr(m, p->rvar), p->out, 1.0f);
        p->tracked = 0;
    }
    return mbt_model_params_to_device(m);
}

mbt_status mbt_model_sync_params(mbt_model *m) {
    MBT_TRY(mbt_conv2d_set_weights(m->stem.conv, m->stem.w));
    for (int b = 0; b < m->n_blocks; b++) {
        mbt_block *blk = &m->blocks[b];
        for (int i = 0; i < blk->n_units; i++) MBT_TRY(mbt_conv2d_set_weights(blk->unit[i].conv, blk->unit[i].w));
        if (blk->has_down) MBT_TRY(mbt_conv2d_set_weights(blk->down.conv, blk->down.w));
    }
    return MBT_OK;
}

mbt_status mbt_model_params_to_device(mbt_model *m) {
    MBT_TRY(mbt_param_store_to_device(&m->ps));
    return mbt_model_sync_params(m);
}

mbt_status mbt_model_params_to_host(mbt_model *m) {
    return mbt_param_store_to_host(&m->ps);
}

mbt_status mbt_model_zero_grads(mbt_model *m) {
    if (!m->training) return MBT_FAIL(MBT_ERR_ARG, "model: no gradients in a model built for evaluation");
    return mbt_zero(m->device, mbt_plan_float_count(&m->ps.grads), (float *)m->ps.grads.block);
}
