/* Model forward (training and evaluation) and backward passes over the planned buffers. Every data
 * movement is a device op (ops/eltwise.h), so the same code runs on either device. */

#include "models/model_internal.h"
#include "ops/eltwise.h"
#include "ops/linear.h"

/* ---- the backbone's element-wise ops, on its activations' precision -------------------------- */

static mbt_status act_add_relu(const mbt_model *m, size_t n, const float *a, const float *b, float *y) {
    return m->bf16 ? mbt_add_relu_forward_bf16(m->device, n, a, b, y) : mbt_add_relu_forward(m->device, n, a, b, y);
}

static mbt_status act_relu_backward(const mbt_model *m, size_t n, const float *y, const float *dy, float *dx) {
    return m->bf16 ? mbt_relu_backward_bf16(m->device, n, y, dy, dx) : mbt_relu_backward(m->device, n, y, dy, dx);
}

static mbt_status act_add(const mbt_model *m, size_t n, const float *a, const float *b, float *y) {
    return m->bf16 ? mbt_add_bf16(m->device, n, a, b, y) : mbt_add(m->device, n, a, b, y);
}

/* Global average pool of the last block's output into the fp32 features, and its backward. */
static mbt_status act_avgpool_forward(const mbt_model *m, const float *x, float *feature) {
    return m->bf16 ? mbt_avgpool_forward_bf16(m->device, m->batch, m->emb, m->final_hw, x, feature)
                   : mbt_avgpool_forward(m->device, m->batch, m->emb, m->final_hw, x, feature);
}

static mbt_status act_avgpool_backward(const mbt_model *m, const float *dfeature, float *dx) {
    return m->bf16 ? mbt_avgpool_backward_bf16(m->device, m->batch, m->emb, m->final_hw, dfeature, dx)
                   : mbt_avgpool_backward(m->device, m->batch, m->emb, m->final_hw, dfeature, dx);
}

/* ---- forward -------------------------------------------------------------------------------- */

/* conv -> BN(+ReLU) of one unit; the output goes to `out` (the unit's own buffer when NULL). */
static mbt_status unit_forward(mbt_model *m, mbt_unit *u, int slot, int train, const float *x, float *out) {
    float *y = out ? out : u->a[slot];
    MBT_TRY(mbt_conv2d_forward(u->conv, x, u->t[slot]));
    if (train) {
        u->tracked++;
        return mbt_batchnorm_forward_train(u->bn, u->t[slot], u->gamma, u->beta, y, u->mean[slot], u->var[slot],
                                           u->ws[slot], u->rmean, u->rvar);
    }
    (void)m;
    return mbt_batchnorm_forward_eval(u->bn, u->t[slot], u->gamma, u->beta, u->rmean, u->rvar, y);
}

static mbt_status block_forward(mbt_model *m, mbt_block *blk, int slot, int train, const float *x) {
    const float *h = x;
    for (int i = 0; i < blk->n_units; i++) {
        mbt_unit *u = &blk->unit[i];
        int last = i == blk->n_units - 1;
        MBT_TRY(unit_forward(m, u, slot, train, h, last ? blk->y[slot] : NULL));
        h = u->a[slot];
    }
    const float *shortcut = x;
    if (blk->has_down) {
        MBT_TRY(unit_forward(m, &blk->down, slot, train, x, m->shortcut));
        shortcut = m->shortcut;
    }
    return act_add_relu(m, blk->out_numel, blk->y[slot], shortcut, blk->y[slot]);
}

/* Backbone and projector on slot `slot`; leaves features in m->feature[slot], output in m->out[slot]. */
static mbt_status forward(mbt_model *m, int slot, int train, const float *x) {
    MBT_TRY(unit_forward(m, &m->stem, slot, train, x, NULL));
    const float *h = m->stem.a[slot];
    if (m->pool) {
        MBT_TRY(mbt_maxpool_forward(m->pool, h, m->pooled[slot], m->pool_ws[slot]));
        h = m->pooled[slot];
    }
    for (int b = 0; b < m->n_blocks; b++) {
        MBT_TRY(block_forward(m, &m->blocks[b], slot, train, h));
        h = m->blocks[b].y[slot];
    }
    MBT_TRY(act_avgpool_forward(m, h, m->feature[slot]));
    if (m->cfg.backbone_only) return MBT_OK;
    h = m->feature[slot];
    for (int j = 0; j < m->n_proj; j++) {
        mbt_proj_layer *p = &m->proj[j];
        MBT_TRY(mbt_linear_forward(m->device, m->batch, p->in, p->out, h, p->w, p->b, p->y[slot]));
        h = p->y[slot];
        if (!p->bn) continue;
        if (train) {
            p->tracked++;
            MBT_TRY(mbt_batchnorm_forward_train(p->bnop, p->y[slot], p->gamma, p->beta, p->a[slot], p->mean[slot],
                                                p->var[slot], p->ws[slot], p->rmean, p->rvar));
        } else {
            MBT_TRY(mbt_batchnorm_forward_eval(p->bnop, p->y[slot], p->gamma, p->beta, p->rmean, p->rvar, p->a[slot]));
        }
        h = p->a[slot];
    }
    size_t n_out = (size_t)m->batch * m->cfg.feature_dim;
    if (m->cfg.normalize_output) return mbt_l2norm_forward(m->device, m->batch, m->cfg.feature_dim, h, m->out[slot]);
    return mbt_copy(m->device, n_out, h, m->out[slot]);
}

mbt_status mbt_model_forward_train(mbt_model *m, int slot, const float *x, const float **feature, const float **out) {
    if (!m->training) return MBT_FAIL(MBT_ERR_ARG, "model: training forward on a model built for evaluation");
    if (slot < 0 || slot >= m->slots) return MBT_FAIL(MBT_ERR_ARG, "model: slot %d out of range 0..%d", slot, m->slots - 1);
    m->input[slot] = x;
    MBT_TRY(forward(m, slot, 1, x));
    if (feature) *feature = m->feature[slot];
    if (out) *out = m->cfg.backbone_only ? m->feature[slot] : m->out[slot];
    return MBT_OK;
}

static mbt_status forward_eval(mbt_model *m, int n, const float *x, int normalise, float *feature, float *out) {
    if (n < 1 || n > m->batch) return MBT_FAIL(MBT_ERR_ARG, "model: evaluation batch %d out of range 1..%d", n, m->batch);
    size_t per_image = (size_t)3 * m->cfg.image_size * m->cfg.image_size;
    const float *in = x;
    if (n < m->batch) { /* pad a partial batch: evaluation BN treats images independently */
        MBT_TRY(mbt_copy(m->device, (size_t)n * per_image, x, m->eval_input));
        MBT_TRY(mbt_zero(m->device, (size_t)(m->batch - n) * per_image, m->eval_input + (size_t)n * per_image));
        in = m->eval_input;
    }
    MBT_TRY(forward(m, 0, 0, in));
    if (feature && normalise) MBT_TRY(mbt_l2norm_forward(m->device, n, m->emb, m->feature[0], feature));
    if (feature && !normalise) MBT_TRY(mbt_copy(m->device, (size_t)n * m->emb, m->feature[0], feature));
    if (out && m->cfg.backbone_only) MBT_TRY(mbt_copy(m->device, (size_t)n * m->emb, m->feature[0], out));
    else if (out) MBT_TRY(mbt_copy(m->device, (size_t)n * m->cfg.feature_dim, m->out[0], out));
    return MBT_OK;
}

mbt_status mbt_model_forward_eval(mbt_model *m, int n, const float *x, float *feature, float *out) {
    return forward_eval(m, n, x, 1, feature, out);
}

mbt_status mbt_model_forward_eval_raw(mbt_model *m, int n, const float *x, float *feature, float *out) {
    return forward_eval(m, n, x, 0, feature, out);
}

/* ---- backward ------------------------------------------------------------------------------- */

/* Backward through BN(+ReLU) then conv of a unit: dy (gradient of the unit's output) -> dx (NULL:
 * none). `tmp` receives the gradient of the conv output. */
static mbt_status unit_backward(mbt_unit *u, int slot, const float *x, const float *dy, float *tmp, float *dx) {
    MBT_TRY(mbt_batchnorm_backward(u->bn, u->t[slot], u->gamma, u->beta, u->mean[slot], u->var[slot], u->ws[slot], dy, tmp,
                                   u->dgamma, u->dbeta));
    return mbt_conv2d_backward(u->conv, x, tmp, dx, u->dw);
}

/* The first of three buffers that is neither `a` nor `b`. */
static float *other_buffer(float *const bufs[3], const float *a, const float *b) {
    for (int i = 0; i < 3; i++)
        if (bufs[i] != a && bufs[i] != b) return bufs[i];
    return NULL;
}

/* gy (in grad_a, the gradient of the block output) -> gradient of the block input, into grad_b.
 * grad_a keeps the post-ReLU gradient g for the shortcut; grad_b, grad_c, grad_d rotate. */
static mbt_status block_backward(mbt_model *m, mbt_block *blk, int slot, const float *x) {
    float *g = m->grad_a, *out = m->grad_b;
    float *const bufs[3] = {m->grad_b, m->grad_c, m->grad_d};
    MBT_TRY(act_relu_backward(m, blk->out_numel, blk->y[slot], g, g));
    const float *dy = g;
    float *res = NULL;
    for (int i = blk->n_units - 1; i >= 0; i--) {
        const float *in = i ? blk->unit[i - 1].a[slot] : x;
        float *tmp = other_buffer(bufs, dy, NULL);
        res = other_buffer(bufs, dy, tmp);
        MBT_TRY(unit_backward(&blk->unit[i], slot, in, dy, tmp, res));
        dy = res;
    }
    const float *shortcut_grad = g;
    if (blk->has_down) {
        float *tmp = other_buffer(bufs, res, NULL), *dxd = other_buffer(bufs, res, tmp);
        MBT_TRY(unit_backward(&blk->down, slot, x, g, tmp, dxd));
        shortcut_grad = dxd;
    }
    return act_add(m, (size_t)m->batch * blk->unit[0].cs.c_in * blk->unit[0].cs.h * blk->unit[0].cs.w, res,
                   shortcut_grad, out);
}

/* Backward of the backbone from dL/dfeature. */
static mbt_status trunk_backward(mbt_model *m, int slot, const float *dfeature) {
    MBT_TRY(act_avgpool_backward(m, dfeature, m->grad_a));
    for (int b = m->n_blocks - 1; b >= 0; b--) {
        const float *x = b ? m->blocks[b - 1].y[slot] : (m->pool ? m->pooled[slot] : m->stem.a[slot]);
        MBT_TRY(block_backward(m, &m->blocks[b], slot, x));
        float *t = m->grad_a; m->grad_a = m->grad_b; m->grad_b = t;
    }
    const float *g = m->grad_a;
    if (m->pool) {
        MBT_TRY(mbt_maxpool_backward(m->pool, m->pool_ws[slot], g, m->grad_b));
        g = m->grad_b;
    }
    MBT_TRY(unit_backward(&m->stem, slot, m->input[slot], g, m->grad_c, NULL));
    m->input[slot] = NULL;
    return MBT_OK;
}

/* The backbone-only model: its output is the features, so dL/dfeature = dout + dfeature. */
static mbt_status backbone_backward(mbt_model *m, int slot, const float *dout, const float *dfeature) {
    if (!dout && !dfeature) return MBT_FAIL(MBT_ERR_ARG, "model: backward of a backbone without dfeature");
    const float *g = dout ? dout : dfeature;
    if (dout && dfeature) {
        MBT_TRY(mbt_add(m->device, (size_t)m->batch * m->emb, dout, dfeature, m->proj_ga));
        g = m->proj_ga;
    }
    return trunk_backward(m, slot, g);
}

mbt_status mbt_model_backward(mbt_model *m, int slot, const float *dout, const float *dfeature) {
    if (!m->training) return MBT_FAIL(MBT_ERR_ARG, "model: backward on a model built for evaluation");
    if (slot < 0 || slot >= m->slots || !m->input[slot])
        return MBT_FAIL(MBT_ERR_ARG, "model: backward on slot %d without its forward", slot);
    if (m->cfg.backbone_only) return backbone_backward(m, slot, dout, dfeature);
    int n = m->batch, d = m->cfg.feature_dim;
    float *ga = m->proj_ga, *gb = m->proj_gb;
    /* projector */
    mbt_proj_layer *last = &m->proj[m->n_proj - 1];
    if (m->cfg.normalize_output) {
        MBT_TRY(mbt_l2norm_backward(m->device, n, d, last->y[slot], dout, ga));
    } else {
        MBT_TRY(mbt_copy(m->device, (size_t)n * d, dout, ga));
    }
    for (int j = m->n_proj - 1; j >= 0; j--) {
        mbt_proj_layer *p = &m->proj[j];
        const float *in = j ? m->proj[j - 1].a[slot] : m->feature[slot];
        if (p->bn) { /* ga = gradient of the BN+ReLU output */
            MBT_TRY(mbt_batchnorm_backward(p->bnop, p->y[slot], p->gamma, p->beta, p->mean[slot], p->var[slot], p->ws[slot], ga,
                                           gb, p->dgamma, p->dbeta));
            float *t = ga; ga = gb; gb = t;
        }
        MBT_TRY(mbt_linear_backward(m->device, n, p->in, p->out, in, p->w, ga, gb, p->dw, p->db));
        float *t = ga; ga = gb; gb = t;
    }
    if (dfeature) MBT_TRY(mbt_add(m->device, (size_t)n * m->emb, ga, dfeature, ga));
    return trunk_backward(m, slot, ga);
}
