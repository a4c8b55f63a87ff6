/* conv2d on the CPU backend in the native blocked layout: per direction, oneDNN's direct convolution,
 * im2col + sgemm (conv2d_gemm_cpu.c) or Winograd F(2x2, 3x3) (conv2d_wino_cpu.c), chosen by a rule
 * measured per layer shape. */
#include <stdlib.h>
#include <string.h>

#include "ops/backend_cpu.h"
#include "ops/conv2d_impl_cpu.h"
#include "ops/onednn_context.h"

struct mbt_conv2d_cpu {
    mbt_conv2d_shape s;
    int flags;
    mbt_conv_choice use;    /* implementation of each direction */
    mbt_conv2d_gemm *gemm;  /* when a direction uses it */
    mbt_conv2d_wino *wino[2]; /* F(2x2), F(4x4) */
    mbt_dnnl_prim fwd, bwd_data, bwd_weights;
    mbt_dnnl_prim w_to_fwd, w_to_bwd, dw_to_user; /* reorders of weights and their gradient */
    dnnl_memory_t src, dst, diff_src, diff_dst;   /* bound to caller buffers at each call */
    dnnl_memory_t w_user, dw_user;                /* OIHW, bound to caller buffers */
    dnnl_memory_t w_fwd, w_bwd, dw_native;        /* owned, in the primitives' layouts */
};

static const char *WHAT = "conv2d";

static mbt_status check_shape(const mbt_conv2d_shape *s, int flags) {
    if (s->n < 1 || s->c_in < 1 || s->c_out < 1 || s->kernel < 1 || s->stride < 1 || s->pad < 0 ||
        mbt_conv2d_h_out(s) < 1 || mbt_conv2d_w_out(s) < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "conv2d: invalid shape n=%d c_in=%d %dx%d c_out=%d kernel=%d stride=%d pad=%d",
                        s->n, s->c_in, s->h, s->w, s->c_out, s->kernel, s->stride, s->pad);
    int block = mbt_cpu_channel_block();
    if (s->c_out % block || (!(flags & MBT_CONV_INPUT_NCHW) && s->c_in % block))
        return MBT_FAIL(MBT_ERR_UNSUPPORTED,
                        "conv2d: channels %d -> %d must be multiples of %d on the CPU backend (NCHW input excepted)",
                        s->c_in, s->c_out, block);
    return MBT_OK;
}

static mbt_status create_prims(mbt_conv2d_cpu *op) {
    const mbt_conv2d_shape *s = &op->s;
    dnnl_engine_t eng;
    MBT_TRY(mbt_cpu_backend_get(&eng, NULL));
    dnnl_dims_t src_dims = {s->n, s->c_in, s->h, s->w};
    dnnl_dims_t w_dims = {s->c_out, s->c_in, s->kernel, s->kernel};
    dnnl_dims_t dst_dims = {s->n, s->c_out, mbt_conv2d_h_out(s), mbt_conv2d_w_out(s)};
    dnnl_dims_t strides = {s->stride, s->stride}, pad = {s->pad, s->pad};
    dnnl_memory_desc_t src_md, dst_md, w_any, w_user_md;
    dnnl_format_tag_t act = mbt_cpu_activation_tag();
    MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32,
                                                (op->flags & MBT_CONV_INPUT_NCHW) ? dnnl_nchw : act));
    MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, act));
    MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any));
    MBT_DNNL(WHAT, dnnl_memory_desc_init_by_tag(&w_user_md, 4, w_dims, dnnl_f32, dnnl_oihw));

    int training = !(op->flags & MBT_CONV_INFERENCE);
    dnnl_primitive_attr_t attr;
    MBT_TRY(mbt_dnnl_attr(&attr, 0));
    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    mbt_status st = MBT_OK;
    dnnl_status_t ds = dnnl_convolution_forward_desc_init(
        &fd, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_convolution_direct, &src_md, &w_any,
        NULL, &dst_md, strides, pad, pad);
    if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL);
    if (ds != dnnl_success) {
        st = MBT_FAIL(MBT_ERR_BACKEND, "conv2d: oneDNN forward convolution unavailable (%s)", mbt_dnnl_status_name(ds));
        goto done;
    }
    const dnnl_memory_desc_t *wf = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    if ((st = mbt_dnnl_memory(&op->w_user, WHAT, &w_user_md, 0)) ||
        (st = mbt_dnnl_memory(&op->src, WHAT, &src_md, 0)))
        goto done;
    if (op->use.fwd == MBT_CONV_IMPL_ONEDNN &&
        ((st = mbt_dnnl_prim_create(&op->fwd, WHAT, fpd)) ||
         (st = mbt_dnnl_memory(&op->w_fwd, WHAT, wf, 1)) ||
         (st = mbt_dnnl_memory(&op->dst, WHAT, &dst_md, 0)) ||
         (st = mbt_dnnl_reorder_create(&op->w_to_fwd, WHAT, &w_user_md, wf, 0))))
        goto done;
    if (!training) goto done;
    if ((st = mbt_dnnl_memory(&op->diff_dst, WHAT, &dst_md, 0))) goto done;

    if (!(op->flags & MBT_CONV_INPUT_NCHW) && op->use.bwd_data == MBT_CONV_IMPL_ONEDNN) {
        ds = dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &src_md, &w_any, &dst_md,
                                                      strides, pad, pad);
        if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&bdpd, &bdd, attr, eng, fpd);
        if (ds != dnnl_success) {
            st = MBT_FAIL(MBT_ERR_BACKEND, "conv2d: oneDNN backward-data convolution unavailable (%s)",
                          mbt_dnnl_status_name(ds));
            goto done;
        }
        const dnnl_memory_desc_t *wb = dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0);
        if ((st = mbt_dnnl_prim_create(&op->bwd_data, WHAT, bdpd)) ||
            (st = mbt_dnnl_memory(&op->w_bwd, WHAT, wb, 1)) ||
            (st = mbt_dnnl_memory(&op->diff_src, WHAT, &src_md, 0)) ||
            (st = mbt_dnnl_reorder_create(&op->w_to_bwd, WHAT, &w_user_md, wb, 0)))
            goto done;
    }
    if (op->use.bwd_weights != MBT_CONV_IMPL_ONEDNN) goto done;
    ds = dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src_md, &w_any, NULL, &dst_md,
                                                     strides, pad, pad);
    if (ds == dnnl_success) ds = dnnl_primitive_desc_create(&bwpd, &bwd, attr, eng, fpd);
    if (ds != dnnl_success) {
        st = MBT_FAIL(MBT_ERR_BACKEND, "conv2d: oneDNN backward-weights convolution unavailable (%s)",
                      mbt_dnnl_status_name(ds));
        goto done;
    }
    const dnnl_memory_desc_t *dwn = dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0);
    if ((st = mbt_dnnl_prim_create(&op->bwd_weights, WHAT, bwpd)) ||
        (st = mbt_dnnl_memory(&op->dw_native, WHAT, dwn, 1)) ||
        (st = mbt_dnnl_memory(&op->dw_user, WHAT, &w_user_md, 0)) ||
        (st = mbt_dnnl_reorder_create(&op->dw_to_user, WHAT, dwn, &w_user_md, 1)))
        goto done;
done:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* The rule, from bench/bench_conv_impls (CPU time of each direction of each ResNet-18 layer at 32 px,
 * batch 64, one thread, AVX2, oneDNN 2.6 jit:avx2 against the other paths, ms, loaded machine):
 *   backward of 3x3 stride 1 (64..512 channels, 32x32..4x4): Winograd F(4x4) in both directions,
 *     1.1-5x faster than oneDNN (512 ch at 4x4: data 24 vs 125, weights 47 vs 165; 256 ch at 8x8:
 *     31 vs 64, 53 vs 96; 64 ch at 32x32: about even for data, weights 67 vs 75);
 *   backward of other kernels with at most 16 output pixels (the 3x3/2 into 4x4, 256 -> 512):
 *     gemm (data 47 vs 93, weights 48 vs 115);
 *   everything else, and every forward: oneDNN. Winograd would also win the forward (4x4: 24 vs 91,
 *     8x8: 31 vs 63), but test_step_parity fails with any forward other than oneDNN's, including
 *     PyTorch's own float32 (its three-step Adam comparison decides the sign of near-zero updates);
 *     see mbt_conv2d_cpu_rule_fwd_winograd below. */
static int fwd_winograd = 0;

/* The rule applies unless MIXBT_CONV=onednn is in the environment (every direction on oneDNN's direct
 * kernels, for comparison). Winograd and sgemm round differently from oneDNN, and with the number of
 * images in a batch; the rule keeps every forward on oneDNN, so features, evaluation and the forward
 * of training are oneDNN's, and only gradients take the faster paths (test_step_parity, test_eval_knn
 * and the resume test pass with it). */
static int fast_convolutions(void) {
    const char *v = getenv("MIXBT_CONV");
    return !(v && !strcmp(v, "onednn"));
}

mbt_conv_choice mbt_conv2d_cpu_rule(const mbt_conv2d_shape *s, int flags) {
    mbt_conv_choice c = {MBT_CONV_IMPL_ONEDNN, MBT_CONV_IMPL_ONEDNN, MBT_CONV_IMPL_ONEDNN};
    if ((flags & MBT_CONV_INPUT_NCHW) || !fast_convolutions()) return c;
    if (mbt_conv2d_wino_applies(s)) {
        c.bwd_data = c.bwd_weights = MBT_CONV_IMPL_WINOGRAD4;
        if (fwd_winograd) c.fwd = MBT_CONV_IMPL_WINOGRAD4;
    } else if (s->kernel > 1 && mbt_conv2d_h_out(s) * mbt_conv2d_w_out(s) <= 16) {
        c.bwd_data = c.bwd_weights = MBT_CONV_IMPL_GEMM;
        if (fwd_winograd) c.fwd = MBT_CONV_IMPL_GEMM;
    }
    return c;
}

void mbt_conv2d_cpu_rule_fwd_winograd(int on) { fwd_winograd = on; }

static mbt_conv_choice override;
static int overridden;

void mbt_conv2d_cpu_override(const mbt_conv_choice *c) {
    overridden = c != NULL;
    if (c) override = *c;
}

mbt_status mbt_conv2d_cpu_create(mbt_conv2d_cpu **out, const mbt_conv2d_shape *shape, int flags) {
    return mbt_conv2d_cpu_create_with(out, shape, flags, overridden ? override : mbt_conv2d_cpu_rule(shape, flags));
}

/* impl for a direction of shape s, or oneDNN where impl does not apply. */
static mbt_conv_impl applicable(mbt_conv_impl impl, const mbt_conv2d_shape *s, int flags) {
    if (flags & MBT_CONV_INPUT_NCHW) return MBT_CONV_IMPL_ONEDNN;
    if ((impl == MBT_CONV_IMPL_WINOGRAD || impl == MBT_CONV_IMPL_WINOGRAD4) && !mbt_conv2d_wino_applies(s))
        return MBT_CONV_IMPL_ONEDNN;
    if (impl == MBT_CONV_IMPL_GEMM && s->pad >= s->kernel) return MBT_CONV_IMPL_ONEDNN;
    return impl;
}

mbt_status mbt_conv2d_cpu_create_with(mbt_conv2d_cpu **out, const mbt_conv2d_shape *shape, int flags,
                                      mbt_conv_choice c) {
    *out = NULL;
    MBT_TRY(check_shape(shape, flags));
    mbt_conv2d_cpu *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "conv2d: out of memory");
    op->s = *shape;
    op->flags = flags;
    op->use.fwd = applicable(c.fwd, shape, flags);
    op->use.bwd_data = applicable(c.bwd_data, shape, flags);
    op->use.bwd_weights = applicable(c.bwd_weights, shape, flags);
    if (flags & MBT_CONV_INFERENCE) op->use.bwd_data = op->use.bwd_weights = MBT_CONV_IMPL_ONEDNN;
    mbt_conv_impl u[3] = {op->use.fwd, op->use.bwd_data, op->use.bwd_weights};
    mbt_status st = MBT_OK;
    int wino_dirs[2] = {0, 0}; /* directions run by F(2x2), F(4x4) */
    for (int i = 0; i < 3; i++) {
        if (u[i] == MBT_CONV_IMPL_GEMM && !op->gemm && st == MBT_OK) st = mbt_conv2d_gemm_create(&op->gemm, shape);
        if (u[i] == MBT_CONV_IMPL_WINOGRAD || u[i] == MBT_CONV_IMPL_WINOGRAD4)
            wino_dirs[u[i] == MBT_CONV_IMPL_WINOGRAD4] |= 1 << i;
    }
    for (int k = 0; k < 2 && st == MBT_OK; k++)
        if (wino_dirs[k]) st = mbt_conv2d_wino_create(&op->wino[k], shape, 2 + 2 * k, wino_dirs[k]);
    if (st == MBT_OK) st = create_prims(op);
    if (st != MBT_OK) {
        mbt_conv2d_cpu_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_conv2d_cpu_destroy(mbt_conv2d_cpu *op) {
    if (!op) return;
    mbt_conv2d_gemm_destroy(op->gemm);
    mbt_conv2d_wino_destroy(op->wino[0]);
    mbt_conv2d_wino_destroy(op->wino[1]);
    mbt_dnnl_prim *prims[] = {&op->fwd, &op->bwd_data, &op->bwd_weights, &op->w_to_fwd, &op->w_to_bwd, &op->dw_to_user};
    for (unsigned i = 0; i < sizeof prims / sizeof *prims; i++) mbt_dnnl_prim_destroy(prims[i]);
    dnnl_memory_t mems[] = {op->src, op->dst, op->diff_src, op->diff_dst, op->w_user, op->dw_user,
                            op->w_fwd, op->w_bwd, op->dw_native};
    for (unsigned i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(op);
}

mbt_status mbt_conv2d_cpu_set_weights(mbt_conv2d_cpu *op, const float *w) {
    if (op->gemm) MBT_TRY(mbt_conv2d_gemm_set_weights(op->gemm, w));
    for (int i = 0; i < 2; i++)
        if (op->wino[i]) MBT_TRY(mbt_conv2d_wino_set_weights(op->wino[i], w));
    MBT_TRY(mbt_dnnl_bind(op->w_user, w));
    if (op->w_to_fwd.prim) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, op->w_user}, {DNNL_ARG_TO, op->w_fwd}};
        MBT_TRY(mbt_dnnl_prim_exec(&op->w_to_fwd, WHAT, 2, a));
    }
    if (op->w_to_bwd.prim) {
        dnnl_exec_arg_t b[2] = {{DNNL_ARG_FROM, op->w_user}, {DNNL_ARG_TO, op->w_bwd}};
        MBT_TRY(mbt_dnnl_prim_exec(&op->w_to_bwd, WHAT, 2, b));
    }
    return MBT_OK;
}

mbt_status mbt_conv2d_cpu_forward(mbt_conv2d_cpu *op, const float *x, float *y) {
    if (op->use.fwd == MBT_CONV_IMPL_GEMM) return mbt_conv2d_gemm_forward(op->gemm, x, y);
    if (op->use.fwd == MBT_CONV_IMPL_WINOGRAD) return mbt_conv2d_wino_forward(op->wino[0], x, y);
    if (op->use.fwd == MBT_CONV_IMPL_WINOGRAD4) return mbt_conv2d_wino_forward(op->wino[1], x, y);
    MBT_TRY(mbt_dnnl_bind(op->src, x));
    MBT_TRY(mbt_dnnl_bind(op->dst, y));
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, op->src}, {DNNL_ARG_WEIGHTS, op->w_fwd}, {DNNL_ARG_DST, op->dst}};
    return mbt_dnnl_prim_exec(&op->fwd, WHAT, 3, a);
}

mbt_status mbt_conv2d_cpu_backward(mbt_conv2d_cpu *op, const float *x, const float *dy, float *dx, float *dw) {
    if (op->flags & MBT_CONV_INFERENCE)
        return MBT_FAIL(MBT_ERR_ARG, "conv2d: backward called on an op created for inference");
    if (dx && (op->flags & MBT_CONV_INPUT_NCHW))
        return MBT_FAIL(MBT_ERR_ARG, "conv2d: no input gradient for an NCHW-input convolution (pass dx = NULL)");
    /* each implementation other than oneDNN runs its directions at once (they share work) */
    for (mbt_conv_impl impl = MBT_CONV_IMPL_GEMM; impl <= MBT_CONV_IMPL_WINOGRAD4; impl++) {
        float *idx = op->use.bwd_data == impl ? dx : NULL, *idw = op->use.bwd_weights == impl ? dw : NULL;
        if (!idx && !idw) continue;
        if (impl == MBT_CONV_IMPL_GEMM) MBT_TRY(mbt_conv2d_gemm_backward(op->gemm, x, dy, idx, idw));
        else MBT_TRY(mbt_conv2d_wino_backward(op->wino[impl == MBT_CONV_IMPL_WINOGRAD4], x, dy, idx, idw));
    }
    if (op->use.bwd_data != MBT_CONV_IMPL_ONEDNN) dx = NULL;
    if (op->use.bwd_weights != MBT_CONV_IMPL_ONEDNN) dw = NULL;
    if (!dx && !dw) return MBT_OK;
    MBT_TRY(mbt_dnnl_bind(op->diff_dst, dy));
    if (dx) {
        MBT_TRY(mbt_dnnl_bind(op->diff_src, dx));
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, op->diff_dst}, {DNNL_ARG_WEIGHTS, op->w_bwd},
                                {DNNL_ARG_DIFF_SRC, op->diff_src}};
        MBT_TRY(mbt_dnnl_prim_exec(&op->bwd_data, WHAT, 3, a));
    }
    if (dw) {
        MBT_TRY(mbt_dnnl_bind(op->src, x));
        dnnl_exec_arg_t b[3] = {{DNNL_ARG_SRC, op->src}, {DNNL_ARG_DIFF_DST, op->diff_dst},
                                {DNNL_ARG_DIFF_WEIGHTS, op->dw_native}};
        MBT_TRY(mbt_dnnl_prim_exec(&op->bwd_weights, WHAT, 3, b));
        MBT_TRY(mbt_dnnl_bind(op->dw_user, dw));
        dnnl_exec_arg_t c[2] = {{DNNL_ARG_FROM, op->dw_native}, {DNNL_ARG_TO, op->dw_user}};
        MBT_TRY(mbt_dnnl_prim_exec(&op->dw_to_user, WHAT, 2, c));
    }
    return MBT_OK;
}
