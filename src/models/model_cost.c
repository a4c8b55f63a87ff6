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
