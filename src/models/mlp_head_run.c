/* A head's training forward, backward and evaluation forward over its planned buffers; every data
 * step is a device op, so the same code runs on either device. */
#include "models/mlp_head_internal.h"
#include "ops/eltwise.h"
#include "ops/linear.h"

/* The slot's training batch-norm op of layer l for n rows, made again only when n changes. */
static mbt_status train_op(mbt_head *h, mbt_head_layer *l, int slot, int n, mbt_batchnorm **op) {
    if (l->bn_rows[slot] != n) {
        mbt_batchnorm_destroy(l->bn_train[slot]);
        l->bn_train[slot] = NULL;
        l->bn_rows[slot] = 0;
        MBT_TRY(mbt_head_bn_create(h, l, n, 0, &l->bn_train[slot]));
        if (mbt_batchnorm_workspace_bytes(l->bn_train[slot]) > h->ws_bytes)
            return MBT_FAIL(MBT_ERR_UNSUPPORTED, "head: batch norm of %d rows needs more workspace than planned", n);
        l->bn_rows[slot] = n;
    }
    *op = l->bn_train[slot];
    return MBT_OK;
}

mbt_status mbt_head_forward_train(mbt_head *h, int slot, int n, const float *x, const float **out) {
    if (!h->training) return MBT_FAIL(MBT_ERR_ARG, "head: training forward on a head built for evaluation");
    if (slot < 0 || slot >= h->slots) return MBT_FAIL(MBT_ERR_ARG, "head: slot %d out of range 0..%d", slot, h->slots - 1);
    if (n < 2 || n > h->rows) return MBT_FAIL(MBT_ERR_ARG, "head: training forward of %d rows (2..%d)", n, h->rows);
    const float *in = x;
    for (int j = 0; j < h->n_layers; j++) {
        mbt_head_layer *l = &h->layer[j];
        MBT_TRY(mbt_linear_forward(h->device, n, l->in, l->out, in, l->w, l->b, l->y[slot]));
        if (l->bn) {
            mbt_batchnorm *op = NULL;
            MBT_TRY(train_op(h, l, slot, n, &op));
            l->tracked++;
            MBT_TRY(mbt_batchnorm_forward_train(op, l->y[slot], l->gamma, l->beta, l->a[slot], l->mean[slot],
                                                l->var[slot], l->ws[slot], l->rmean, l->rvar));
        } else if (l->relu) {
            MBT_TRY(mbt_relu_forward(h->device, (size_t)n * l->out, l->y[slot], l->a[slot]));
        }
        in = mbt_head_layer_out(l, slot);
    }
    h->input[slot] = x;
    h->n[slot] = n;
    if (out) *out = in;
    return MBT_OK;
}

mbt_status mbt_head_backward(mbt_head *h, int slot, const float *dout, float *dx) {
    if (!h->training) return MBT_FAIL(MBT_ERR_ARG, "head: backward on a head built for evaluation");
    if (slot < 0 || slot >= h->slots || !h->input[slot])
        return MBT_FAIL(MBT_ERR_ARG, "head: backward on slot %d without its forward", slot);
    int n = h->n[slot];
    const float *g = dout; /* gradient of the current layer's output */
    for (int j = h->n_layers - 1; j >= 0; j--) {
        mbt_head_layer *l = &h->layer[j];
        float *t = g == h->ga ? h->gb : h->ga; /* the scratch buffer g is not in */
        if (l->bn) { /* g: gradient of the BN(+ReLU) output -> t: of the Linear output */
            MBT_TRY(mbt_batchnorm_backward(l->bn_train[slot], l->y[slot], l->gamma, l->beta, l->mean[slot],
                                           l->var[slot], l->ws[slot], g, t, l->dgamma, l->dbeta));
            g = t;
        } else if (l->relu) {
            MBT_TRY(mbt_relu_backward(h->device, (size_t)n * l->out, l->a[slot], g, t));
            g = t;
        }
        const float *in = j ? mbt_head_layer_out(&h->layer[j - 1], slot) : h->input[slot];
        float *d_in = j ? (g == h->ga ? h->gb : h->ga) : dx;
        MBT_TRY(mbt_linear_backward(h->device, n, l->in, l->out, in, l->w, g, d_in, l->dw, l->db));
        g = d_in;
    }
    h->input[slot] = NULL;
    return MBT_OK;
}

mbt_status mbt_head_forward_eval(mbt_head *h, int n, const float *x, float *out) {
    if (n < 1 || n > h->rows) return MBT_FAIL(MBT_ERR_ARG, "head: evaluation of %d rows (1..%d)", n, h->rows);
    const float *in = x;
    for (int j = 0; j < h->n_layers; j++) {
        mbt_head_layer *l = &h->layer[j];
        MBT_TRY(mbt_linear_forward(h->device, n, l->in, l->out, in, l->w, l->b, l->y[0]));
        if (l->bn) /* over all `rows` rows of the buffer: rows are independent with running statistics */
            MBT_TRY(mbt_batchnorm_forward_eval(l->bn_eval, l->y[0], l->gamma, l->beta, l->rmean, l->rvar, l->a[0]));
        else if (l->relu)
            MBT_TRY(mbt_relu_forward(h->device, (size_t)n * l->out, l->y[0], l->a[0]));
        in = mbt_head_layer_out(l, 0);
    }
    return mbt_copy(h->device, (size_t)n * h->cfg.out_dim, in, out);
}
