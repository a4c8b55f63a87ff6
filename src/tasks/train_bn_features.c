/* Training-mode BN backbone features on the CPU or the GPU (see train_bn_features.h). */
#include "tasks/train_bn_features.h"

#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "tasks/evaluate_model.h"

static const char *WHAT = "training-mode BN features";

/* dst takes src's running statistics and counters; a CUDA src is read back first. */
static mbt_status move_buffers(mbt_model *dst, mbt_model *src) {
    MBT_TRY(mbt_model_params_to_host(src));
    return mbt_eval_model_copy_buffers(dst, src);
}

/* A training model of `batch` images on t's device holding host's state. */
static mbt_status make_copy(mbt_train_bn_features *t, int batch, mbt_model **out) {
    MBT_TRY(mbt_model_create(out, mbt_model_get_config(t->host), batch, 1, 1, t->device));
    return mbt_eval_model_copy_state(*out, t->host);
}

mbt_status mbt_train_bn_features_init(mbt_train_bn_features *t, mbt_model *host, int tail_batch, mbt_device device) {
    memset(t, 0, sizeof *t);
    if (mbt_model_device(host) != MBT_DEVICE_CPU)
        return MBT_FAIL(MBT_ERR_ARG, "%s: the host model must be on the CPU", WHAT);
    t->device = device;
    t->host = host;
    t->emb = mbt_model_embedding_dim(mbt_model_get_config(host)->arch);
    int batch = mbt_model_batch(host);
    mbt_status st = MBT_OK;
    if (device == MBT_DEVICE_CPU) t->main = host;
    else {
        const mbt_model_config *c = mbt_model_get_config(host);
        st = make_copy(t, batch, &t->main);
        if (st == MBT_OK)
            st = mbt_device_batch_init(&t->input, device, 1, (size_t)batch * 3 * c->image_size * c->image_size);
        t->input_ready = st == MBT_OK;
        if (st == MBT_OK && !(t->feat = malloc((size_t)batch * t->emb * sizeof(float))))
            st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", WHAT);
    }
    if (st == MBT_OK && tail_batch >= 2 && tail_batch != batch) st = make_copy(t, tail_batch, &t->tail);
    if (st != MBT_OK) mbt_train_bn_features_free(t);
    return st;
}

void mbt_train_bn_features_free(mbt_train_bn_features *t) {
    if (t->main != t->host) mbt_model_destroy(t->main);
    mbt_model_destroy(t->tail);
    if (t->input_ready) mbt_device_batch_free(&t->input);
    free(t->feat);
    memset(t, 0, sizeof *t);
}

mbt_status mbt_train_bn_features_run(mbt_train_bn_features *t, int n, const float *x, const float **feat) {
    mbt_model *m = n == mbt_model_batch(t->main) ? t->main : t->tail;
    if (!m || mbt_model_batch(m) != n)
        return MBT_FAIL(MBT_ERR_ARG, "%s: a batch of %d images (model batch %d)", WHAT, n, mbt_model_batch(t->main));
    const float *xd = x;
    if (t->device != MBT_DEVICE_CPU) {
        const mbt_model_config *c = mbt_model_get_config(m);
        MBT_TRY(mbt_device_batch_put(&t->input, 0, x, (size_t)n * 3 * c->image_size * c->image_size, &xd));
    }
    if (m == t->tail) MBT_TRY(move_buffers(t->tail, t->main));
    const float *f;
    MBT_TRY(mbt_model_forward_train(m, 0, xd, &f, NULL));
    if (t->device != MBT_DEVICE_CPU) {
        MBT_TRY(mbt_device_to_host(t->device, t->feat, f, (size_t)n * t->emb * sizeof(float)));
        f = t->feat;
    }
    if (m == t->tail) MBT_TRY(move_buffers(t->main, t->tail));
    *feat = f;
    return MBT_OK;
}

mbt_status mbt_train_bn_features_sync(mbt_train_bn_features *t) {
    return t->main == t->host ? MBT_OK : move_buffers(t->host, t->main);
}
