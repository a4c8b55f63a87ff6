/* The data side of pretraining: the augmented batches of the training set (pairs, or the baselines'
 * --num-samples views per image) and the plain
 * batches of the k-NN memory bank and test set, over the data layer. */
#ifndef MBT_PRETRAIN_DATA_H
#define MBT_PRETRAIN_DATA_H

#include <stdint.h>

#include "core/tensor.h"
#include "tasks/pretrain.h"

typedef struct mbt_pretrain_data mbt_pretrain_data;

typedef enum { MBT_EVAL_BANK = 0, MBT_EVAL_TEST = 1 } mbt_eval_split;

/* Opens the training set (and the k-NN sets when cfg->knn_every > 0) for batches of `batch`, the
 * training set on `device` when cfg->loader says so (pretrain_data.c), with cfg->num_samples views per
 * image for the baselines (2 for mixbt and bt). */
mbt_status mbt_pretrain_data_open(mbt_pretrain_data **data, const mbt_pretrain_config *cfg, int batch,
                                  mbt_device device);
void mbt_pretrain_data_close(mbt_pretrain_data *data);
/* The image side length of the dataset's recipe (32 for CIFAR, 64 for STL-10 and Tiny-ImageNet). */
int mbt_pretrain_data_image_size(const mbt_pretrain_data *data);
int64_t mbt_pretrain_data_steps_per_epoch(const mbt_pretrain_data *data);
/* Bytes of training images kept on the device (0: the host loader runs). */
size_t mbt_pretrain_data_device_bytes(const mbt_pretrain_data *data);
int mbt_pretrain_data_num_classes(const mbt_pretrain_data *data);
/* Views per training image. */
int mbt_pretrain_data_views(const mbt_pretrain_data *data);
/* Starts epoch `epoch` (from 1) at batch `skip` (for a resumed run). */
mbt_status mbt_pretrain_data_start_epoch(mbt_pretrain_data *data, int epoch, int64_t skip);
/* The next batch's augmented views x[v] [batch, 3, H, W] (v < mbt_pretrain_data_views), valid until the
 * next call: in host memory, or (*on_device = 1) already in the device's memory. The same views whichever
 * loader runs (view v of image i of epoch e is mbt_loader_draw_view(v) applied to the image). */
mbt_status mbt_pretrain_data_next_views(mbt_pretrain_data *data, const float **x, int *on_device);
/* mbt_pretrain_data_next_views giving views 0 and 1 only. */
mbt_status mbt_pretrain_data_next_pair(mbt_pretrain_data *data, const float **x1, const float **x2, int *on_device);
/* Iterates a k-NN split in order with the evaluation transform: *n images per call (0 at the end). */
mbt_status mbt_pretrain_data_eval_begin(mbt_pretrain_data *data, mbt_eval_split split, int *count);
mbt_status mbt_pretrain_data_eval_next(mbt_pretrain_data *data, const float **x, const int32_t **labels, int *n);

#endif
