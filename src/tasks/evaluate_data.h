/* The data of the evaluation protocols over the data layer: a dataset's labelled training split and
 * test split (optionally limited to N images), the recipe of the dataset at the model's input size,
 * evaluation-transform loaders over a split, and batches of one augmented view per image in a shuffled
 * order with the last partial batch kept (the linear probe's training batches, as a PyTorch
 * DataLoader(shuffle=True) gives them).
 *
 * The dataset kind's row (data/dataset_kind.h) decides, as for the pretraining k-NN monitor
 * (tasks/pretrain_data.c): the recipe at the model's input size (folder: from the first training
 * image), and whether a limit of N images takes the first N or N spread evenly. stl10 is evaluated on
 * its 5000 labelled training images, not the unlabelled ones. The transfer sets have no recipe of their
 * own: mbt_eval_data_set_recipe gives them the transfer transform. */
#ifndef MBT_EVALUATE_DATA_H
#define MBT_EVALUATE_DATA_H

#include <stdint.h>

#include "core/status.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/dataset_kind.h"
#include "data/loader.h"

/* Philox stream tags of the evaluation tasks (mbt_rng_stream_id's first argument). */
#define MBT_RNG_TAG_EVAL_ORDER 32u /* (epoch, 0, 0): the shuffled order of an epoch */
#define MBT_RNG_TAG_EVAL_VIEW 33u  /* (epoch, image index, 0): one image's augmentation in that epoch */
#define MBT_RNG_TAG_EVAL_HEAD 34u  /* (0, 0, 0): a linear classifier's initialisation */

typedef enum { MBT_EVAL_TRAIN = 0, MBT_EVAL_TEST = 1 } mbt_eval_part;

typedef struct {
    const char *dataset;  /* any kind of data/dataset_kind.h (mixbt's name) */
    const char *data_dir;
    int image_size;       /* the model's input side (32 or 64 for the small-data models); 0: set later */
    int train_limit;      /* images of the training split (0: all) */
    int test_limit;       /* images of the test split (0: all) */
    int open_train, open_test;
} mbt_eval_data_config;

typedef struct {
    mbt_augment_recipe recipe;      /* valid once the image size is set */
    mbt_dataset *full[2], *part[2]; /* indexed by mbt_eval_part; NULL when not opened */
    int num_classes;
    const mbt_dataset_kind *kind;   /* the dataset's row of the kinds' table */
    int image_size;                 /* 0: not set yet */
} mbt_eval_data;

/* Opens the splits asked for. Errors name the folder, the dataset and what is missing. The recipe is
 * chosen when the image size is known (c->image_size > 0, or mbt_eval_data_set_image_size), so that
 * the counts can size the model before its checkpoint is read. */
mbt_status mbt_eval_data_open(mbt_eval_data *d, const mbt_eval_data_config *c);
mbt_status mbt_eval_data_set_image_size(mbt_eval_data *d, int image_size);
/* Uses `recipe` (its size is the image size) instead of the dataset's: the transfer protocol's
 * Resize((s, s)) transform with the target's normalisation (mbt_augment_recipe_resize). */
mbt_status mbt_eval_data_set_recipe(mbt_eval_data *d, const mbt_augment_recipe *recipe);
void mbt_eval_data_close(mbt_eval_data *d);
int64_t mbt_eval_data_count(const mbt_eval_data *d, mbt_eval_part part);

/* A loader over a part with the recipe's evaluation transform, images in order, last batch kept. */
mbt_status mbt_eval_data_loader(const mbt_eval_data *d, mbt_eval_part part, int batch, int workers,
                                mbt_loader **loader);

/* Batches of one augmented view (the recipe's training transform) per image. Each epoch visits every
 * image once in the order of a Philox permutation keyed by (seed, epoch); image i's view in epoch e
 * draws from its own stream (seed, (MBT_RNG_TAG_EVAL_VIEW, e, i, 0)), so the batches do not depend on
 * the number of workers. Batches are made when asked for, by `workers` OpenMP threads. */
typedef struct mbt_view_batches mbt_view_batches;

mbt_status mbt_view_batches_create(mbt_view_batches **vb, const mbt_dataset *dataset, const mbt_augment_recipe *recipe,
                                   int batch, int workers, uint64_t seed);
void mbt_view_batches_destroy(mbt_view_batches *vb);
/* augment 0: each image's batch entry is the recipe's evaluation transform instead of an augmented
 * view (the transfer protocol's training images); 1 (the default): augmented views. */
void mbt_view_batches_set_augment(mbt_view_batches *vb, int augment);
/* ceil(count / batch) */
int64_t mbt_view_batches_per_epoch(const mbt_view_batches *vb);
/* Starts epoch (from 1; below 2^20). */
mbt_status mbt_view_batches_start(mbt_view_batches *vb, uint32_t epoch);
/* The next batch: x [n, 3, size, size] and labels [n], valid until the next call; n = 0 at the end. */
mbt_status mbt_view_batches_next(mbt_view_batches *vb, const float **x, const int32_t **labels, int *n);

#endif
