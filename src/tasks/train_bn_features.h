/* Backbone features with training-mode BN (the reference's net.train() while its linear classifier
 * trains, SPEC quirk 4) on any device: each batch is normalised with its own statistics and moves the
 * running statistics, which the test pass then uses.
 *
 * The host model (a CPU model, what mbt_eval_model_load builds) is the home of the running statistics.
 * On the CPU it runs itself (so it must be a training model). On CUDA a training copy of its state runs
 * on the GPU, inputs go up and features come back per batch, and mbt_train_bn_features_sync brings the
 * running statistics home.
 * An epoch's last partial batch (at least 2 images) runs through a second model of its size that
 * shares the parameters and carries the running statistics over, on the same device. */
#ifndef MBT_TRAIN_BN_FEATURES_H
#define MBT_TRAIN_BN_FEATURES_H

#include "core/tensor.h"
#include "models/model.h"
#include "tasks/device_batch.h"

typedef struct {
    mbt_device device;
    mbt_model *host;        /* the caller's CPU model (not owned) */
    mbt_model *main;        /* batch-size model on the device: host itself on the CPU */
    mbt_model *tail;        /* the partial batch's model on the device, or NULL */
    int emb;
    mbt_device_batch input; /* CUDA: the batch's images on the device */
    int input_ready;
    float *feat;            /* CUDA: [batch, emb] features brought back (host memory) */
} mbt_train_bn_features;

/* For host's batch and, when tail_batch >= 2 and differs from it, a tail model of tail_batch images,
 * on `device` (opened by the caller). host must be on the CPU; for device CPU, a training model. */
mbt_status mbt_train_bn_features_init(mbt_train_bn_features *t, mbt_model *host, int tail_batch, mbt_device device);
void mbt_train_bn_features_free(mbt_train_bn_features *t);

/* Training-mode forward of n images x (host memory, NCHW; n is the model batch or the tail batch):
 * *feat receives the unnormalised backbone features [n, emb] in host memory, valid until the next call. */
mbt_status mbt_train_bn_features_run(mbt_train_bn_features *t, int n, const float *x, const float **feat);

/* Copies the running statistics and counters into the host model (CUDA; nothing to do on the CPU). */
mbt_status mbt_train_bn_features_sync(mbt_train_bn_features *t);

#endif
