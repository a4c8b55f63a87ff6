/* Model construction: layer shapes, the memory plan, op creation, the state_dict entries and, for a
 * CUDA model, the host copies the entries point into. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

static const int BLOCKS_R18[4] = {2, 2, 2, 2};
static const int BLOCKS_R50[4] = {3, 4, 6, 3};

const char *mbt_arch_name(mbt_arch arch) { return arch == MBT_ARCH_RESNET50 ? "resnet50" : "resnet18"; }

mbt_status mbt_arch_parse(const char *name, mbt_arch *arch) {
    if (!strcmp(name, "resnet18")) *arch = MBT_ARCH_RESNET18;
    else if (!strcmp(name, "resnet50")) *arch = MBT_ARCH_RESNET50;
    else return MBT_FAIL(MBT_ERR_ARG, "unknown architecture '%s' (expected resnet18 or resnet50)", name);
    return MBT_OK;
}

int mbt_model_embedding_dim(mbt_arch arch) { return arch == MBT_ARCH_RESNET50 ? 2048 : 512; }

mbt_model_config mbt_model_config_small(mbt_arch arch, int image_size, int feature_dim) {
    mbt_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = arch;
    c.stem = image_size <= 32 ? MBT_STEM_CIFAR : MBT_STEM_SMALL;
    c.naming = MBT_NAMES_SMALL;
    c.image_size = image_size;
    c.proj_hidden[0] = 512;
    c.n_proj_hidden = 1;
    c.feature_dim = feature_dim;
    c.proj_out_bias = 1;
    c.normalize_output = 1;
    return c;
}

mbt_status mbt_model_config_imagenet(mbt_arch arch, const char *projector, mbt_model_config *cfg) {
    mbt_model_config c = mbt_model_config_small(arch, 224, 0);
    c.stem = MBT_STEM_IMAGENET;
    c.naming = MBT_NAMES_IMAGENET;
    c.proj_out_bias = 0;
    c.normalize_output = 0;
    c.zero_init_residual = 1;
    MBT_TRY(mbt_model_config_set_projector(&c, projector));
    *cfg = c;
    return MBT_OK;
}

mbt_status mbt_model_config_sslsota(mbt_arch arch, int image_size, const char *name_prefix, mbt_model_config *cfg) {
    /* ssl-sota's datasets: CIFAR-10/100 at 32 px, STL-10 and Tiny ImageNet at 64 px, ImageNet at 224 px */
    if (image_size != 32 && image_size != 64 && image_size != 224)
        return MBT_FAIL(MBT_ERR_ARG, "ssl-sota encoder: image size %d (expected 32, 64 or 224)", image_size);
    mbt_model_config c;
    memset(&c, 0, sizeof c);
    if (strlen(name_prefix) >= sizeof c.name_prefix)
        return MBT_FAIL(MBT_ERR_ARG, "ssl-sota encoder: name prefix '%s' longer than %zu characters", name_prefix,
                        sizeof c.name_prefix - 1);
    c.arch = arch;
    c.stem = image_size == 32 ? MBT_STEM_CIFAR : image_size == 224 ? MBT_STEM_IMAGENET : MBT_STEM_SMALL;
    c.naming = MBT_NAMES_PREFIXED;
    c.image_size = image_size;
    c.backbone_only = 1;
    snprintf(c.name_prefix, sizeof c.name_prefix, "%s", name_prefix);
    *cfg = c;
    return MBT_OK;
}

mbt_status mbt_model_config_set_projector(mbt_model_config *cfg, const char *spec) {
    int sizes[MBT_MAX_PROJ_LAYERS], n = 0;
    const char *p = spec;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 65536 || n == MBT_MAX_PROJ_LAYERS || (*end && *end != '-'))
            return MBT_FAIL(MBT_ERR_ARG, "projector '%s': expected sizes like 8192-8192-8192 (1 to %d sizes)", spec,
                            MBT_MAX_PROJ_LAYERS);
        sizes[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (n == 0) return MBT_FAIL(MBT_ERR_ARG, "projector '%s': no sizes", spec);
    cfg->n_proj_hidden = n - 1;
    for (int i = 0; i < n - 1; i++) cfg->proj_hidden[i] = sizes[i];
    cfg->feature_dim = sizes[n - 1];
    return MBT_OK;
}

/* ---- planning ---------------------------------------------------------------------------- */

/* A backbone activation of n values: bf16 or fp32 by the model's precision. */
static void plan_act(mbt_model *m, float **slot, size_t n) {
    mbt_plan_bytes(&m->acts, (void **)slot, n * (m->bf16 ? 2 : sizeof(float)));
}

static void plan_param(mbt_model *m, float **data, float **grad, size_t n) {
    mbt_param_store_plan(&m->ps, data, grad, n);
}

static void plan_unit(mbt_model *m, mbt_unit *u, int c_in, int h, int c_out, int kernel, int stride, int relu,
                      int own_output) {
    u->cs = (mbt_conv2d_shape){m->batch, c_in, h, h, c_out, kernel, stride, kernel / 2};
    int ho = mbt_conv2d_h_out(&u->cs);
    u->bs = (mbt_batchnorm_shape){m->batch, c_out, ho * ho, 1e-5f, 0.1f};
    u->relu = relu;
    u->out_numel = (size_t)m->batch * c_out * ho * ho;
    plan_param(m, &u->w, &u->dw, (size_t)c_out * c_in * kernel * kernel);
    plan_param(m, &u->gamma, &u->dgamma, (size_t)c_out);
    plan_param(m, &u->beta, &u->dbeta, (size_t)c_out);
    mbt_plan_floats(&m->ps.buffers, &u->rmean, (size_t)c_out);
    mbt_plan_floats(&m->ps.buffers, &u->rvar, (size_t)c_out);
    for (int s = 0; s < m->slots; s++) {
        plan_act(m, &u->t[s], u->out_numel);
        if (own_output) plan_act(m, &u->a[s], u->out_numel);
        mbt_plan_floats(&m->acts, &u->mean[s], (size_t)c_out);
        mbt_plan_floats(&m->acts, &u->var[s], (size_t)c_out);
    }
    if (u->out_numel > m->grad_numel) m->grad_numel = u->out_numel;
}

static void plan_model(mbt_model *m) {
    const mbt_model_config *c = &m->cfg;
    int h = c->image_size;
    int stem_k = c->stem == MBT_STEM_IMAGENET ? 7 : 3, stem_s = c->stem == MBT_STEM_IMAGENET ? 2 : 1;
    plan_unit(m, &m->stem, 3, h, 64, stem_k, stem_s, 1, 1);
    h = mbt_conv2d_h_out(&m->stem.cs);
    if (c->stem != MBT_STEM_CIFAR) {
        m->pool_shape = (mbt_pool_shape){m->batch, 64, h, h, 3, 2, 1};
        int ho = mbt_pool_h_out(&m->pool_shape);
        for (int s = 0; s < m->slots; s++) plan_act(m, &m->pooled[s], (size_t)m->batch * 64 * ho * ho);
        h = ho;
    }
    int bottleneck = c->arch == MBT_ARCH_RESNET50, expansion = bottleneck ? 4 : 1;
    const int *counts = bottleneck ? BLOCKS_R50 : BLOCKS_R18;
    int c_in = 64, b = 0;
    for (int layer = 0; layer < 4; layer++) {
        int width = 64 << layer;
        for (int i = 0; i < counts[layer]; i++, b++) {
            mbt_block *blk = &m->blocks[b];
            int stride = (i == 0 && layer > 0) ? 2 : 1, c_out = width * expansion;
            if (bottleneck) {
                blk->n_units = 3;
                plan_unit(m, &blk->unit[0], c_in, h, width, 1, 1, 1, 1);
                plan_unit(m, &blk->unit[1], width, h, width, 3, stride, 1, 1);
                plan_unit(m, &blk->unit[2], width, mbt_conv2d_h_out(&blk->unit[1].cs), c_out, 1, 1, 0, 0);
            } else {
                blk->n_units = 2;
                plan_unit(m, &blk->unit[0], c_in, h, width, 3, stride, 1, 1);
                plan_unit(m, &blk->unit[1], width, mbt_conv2d_h_out(&blk->unit[0].cs), c_out, 3, 1, 0, 0);
            }
            blk->has_down = stride != 1 || c_in != c_out;
            if (blk->has_down) plan_unit(m, &blk->down, c_in, h, c_out, 1, stride, 0, 0);
            h = mbt_conv2d_h_out(&blk->unit[blk->n_units - 1].cs);
            blk->out_numel = (size_t)m->batch * c_out * h * h;
            for (int s = 0; s < m->slots; s++) plan_act(m, &blk->y[s], blk->out_numel);
            c_in = c_out;
        }
    }
    m->final_hw = h * h;
    m->emb = c_in;
    plan_act(m, &m->shortcut, m->grad_numel);
    for (int s = 0; s < m->slots; s++) mbt_plan_floats(&m->acts, &m->feature[s], (size_t)m->batch * m->emb);

    int in = m->emb;
    m->n_proj = c->backbone_only ? 0 : c->n_proj_hidden + 1;
    m->proj_numel = (size_t)m->batch * m->emb;
    for (int j = 0; j < m->n_proj; j++) {
        mbt_proj_layer *p = &m->proj[j];
        int last = j == m->n_proj - 1;
        p->in = in;
        p->out = last ? c->feature_dim : c->proj_hidden[j];
        p->bias = last && c->proj_out_bias;
        p->bn = !last;
        plan_param(m, &p->w, &p->dw, (size_t)p->out * p->in);
        if (p->bias) plan_param(m, &p->b, &p->db, (size_t)p->out);
        if (p->bn) {
            plan_param(m, &p->gamma, &p->dgamma, (size_t)p->out);
            plan_param(m, &p->beta, &p->dbeta, (size_t)p->out);
            mbt_plan_floats(&m->ps.buffers, &p->rmean, (size_t)p->out);
            mbt_plan_floats(&m->ps.buffers, &p->rvar, (size_t)p->out);
        }
        for (int s = 0; s < m->slots; s++) {
            mbt_plan_floats(&m->acts, &p->y[s], (size_t)m->batch * p->out);
            if (p->bn) {
                mbt_plan_floats(&m->acts, &p->a[s], (size_t)m->batch * p->out);
                mbt_plan_floats(&m->acts, &p->mean[s], (size_t)p->out);
                mbt_plan_floats(&m->acts, &p->var[s], (size_t)p->out);
            }
        }
        if ((size_t)m->batch * p->out > m->proj_numel) m->proj_numel = (size_t)m->batch * p->out;
        in = p->out;
    }
    if (!c->backbone_only) /* else out[] stays NULL: the output is the features */
        for (int s = 0; s < m->slots; s++) mbt_plan_floats(&m->acts, &m->out[s], (size_t)m->batch * c->feature_dim);
    mbt_plan_floats(&m->acts, &m->eval_input, (size_t)m->batch * 3 * c->image_size * c->image_size);
    if (m->training) {
        plan_act(m, &m->grad_a, m->grad_numel);
        plan_act(m, &m->grad_b, m->grad_numel);
        plan_act(m, &m->grad_c, m->grad_numel);
        plan_act(m, &m->grad_d, m->grad_numel);
        mbt_plan_floats(&m->acts, &m->proj_ga, m->proj_numel);
        mbt_plan_floats(&m->acts, &m->proj_gb, m->proj_numel);
    }
}

/* ---- ops and workspaces -------------------------------------------------------------------- */

static mbt_status create_unit_ops(mbt_model *m, mbt_unit *u, int conv_flags) {
    int infer = m->training ? 0 : 1;
    MBT_TRY(mbt_conv2d_create(&u->conv, m->device, &u->cs,
                              conv_flags | (infer ? MBT_CONV_INFERENCE : 0) | (m->bf16 ? MBT_CONV_BF16 : 0)));
    MBT_TRY(mbt_batchnorm_create(&u->bn, m->device, &u->bs,
                                 (u->relu ? MBT_BN_FUSE_RELU : 0) | (infer ? MBT_BN_INFERENCE : 0) |
                                     (m->bf16 ? MBT_BN_BF16 : 0)));
    return MBT_OK;
}

static void plan_unit_workspace(mbt_model *m, mbt_unit *u) {
    size_t bytes = mbt_batchnorm_workspace_bytes(u->bn);
    if (bytes)
        for (int s = 0; s < m->slots; s++) mbt_plan_bytes(&m->acts, &u->ws[s], bytes);
}

static mbt_status create_ops(mbt_model *m) {
    MBT_TRY(create_unit_ops(m, &m->stem, MBT_CONV_INPUT_NCHW));
    plan_unit_workspace(m, &m->stem);
    if (m->cfg.stem != MBT_STEM_CIFAR) {
        MBT_TRY(mbt_maxpool_create(&m->pool, m->device, &m->pool_shape,
                                   MBT_POOL_TRAINING | (m->bf16 ? MBT_POOL_BF16 : 0)));
        for (int s = 0; s < m->slots; s++)
            mbt_plan_bytes(&m->acts, &m->pool_ws[s], mbt_maxpool_workspace_bytes(m->pool));
    }
    for (int b = 0; b < m->n_blocks; b++) {
        mbt_block *blk = &m->blocks[b];
        for (int i = 0; i < blk->n_units; i++) {
            MBT_TRY(create_unit_ops(m, &blk->unit[i], 0));
            plan_unit_workspace(m, &blk->unit[i]);
        }
        if (blk->has_down) MBT_TRY(create_unit_ops(m, &blk->down, 0));
    }
    for (int j = 0; j < m->n_proj; j++) {
        mbt_proj_layer *p = &m->proj[j];
        if (!p->bn) continue;
        mbt_batchnorm_shape bs = {m->batch, p->out, 1, 1e-5f, 0.1f};
        MBT_TRY(mbt_batchnorm_create(&p->bnop, m->device, &bs, MBT_BN_FUSE_RELU | (m->training ? 0 : MBT_BN_INFERENCE)));
        size_t bytes = mbt_batchnorm_workspace_bytes(p->bnop);
        if (bytes)
            for (int s = 0; s < m->slots; s++) mbt_plan_bytes(&m->acts, &p->ws[s], bytes);
    }
    return MBT_OK;
}

/* ---- state_dict entries -------------------------------------------------------------------- */

static void add_unit_entries(mbt_model *m, const char *conv_prefix, const char *bn_prefix, mbt_unit *u) {
    int64_t shape[4] = {u->cs.c_out, u->cs.c_in, u->cs.kernel, u->cs.kernel};
    mbt_param_store_add(&m->ps, conv_prefix, "weight", MBT_PARAM_WEIGHT, 4, shape, u->w, u->dw, NULL);
    mbt_param_store_add_bn(&m->ps, bn_prefix, u->cs.c_out, u->gamma, u->dgamma, u->beta, u->dbeta, u->rmean, u->rvar, &u->tracked);
}

static void register_entries(mbt_model *m) {
    int small = m->cfg.naming == MBT_NAMES_SMALL;
    const char *bb = small ? "f." : m->cfg.naming == MBT_NAMES_PREFIXED ? m->cfg.name_prefix : "backbone.";
    char a[96], b[96];
    if (small) {
        add_unit_entries(m, "f.0.", "f.1.", &m->stem);
    } else {
        snprintf(a, sizeof a, "%sconv1.", bb);
        snprintf(b, sizeof b, "%sbn1.", bb);
        add_unit_entries(m, a, b, &m->stem);
    }
    int first_layer = m->cfg.stem == MBT_STEM_CIFAR ? 3 : 4;
    int bottleneck = m->cfg.arch == MBT_ARCH_RESNET50;
    const int *counts = bottleneck ? BLOCKS_R50 : BLOCKS_R18;
    int blk_i = 0;
    for (int layer = 0; layer < 4; layer++)
        for (int i = 0; i < counts[layer]; i++, blk_i++) {
            mbt_block *blk = &m->blocks[blk_i];
            char block_prefix[64];
            if (small) snprintf(block_prefix, sizeof block_prefix, "f.%d.%d.", first_layer + layer, i);
            else snprintf(block_prefix, sizeof block_prefix, "%slayer%d.%d.", bb, layer + 1, i);
            for (int u = 0; u < blk->n_units; u++) {
                snprintf(a, sizeof a, "%sconv%d.", block_prefix, u + 1);
                snprintf(b, sizeof b, "%sbn%d.", block_prefix, u + 1);
                add_unit_entries(m, a, b, &blk->unit[u]);
            }
            if (blk->has_down) {
                snprintf(a, sizeof a, "%sdownsample.0.", block_prefix);
                snprintf(b, sizeof b, "%sdownsample.1.", block_prefix);
                add_unit_entries(m, a, b, &blk->down);
            }
        }
    const char *head = small ? "g." : "projector.";
    for (int j = 0; j < m->n_proj; j++) {
        mbt_proj_layer *p = &m->proj[j];
        int64_t wshape[2] = {p->out, p->in}, bshape[1] = {p->out};
        snprintf(a, sizeof a, "%s%d.", head, 3 * j);
        mbt_param_store_add(&m->ps, a, "weight", MBT_PARAM_WEIGHT, 2, wshape, p->w, p->dw, NULL);
        if (p->bias) mbt_param_store_add(&m->ps, a, "bias", MBT_PARAM_WEIGHT, 1, bshape, p->b, p->db, NULL);
        if (p->bn) {
            snprintf(b, sizeof b, "%s%d.", head, 3 * j + 1);
            mbt_param_store_add_bn(&m->ps, b, p->out, p->gamma, p->dgamma, p->beta, p->dbeta, p->rmean, p->rvar, &p->tracked);
        }
    }
}

float *mbt_model_host_ptr(const mbt_model *m, float *p) { return mbt_param_store_host_ptr(&m->ps, p); }

/* ---- public -------------------------------------------------------------------------------- */

const char *mbt_precision_name(mbt_precision precision) { return precision == MBT_PRECISION_BF16 ? "bf16" : "fp32"; }

mbt_status mbt_precision_parse(const char *name, mbt_precision *precision) {
    if (!strcmp(name, "fp32")) *precision = MBT_PRECISION_FP32;
    else if (!strcmp(name, "bf16")) *precision = MBT_PRECISION_BF16;
    else return MBT_FAIL(MBT_ERR_ARG, "unknown precision '%s' (expected fp32 or bf16)", name);
    return MBT_OK;
}

mbt_status mbt_model_create(mbt_model **out, const mbt_model_config *cfg, int batch, int slots, int training,
                            mbt_device device) {
    return mbt_model_create_precision(out, cfg, batch, slots, training, device, MBT_PRECISION_FP32);
}

mbt_status mbt_model_create_precision(mbt_model **out, const mbt_model_config *cfg, int batch, int slots,
                                      int training, mbt_device device, mbt_precision precision) {
    *out = NULL;
    if (precision != MBT_PRECISION_FP32 && precision != MBT_PRECISION_BF16)
        return MBT_FAIL(MBT_ERR_ARG, "model: unknown precision %d", (int)precision);
    if (precision == MBT_PRECISION_BF16 && device != MBT_DEVICE_CUDA)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "model: bf16 precision runs on the CUDA backend only (the %s computes in fp32)",
                        mbt_device_name(device));
    if (batch < 2 && training) return MBT_FAIL(MBT_ERR_ARG, "model: training needs a batch of at least 2 (got %d)", batch);
    if (batch < 1) return MBT_FAIL(MBT_ERR_ARG, "model: batch must be positive (got %d)", batch);
    if (slots < 1 || slots > MBT_MAX_SLOTS) return MBT_FAIL(MBT_ERR_ARG, "model: slots must be 1..%d", MBT_MAX_SLOTS);
    if (cfg->image_size < 16 || cfg->image_size > 1024)
        return MBT_FAIL(MBT_ERR_ARG, "model: image size %d out of range 16..1024", cfg->image_size);
    if (cfg->feature_dim < 1 && !cfg->backbone_only) return MBT_FAIL(MBT_ERR_ARG, "model: feature dimension must be positive");
    MBT_TRY(mbt_param_store_check_device(device, "model"));
    mbt_model *m = calloc(1, sizeof *m);
    if (!m) return MBT_FAIL(MBT_ERR_NOMEM, "model: out of memory");
    m->cfg = *cfg;
    m->device = device;
    m->batch = batch;
    m->training = training;
    m->bf16 = precision == MBT_PRECISION_BF16;
    m->slots = training ? slots : 1;
    const int *counts = cfg->arch == MBT_ARCH_RESNET50 ? BLOCKS_R50 : BLOCKS_R18;
    m->n_blocks = counts[0] + counts[1] + counts[2] + counts[3];
    m->blocks = calloc((size_t)m->n_blocks, sizeof *m->blocks);
    mbt_param_store_init(&m->ps, device, training, "model");
    mbt_plan_init(&m->acts, device);
    mbt_status st = m->blocks ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "model: out of memory");
    if (st == MBT_OK) {
        plan_model(m);
        st = create_ops(m);
    }
    if (st == MBT_OK) st = mbt_param_store_commit(&m->ps);
    if (st == MBT_OK) st = mbt_plan_commit(&m->acts);
    if (st == MBT_OK) {
        register_entries(m);
        st = m->ps.entry_error;
    }
    if (st != MBT_OK) {
        mbt_model_destroy(m);
        return st;
    }
    *out = m;
    return MBT_OK;
}

static void destroy_unit(mbt_unit *u) {
    mbt_conv2d_destroy(u->conv);
    mbt_batchnorm_destroy(u->bn);
}

void mbt_model_destroy(mbt_model *m) {
    if (!m) return;
    destroy_unit(&m->stem);
    mbt_maxpool_destroy(m->pool);
    for (int b = 0; m->blocks && b < m->n_blocks; b++) {
        for (int i = 0; i < m->blocks[b].n_units; i++) destroy_unit(&m->blocks[b].unit[i]);
        if (m->blocks[b].has_down) destroy_unit(&m->blocks[b].down);
    }
    for (int j = 0; j < m->n_proj; j++) mbt_batchnorm_destroy(m->proj[j].bnop);
    mbt_param_store_free(&m->ps);
    mbt_plan_free(&m->acts);
    free(m->blocks);
    free(m);
}

const mbt_model_config *mbt_model_get_config(const mbt_model *m) { return &m->cfg; }
int mbt_model_batch(const mbt_model *m) { return m->batch; }
mbt_device mbt_model_device(const mbt_model *m) { return m->device; }
mbt_precision mbt_model_precision(const mbt_model *m) { return m->bf16 ? MBT_PRECISION_BF16 : MBT_PRECISION_FP32; }
size_t mbt_model_param_count(const mbt_model *m) { return m->ps.n_entries; }
mbt_param *mbt_model_param(mbt_model *m, size_t i) { return i < m->ps.n_entries ? &m->ps.entries[i] : NULL; }
mbt_param *mbt_model_find_param(mbt_model *m, const char *name) { return mbt_param_store_find(&m->ps, name); }
float *mbt_model_flat_params(mbt_model *m) { return (float *)m->ps.params.block; }
float *mbt_model_flat_grads(mbt_model *m) { return (float *)m->ps.grads.block; }
size_t mbt_model_flat_size(const mbt_model *m) { return mbt_plan_float_count(&m->ps.params); }
size_t mbt_model_activation_bytes(const mbt_model *m) { return m->acts.total_bytes; }

static double unit_macs(const mbt_unit *u) {
    const mbt_conv2d_shape *s = &u->cs;
    return (double)s->c_out * s->c_in * s->kernel * s->kernel * mbt_conv2d_h_out(s) * mbt_conv2d_w_out(s);
}

double mbt_model_forward_flops(const mbt_model *m) {
    double macs = unit_macs(&m->stem);
    for (int b = 0; b < m->n_blocks; b++) {
        for (int i = 0; i < m->blocks[b].n_units; i++) macs += unit_macs(&m->blocks[b].unit[i]);
        if (m->blocks[b].has_down) macs += unit_macs(&m->blocks[b].down);
    }
    for (int j = 0; j < m->n_proj; j++) macs += (double)m->proj[j].in * m->proj[j].out;
    return 2.0 * macs;
}
