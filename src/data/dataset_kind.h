/* The dataset kinds, in one table (dataset_kind.c): everything the code decides by a dataset's name.
 * Adding a kind is one row there plus its reader; the commands, their choices and help, the subset
 * rule and the recipe follow from the row. */
#ifndef MBT_DATASET_KIND_H
#define MBT_DATASET_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/augment.h"
#include "data/dataset.h"

/* The commands that may name a kind (bits of mbt_dataset_kind.uses). */
typedef enum {
    MBT_KIND_PRETRAIN = 1u, /* pretrain --dataset */
    MBT_KIND_EVAL = 2u,     /* knn, linear, embed --dataset */
    MBT_KIND_TRANSFER = 4u  /* transfer --target */
} mbt_kind_use;

/* How N images of a split are taken (--subset and the other limits). */
typedef enum {
    MBT_SUBSET_FIRST = 0, /* the first N: the files mix the classes */
    MBT_SUBSET_SPREAD = 1 /* N spread evenly (mbt_dataset_view_spread): stored class by class, the first N would
                           * hold only the first classes */
} mbt_subset_rule;

typedef struct {
    const char *name;   /* mixbt's name (--dataset, --target, config.json) */
    const char *alias;  /* the reference's --transfer_dataset name (transfer --target only), or NULL */
    const char *title;  /* "Flowers-102" */
    /* the reader: split of the kind's files under dir (dir is an existing folder) */
    mbt_status (*open)(mbt_dataset **ds, const char *dir, mbt_split split);
    /* augmentation recipe (mbt_augment_recipe_get), which also fixes the image size (cifar 32 px, stl10
     * and tiny_imagenet 64 px); NULL: chosen from the first image (mbt_dataset_kind_recipe) */
    const char *recipe;
    mbt_subset_rule subset;
    int unlabeled;      /* 1: has MBT_SPLIT_UNLABELED; pretraining then trains on MBT_SPLIT_TRAIN_UNLABELED and
                         * takes the k-NN bank from the labelled MBT_SPLIT_TRAIN */
    int mixed_sizes;    /* 1: images of several sizes (the device-resident loader cannot hold them) */
    /* the reference's data_statistics.py constants: the transfer protocol's Normalize (std 0: none) */
    float mean[3], std[3];
    int classes;        /* the official class count (0: from the data) */
    unsigned uses;      /* mbt_kind_use bits */
} mbt_dataset_kind;

/* The kind called name (mixbt's name; with aliases = 1 the reference's name too), or NULL. */
const mbt_dataset_kind *mbt_dataset_kind_find(const char *name, int aliases);
/* mbt_dataset_kind_find(name, 0), or MBT_ERR_ARG "dataset 'name' is unknown (every name)". */
mbt_status mbt_dataset_kind_get(const char *name, const mbt_dataset_kind **kind);
/* Kind i of the table in its order (0 <= i < mbt_dataset_kind_count()). */
int mbt_dataset_kind_count(void);
const mbt_dataset_kind *mbt_dataset_kind_at(int i);
/* The names of the kinds with one of the `uses` bits (0: every kind), in table order, separated by sep;
 * alias_sep non-NULL puts each alias after its name with that separator ("cub200 or cu_birds"). Writes
 * into buf (cap bytes, always terminated) and returns buf. */
const char *mbt_dataset_kind_names(char *buf, size_t cap, unsigned uses, const char *sep, const char *alias_sep);

/* The kind's recipe at image side size (0: the recipe's own). A kind without a fixed recipe takes
 * "cifar" when the first image of `sample` is at most 32 px on each side, else "tiny_imagenet". */
mbt_status mbt_dataset_kind_recipe(const mbt_dataset_kind *kind, const mbt_dataset *sample, int size,
                                   mbt_augment_recipe *recipe);
/* count images of base by the kind's subset rule (count <= 0 or beyond the end: all of them). */
mbt_status mbt_dataset_kind_subset(const mbt_dataset_kind *kind, const mbt_dataset *base, int64_t count,
                                   mbt_dataset **out);

#endif
