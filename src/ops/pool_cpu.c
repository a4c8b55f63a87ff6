/* Pooling on the CPU backend: oneDNN max pooling; global average pooling over the blocked layout. */
#include <stdlib.h>

#include "ops/onednn_context.h"
#include "ops/backend_cpu.h"

struct mbt_maxpool_cpu {
    mbt_pool_shape s;
    mbt_dnnl_prim fwd, bwd;
    dnnl_memory_t src, dst, diff_src, diff_dst, ws;
    size_t ws_bytes;
};

static const char *WHAT = "maxpool";

mbt_status mbt_maxpool_cpu_create(mbt_maxpool_cpu **out, const mbt_pool_shape *s, int training) {
    *out = NULL;
    if (s->c % mbt_cpu_channel_block() || mbt_pool_h_out(s) < 1 || mbt_pool_w_out(s) < 1 || s->pad >= s->kernel)
        return MBT_FAIL(MBT_ERR_SHAPE, "maxpool: unsupported shape c=%d %dx%d kernel=%d stride=%d pad=%d", s->c, s->h,
                        s->w, s->kernel, s->stride, s->pad);
    mbt_maxpool_cpu *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "maxpool: out of memory");
    op->s = *s;
    dnnl_engine_t eng;
    mbt_status st = mbt_cpu_backend_get(&eng, NULL);
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_dims_t sd = {s->n, s->c, s->h, s->w}, dd = {s->n, s->c, mbt_pool_h_out(s), mbt_pool_w_out(s)};
    dnnl_dims_t k = {s->kernel, s->kernel}, str = {s->stride, s->stride}, pad = {s->pad, s->pad};
    dnnl_format_tag_t tag = mbt_cpu_activation_tag();
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    dnnl_pooling_desc_t fd, bd;
    dnnl_status_t ds = dnnl_success;
    if (st == MBT_OK) st = mbt_dnnl_attr(&attr, 0);
    if (st == MBT_OK) {
        ds = dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dnnl_f32, tag);
        if (ds == dnnl_success) ds = dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32, tag);
        if (ds == dnnl_success)
            ds = dnnl_pooling_forward_desc_init(&fd, training ? dnnl_forward_training : dnnl_forward_inference,
                                                dnnl_pooling_max, &src_md, &dst_md, str, k, pad, pad);
        if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL);
        if (ds == dnnl_success && training) ds = dnnl_pooling_backward_desc_init(&bd, dnnl_pooling_max, &src_md,
                                                                               &dst_md, str, k, pad, pad);
        if (ds == dnnl_success && training) ds = dnnl_primitive_desc_create(&bpd, &bd, attr, eng, fpd);
        if (ds != dnnl_success)
            st = MBT_FAIL(MBT_ERR_BACKEND, "maxpool: oneDNN pooling unavailable (%s)", mbt_dnnl_status_name(ds));
    }
    if (st == MBT_OK) st = mbt_dnnl_prim_create(&op->fwd, WHAT, fpd);
    if (st == MBT_OK) st = mbt_dnnl_memory(&op->src, WHAT, &src_md, 0);
    if (st == MBT_OK) st = mbt_dnnl_memory(&op->dst, WHAT, &dst_md, 0);
    if (st == MBT_OK && training) {
        const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        op->ws_bytes = dnnl_memory_desc_get_size(wmd);
        st = mbt_dnnl_memory(&op->ws, WHAT, wmd, 0);
        if (st == MBT_OK) st = mbt_dnnl_prim_create(&op->bwd, WHAT, bpd);
        if (st == MBT_OK) st = mbt_dnnl_memory(&op->diff_src, WHAT, &src_md, 0);
        if (st == MBT_OK) st = mbt_dnnl_memory(&op->diff_dst, WHAT, &dst_md, 0);
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st != MBT_OK) {
        mbt_maxpool_cpu_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_maxpool_cpu_destroy(mbt_maxpool_cpu *op) {
    if (!op) return;
    mbt_dnnl_prim_destroy(&op->fwd);
    mbt_dnnl_prim_destroy(&op->bwd);
    dnnl_memory_t mems[] = {op->src, op->dst, op->diff_src, op->diff_dst, op->ws};
    for (unsigned i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(op);
}

size_t mbt_maxpool_cpu_workspace_bytes(const mbt_maxpool_cpu *op) { return op->ws_bytes; }

mbt_status mbt_maxpool_cpu_forward(mbt_maxpool_cpu *op, const float *x, float *y, void *workspace) {
    MBT_TRY(mbt_dnnl_bind(op->src, x));
    MBT_TRY(mbt_dnnl_bind(op->dst, y));
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, op->src}, {DNNL_ARG_DST, op->dst}, {DNNL_ARG_WORKSPACE, op->ws}};
    if (op->ws) MBT_TRY(mbt_dnnl_bind(op->ws, workspace));
    return mbt_dnnl_prim_exec(&op->fwd, WHAT, op->ws ? 3 : 2, a);
}

mbt_status mbt_maxpool_cpu_backward(mbt_maxpool_cpu *op, const void *workspace, const float *dy, float *dx) {
    if (!op->bwd.prim) return MBT_FAIL(MBT_ERR_ARG, "maxpool: backward on an inference op");
    MBT_TRY(mbt_dnnl_bind(op->diff_dst, dy));
    MBT_TRY(mbt_dnnl_bind(op->diff_src, dx));
    MBT_TRY(mbt_dnnl_bind(op->ws, workspace));
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, op->diff_dst}, {DNNL_ARG_DIFF_SRC, op->diff_src},
                            {DNNL_ARG_WORKSPACE, op->ws}};
    return mbt_dnnl_prim_exec(&op->bwd, WHAT, 3, a);
}

/* Native layout [n][c/b][hw][b]: channel c of image i at ((i*(C/b) + c/b)*hw + p)*b + c%b. */
mbt_status mbt_avgpool_forward_cpu(int n, int c, int hw, const float *x, float *y) {
    int b = mbt_cpu_channel_block();
    if (c % b) return MBT_FAIL(MBT_ERR_SHAPE, "avgpool: %d channels is not a multiple of %d", c, b);
    float inv = 1.0f / (float)hw;
#pragma omp parallel for collapse(2)
    for (int i = 0; i < n; i++)
        for (int cb = 0; cb < c / b; cb++) {
            const float *src = x + ((size_t)i * (c / b) + cb) * hw * b;
            float *dst = y + (size_t)i * c + cb * b;
            for (int k = 0; k < b; k++) dst[k] = 0;
            for (int p = 0; p < hw; p++)
                for (int k = 0; k < b; k++) dst[k] += src[p * b + k];
            for (int k = 0; k < b; k++) dst[k] *= inv;
        }
    return MBT_OK;
}

mbt_status mbt_avgpool_backward_cpu(int n, int c, int hw, const float *dy, float *dx) {
    int b = mbt_cpu_channel_block();
    if (c % b) return MBT_FAIL(MBT_ERR_SHAPE, "avgpool: %d channels is not a multiple of %d", c, b);
    float inv = 1.0f / (float)hw;
#pragma omp parallel for collapse(2)
    for (int i = 0; i < n; i++)
        for (int cb = 0; cb < c / b; cb++) {
            float *dst = dx + ((size_t)i * (c / b) + cb) * hw * b;
            const float *src = dy + (size_t)i * c + cb * b;
            for (int p = 0; p < hw; p++)
                for (int k = 0; k < b; k++) dst[p * b + k] = src[k] * inv;
        }
    return MBT_OK;
}
