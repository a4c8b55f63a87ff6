/* Batch normalisation on the CPU backend: oneDNN batch normalization with separate scale and shift. */
#include <stdlib.h>
#include <string.h>

#include "ops/batchnorm.h"
#include "ops/cpu_backend.h"

struct mbt_batchnorm {
    mbt_batchnorm_shape s;
    int flags;
    mbt_dnnl_prim fwd_train, fwd_eval, bwd;
    dnnl_memory_t src, dst, diff_src, diff_dst, mean, var, scale, shift, diff_scale, diff_shift, ws;
    size_t ws_bytes;
    float *dscale_tmp, *dshift_tmp; /* oneDNN overwrites its parameter gradients; we accumulate */
};

static const char *WHAT = "batchnorm";

static mbt_status create_prims(mbt_batchnorm *op) {
    const mbt_batchnorm_shape *s = &op->s;
    dnnl_engine_t eng;
    MBT_TRY(mbt_cpu_backend_get(&eng, NULL));
    dnnl_memory_desc_t data_md, c_md;
    dnnl_dims_t c_dims = {s->c};
    MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&c_md, 1, c_dims, dnnl_f32, dnnl_a));
    if (s->hw == 1) {
        dnnl_dims_t d = {s->n, s->c};
        MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&data_md, 2, d, dnnl_f32, dnnl_nc));
    } else {
        /* [n, c/b, hw, 1, b] is the native layout of any h x w with h*w = hw */
        dnnl_dims_t d = {s->n, s->c, s->hw, 1};
        MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&data_md, 4, d, dnnl_f32, mbt_cpu_activation_tag()));
    }
    unsigned relu = (op->flags & MBT_BN_FUSE_RELU) ? dnnl_fuse_norm_relu : 0;
    unsigned ss = dnnl_use_scale | dnnl_use_shift;
    dnnl_primitive_attr_t attr;
    MBT_TRY(mbt_dnnl_attr(&attr, 0));
    dnnl_batch_normalization_desc_t ed, td, bd;
    dnnl_primitive_desc_t epd = NULL, tpd = NULL, bpd = NULL;
    mbt_status st = MBT_OK;
    dnnl_status_t ds = dnnl_batch_normalization_forward_desc_init(&ed, dnnl_forward_inference, &data_md, s->eps,
                                                                  ss | relu | dnnl_use_global_stats);
    if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&epd, &ed, attr, eng, NULL);
    if (ds != dnnl_success || (st = mbt_dnnl_prim_create(&op->fwd_eval, WHAT, epd))) goto fail;
    if ((st = mbt_dnnl_memory(&op->src, WHAT, &data_md, 0)) || (st = mbt_dnnl_memory(&op->dst, WHAT, &data_md, 0)) ||
        (st = mbt_dnnl_memory(&op->mean, WHAT, &c_md, 0)) || (st = mbt_dnnl_memory(&op->var, WHAT, &c_md, 0)) ||
        (st = mbt_dnnl_memory(&op->scale, WHAT, &c_md, 0)) || (st = mbt_dnnl_memory(&op->shift, WHAT, &c_md, 0)))
        goto fail;
    if (!(op->flags & MBT_BN_INFERENCE)) {
        ds = dnnl_batch_normalization_forward_desc_init(&td, dnnl_forward_training, &data_md, s->eps, ss | relu);
        if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&tpd, &td, attr, eng, NULL);
        if (ds != dnnl_success || (st = mbt_dnnl_prim_create(&op->fwd_train, WHAT, tpd))) goto fail;
        ds = dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &data_md, &data_md, s->eps, ss | relu);
        if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&bpd, &bd, attr, eng, tpd);
        if (ds != dnnl_success || (st = mbt_dnnl_prim_create(&op->bwd, WHAT, bpd))) goto fail;
        if ((st = mbt_dnnl_memory(&op->diff_src, WHAT, &data_md, 0)) ||
            (st = mbt_dnnl_memory(&op->diff_dst, WHAT, &data_md, 0)) ||
            (st = mbt_dnnl_memory(&op->diff_scale, WHAT, &c_md, 0)) ||
            (st = mbt_dnnl_memory(&op->diff_shift, WHAT, &c_md, 0)))
            goto fail;
        if (relu) {
            const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(tpd, dnnl_query_workspace_md, 0);
            op->ws_bytes = dnnl_memory_desc_get_size(wmd);
            if ((st = mbt_dnnl_memory(&op->ws, WHAT, wmd, 0))) goto fail;
        }
        op->dscale_tmp = calloc((size_t)s->c * 2, sizeof(float));
        if (!op->dscale_tmp) {
            st = MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory");
            goto fail;
        }
        op->dshift_tmp = op->dscale_tmp + s->c;
    }
    goto done;
fail:
    if (st == MBT_OK)
        st = MBT_FAIL(MBT_ERR_BACKEND, "batchnorm: oneDNN batch normalization unavailable for n=%d c=%d hw=%d (%s)",
                      s->n, s->c, s->hw, mbt_dnnl_status_name(ds));
done:
    if (epd) dnnl_primitive_desc_destroy(epd);
    if (tpd) dnnl_primitive_desc_destroy(tpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

mbt_status mbt_batchnorm_create(mbt_batchnorm **out, mbt_device device, const mbt_batchnorm_shape *shape, int flags) {
    *out = NULL;
    if (device != MBT_DEVICE_CPU)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "batchnorm: device %s is not built in", mbt_device_name(device));
    if (shape->n < 2 && !(flags & MBT_BN_INFERENCE))
        return MBT_FAIL(MBT_ERR_SHAPE, "batchnorm: training needs more than one value per channel (n=%d)", shape->n);
    if (shape->c < 1 || shape->hw < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "batchnorm: invalid shape c=%d hw=%d", shape->c, shape->hw);
    if (shape->hw > 1 && shape->c % mbt_cpu_channel_block())
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "batchnorm: %d channels is not a multiple of %d on the CPU backend",
                        shape->c, mbt_cpu_channel_block());
    mbt_batchnorm *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory");
    op->s = *shape;
    op->flags = flags;
    mbt_status st = create_prims(op);
    if (st != MBT_OK) {
        mbt_batchnorm_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_batchnorm_destroy(mbt_batchnorm *op) {
    if (!op) return;
    mbt_dnnl_prim_destroy(&op->fwd_train);
    mbt_dnnl_prim_destroy(&op->fwd_eval);
    mbt_dnnl_prim_destroy(&op->bwd);
    dnnl_memory_t mems[] = {op->src, op->dst, op->diff_src, op->diff_dst, op->mean, op->var,
                            op->scale, op->shift, op->diff_scale, op->diff_shift, op->ws};
    for (unsigned i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(op->dscale_tmp);
    free(op);
}

size_t mbt_batchnorm_workspace_bytes(const mbt_batchnorm *op) { return op->ws_bytes; }

mbt_status mbt_batchnorm_forward_train(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                       float *y, float *save_mean, float *save_var, void *workspace,
                                       float *running_mean, float *running_var) {
    if (!op->fwd_train.prim) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: training forward on an inference op");
    MBT_TRY(mbt_dnnl_bind(op->src, x));
    MBT_TRY(mbt_dnnl_bind(op->dst, y));
    MBT_TRY(mbt_dnnl_bind(op->mean, save_mean));
    MBT_TRY(mbt_dnnl_bind(op->var, save_var));
    MBT_TRY(mbt_dnnl_bind(op->scale, gamma));
    MBT_TRY(mbt_dnnl_bind(op->shift, beta));
    dnnl_exec_arg_t a[7] = {{DNNL_ARG_SRC, op->src},   {DNNL_ARG_DST, op->dst},     {DNNL_ARG_MEAN, op->mean},
                            {DNNL_ARG_VARIANCE, op->var}, {DNNL_ARG_SCALE, op->scale}, {DNNL_ARG_SHIFT, op->shift},
                            {DNNL_ARG_WORKSPACE, op->ws}};
    int nargs = 6;
    if (op->ws) {
        MBT_TRY(mbt_dnnl_bind(op->ws, workspace));
        nargs = 7;
    }
    MBT_TRY(mbt_dnnl_prim_exec(&op->fwd_train, WHAT, nargs, a));
    if (running_mean && running_var) {
        double count = (double)op->s.n * op->s.hw;
        float m = op->s.momentum, unbias = (float)(count / (count - 1.0));
        for (int c = 0; c < op->s.c; c++) {
            running_mean[c] = (1 - m) * running_mean[c] + m * save_mean[c];
            running_var[c] = (1 - m) * running_var[c] + m * save_var[c] * unbias;
        }
    }
    return MBT_OK;
}

mbt_status mbt_batchnorm_forward_eval(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var, float *y) {
    MBT_TRY(mbt_dnnl_bind(op->src, x));
    MBT_TRY(mbt_dnnl_bind(op->dst, y));
    MBT_TRY(mbt_dnnl_bind(op->mean, running_mean));
    MBT_TRY(mbt_dnnl_bind(op->var, running_var));
    MBT_TRY(mbt_dnnl_bind(op->scale, gamma));
    MBT_TRY(mbt_dnnl_bind(op->shift, beta));
    dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, op->src},   {DNNL_ARG_DST, op->dst},     {DNNL_ARG_MEAN, op->mean},
                            {DNNL_ARG_VARIANCE, op->var}, {DNNL_ARG_SCALE, op->scale}, {DNNL_ARG_SHIFT, op->shift}};
    return mbt_dnnl_prim_exec(&op->fwd_eval, WHAT, 6, a);
}

mbt_status mbt_batchnorm_backward(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                  const float *save_mean,
                                  const float *save_var, const void *workspace, const float *dy, float *dx,
                                  float *dgamma, float *dbeta) {
    if (!op->bwd.prim) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: backward on an inference op");
    MBT_TRY(mbt_dnnl_bind(op->src, x));
    MBT_TRY(mbt_dnnl_bind(op->mean, save_mean));
    MBT_TRY(mbt_dnnl_bind(op->var, save_var));
    MBT_TRY(mbt_dnnl_bind(op->scale, gamma));
    MBT_TRY(mbt_dnnl_bind(op->diff_dst, dy));
    MBT_TRY(mbt_dnnl_bind(op->diff_src, dx));
    MBT_TRY(mbt_dnnl_bind(op->diff_scale, op->dscale_tmp));
    MBT_TRY(mbt_dnnl_bind(op->diff_shift, op->dshift_tmp));
    MBT_TRY(mbt_dnnl_bind(op->shift, beta)); /* oneDNN's plain-layout fused-ReLU backward reads it */
    dnnl_exec_arg_t a[10] = {{DNNL_ARG_SHIFT, op->shift}, {DNNL_ARG_SRC, op->src},           {DNNL_ARG_MEAN, op->mean},
                            {DNNL_ARG_VARIANCE, op->var},      {DNNL_ARG_SCALE, op->scale},
                            {DNNL_ARG_DIFF_DST, op->diff_dst}, {DNNL_ARG_DIFF_SRC, op->diff_src},
                            {DNNL_ARG_DIFF_SCALE, op->diff_scale}, {DNNL_ARG_DIFF_SHIFT, op->diff_shift},
                            {DNNL_ARG_WORKSPACE, op->ws}};
    int nargs = 9;
    if (op->ws) {
        MBT_TRY(mbt_dnnl_bind(op->ws, workspace));
        nargs = 10;
    }
    MBT_TRY(mbt_dnnl_prim_exec(&op->bwd, WHAT, nargs, a));
    for (int c = 0; c < op->s.c; c++) {
        dgamma[c] += op->dscale_tmp[c];
        dbeta[c] += op->dshift_tmp[c];
    }
    return MBT_OK;
}
