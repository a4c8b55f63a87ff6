/* Parameters and multiply-adds per part of a model, from its planned layer shapes. */
#include "models/model_cost.h"

#include "models/model_internal.h"

/* A convolution (no bias in a ResNet) and its batch norm. */
static void add_unit(mbt_cost_part *part, const mbt_unit *u) {
    const mbt_conv2d_shape *s = &u->cs;
    double kernel = (double)s->c_in * s->kernel * s->kernel;
    part->macs += kernel * s->c_out * mbt_conv2d_h_out(s) * mbt_conv2d_w_out(s);
    part->params += kernel * s->c_out + 2.0 * s->c_out;
}

mbt_status mbt_model_cost_of(const mbt_model_config *cfg, mbt_model_cost *cost) {
    mbt_model *m;
    MBT_TRY(mbt_model_shapes_create(cfg, &m));
    *cost = (mbt_model_cost){{0, 0}, {0, 0}};
    add_unit(&cost->backbone, &m->stem);
    for (int b = 0; b < m->n_blocks; b++) {
        for (int i = 0; i < m->blocks[b].n_units; i++) add_unit(&cost->backbone, &m->blocks[b].unit[i]);
        if (m->blocks[b].has_down) add_unit(&cost->backbone, &m->blocks[b].down);
    }
    for (int j = 0; j < m->n_proj; j++) {
        const mbt_proj_layer *p = &m->proj[j];
        cost->projector.macs += (double)p->in * p->out;
        cost->projector.params += (double)p->in * p->out + (p->bias ? p->out : 0) + (p->bn ? 2.0 * p->out : 0);
    }
    mbt_model_destroy(m);
    return MBT_OK;
}

mbt_status mbt_head_cost_of(const mbt_head_config *cfg, mbt_cost_part *cost) {
    if (cfg->n_hidden < 0 || cfg->n_hidden > MBT_HEAD_MAX_HIDDEN)
        return MBT_FAIL(MBT_ERR_ARG, "head: %d hidden layers (expected 0 to %d)", cfg->n_hidden, MBT_HEAD_MAX_HIDDEN);
    *cost = (mbt_cost_part){0, 0};
    int in = cfg->in_dim;
    for (int j = 0; j <= cfg->n_hidden; j++) {
        int last = j == cfg->n_hidden, out = last ? cfg->out_dim : cfg->hidden[j];
        cost->macs += (double)in * out;
        cost->params += (double)in * out + out + ((last ? cfg->out_bn : cfg->hidden_bn) ? 2.0 * out : 0);
        in = out;
    }
    return MBT_OK;
}
