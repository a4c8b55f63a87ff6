/* The training-mode BN feature check shared by test_train_bn_features (CPU) and
 * test_train_bn_features_cuda: a ResNet-18 (32 px) host model with the pattern's weights runs one
 * "epoch" of batches of 6, 6 and a last partial batch of 4 through mbt_train_bn_features on a device;
 * the features of every image, and the running statistics and counters the host model holds after
 * mbt_train_bn_features_sync, are kept for comparison. */
#ifndef MBT_TEST_TRAIN_BN_CASE_H
#define MBT_TEST_TRAIN_BN_CASE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_pattern.h"
#include "models/model.h"
#include "tasks/train_bn_features.h"

#define TBN_BATCH 6
#define TBN_TAIL 4
#define TBN_IMAGES (2 * TBN_BATCH + TBN_TAIL)
#define TBN_SIZE 32

typedef struct {
    float *features;  /* [TBN_IMAGES, emb] */
    float *buffers;   /* every BN running statistic, in state_dict order */
    size_t n_buffers;
    int64_t counters; /* the sum of the num_batches_tracked counters */
    int n_counters;   /* how many there are (one per BN layer) */
    int emb;
} tbn_result;

static mbt_model_config tbn_config(void) { return mbt_model_config_small(MBT_ARCH_RESNET18, TBN_SIZE, 16); }

/* Image i of the epoch, NCHW, in [-2, 2). */
static float *tbn_images(void) {
    size_t per = (size_t)3 * TBN_SIZE * TBN_SIZE;
    float *x = malloc(TBN_IMAGES * per * sizeof(float));
    for (size_t i = 0; i < TBN_IMAGES * per; i++) x[i] = (float)(2.0 * pattern(500, (int64_t)i));
    return x;
}

/* A CPU training model of `batch` images holding the pattern's weights. */
static mbt_model *tbn_host_model(int batch) {
    mbt_model_config cfg = tbn_config();
    mbt_model *m = NULL;
    if (!CHECK_OK(mbt_model_create(&m, &cfg, batch, 1, 1, MBT_DEVICE_CPU))) return NULL;
    pattern_set_params(m, "bn2");
    CHECK_OK(mbt_model_sync_params(m));
    return m;
}

/* The model's running statistics and counters into r. */
static void tbn_read_state(mbt_model *m, tbn_result *r) {
    size_t n = 0;
    for (size_t i = 0; i < mbt_model_param_count(m); i++) {
        mbt_param *p = mbt_model_param(m, i);
        if (p->kind == MBT_PARAM_BUFFER) n += p->numel;
    }
    r->buffers = malloc(n * sizeof(float));
    r->n_buffers = 0;
    r->counters = 0;
    r->n_counters = 0;
    for (size_t i = 0; i < mbt_model_param_count(m); i++) {
        mbt_param *p = mbt_model_param(m, i);
        if (p->kind == MBT_PARAM_BUFFER) {
            memcpy(r->buffers + r->n_buffers, p->data, p->numel * sizeof(float));
            r->n_buffers += p->numel;
        } else if (p->kind == MBT_PARAM_COUNTER) {
            r->counters += *p->counter;
            r->n_counters++;
        }
    }
}

/* One epoch through mbt_train_bn_features on `device`; returns 0 when it could not run. */
static int tbn_run(mbt_device device, tbn_result *r) {
    memset(r, 0, sizeof *r);
    mbt_model *host = tbn_host_model(TBN_BATCH);
    if (!host) return 0;
    r->emb = mbt_model_embedding_dim(MBT_ARCH_RESNET18);
    r->features = malloc((size_t)TBN_IMAGES * r->emb * sizeof(float));
    float *x = tbn_images();
    size_t per = (size_t)3 * TBN_SIZE * TBN_SIZE;
    mbt_train_bn_features t;
    int ran = CHECK_OK(mbt_train_bn_features_init(&t, host, TBN_TAIL, device));
    for (int s = 0; ran && s < TBN_IMAGES; s += TBN_BATCH) {
        int n = TBN_IMAGES - s < TBN_BATCH ? TBN_IMAGES - s : TBN_BATCH;
        const float *f;
        ran = CHECK_OK(mbt_train_bn_features_run(&t, n, x + (size_t)s * per, &f));
        if (ran) memcpy(r->features + (size_t)s * r->emb, f, (size_t)n * r->emb * sizeof(float));
    }
    if (ran) ran = CHECK_OK(mbt_train_bn_features_sync(&t));
    if (ran) tbn_read_state(host, r);
    if (t.host) mbt_train_bn_features_free(&t);
    free(x);
    mbt_model_destroy(host);
    return ran;
}

static void tbn_free(tbn_result *r) {
    free(r->features);
    free(r->buffers);
}

#endif
