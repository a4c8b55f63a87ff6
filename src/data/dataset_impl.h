/* What a dataset format implements (private to src/data): labels, an image reader, a destructor. */
#ifndef MBT_DATASET_IMPL_H
#define MBT_DATASET_IMPL_H

#include "data/dataset.h"

typedef struct {
    /* Reads image i of the shared storage `impl`. */
    mbt_status (*read)(const void *impl, int64_t i, mbt_dataset_reader *rd, mbt_image *img);
    void (*destroy)(void *impl);
} mbt_dataset_ops;

/* Wraps a format's storage into a dataset: takes ownership of impl and labels (malloc'ed, count
 * entries) even on failure; class_names (num_classes strings) are copied; in_memory as reported by
 * mbt_dataset_in_memory. */
mbt_status mbt_dataset_wrap(mbt_dataset **ds, const mbt_dataset_ops *ops, void *impl, int32_t *labels, int64_t count,
                            int num_classes, const char *const *class_names, int in_memory, const char *description);

/* Format openers (dir already names the folder holding the files where the format requires). */
mbt_status mbt_cifar_open(mbt_dataset **ds, int classes, const char *dir, mbt_split split);
mbt_status mbt_stl10_open(mbt_dataset **ds, const char *dir, mbt_split split);
mbt_status mbt_tiny_imagenet_open(mbt_dataset **ds, const char *dir, mbt_split split);
/* ImageNet-1k: train/<wnid>/ class folders; val/ as class folders too, or flat with LOC_val_solution.csv
 * (imagenet.c). */
mbt_status mbt_imagenet_open(mbt_dataset **ds, const char *dir, mbt_split split);
/* "folder": dir/train and dir/test, or dir alone as the training split (image_folder.c). */
mbt_status mbt_folder_open(mbt_dataset **ds, const char *dir, mbt_split split);
/* The transfer sets (fashion: 0 MNIST, 1 Fashion-MNIST); each file says its layout and split rule. */
mbt_status mbt_mnist_open(mbt_dataset **ds, int fashion, const char *dir, mbt_split split);
mbt_status mbt_dtd_open(mbt_dataset **ds, const char *dir, mbt_split split);
mbt_status mbt_cub200_open(mbt_dataset **ds, const char *dir, mbt_split split);
mbt_status mbt_flowers102_open(mbt_dataset **ds, const char *dir, mbt_split split);
mbt_status mbt_gtsrb_open(mbt_dataset **ds, const char *dir, mbt_split split);
mbt_status mbt_aircraft_open(mbt_dataset **ds, const char *dir, mbt_split split);

/* 1 if path is an existing directory / regular file. */
int mbt_is_dir(const char *path);
int mbt_is_file(const char *path);

#endif
