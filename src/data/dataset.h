/* Image datasets behind one interface: a count, a class count, a label per image and the 8-bit RGB
 * image i (decoded on demand where the format is compressed). Formats: CIFAR-10/100 (official binary
 * and python-pickle layouts), STL-10 binary, Tiny-ImageNet (official layout) and ImageFolder trees
 * (class subfolders of .jpg/.jpeg/.png files). Reading images is safe from several threads at once,
 * each with its own mbt_dataset_reader. The transfer-evaluation sets (MNIST, Fashion-MNIST, DTD,
 * CUB-200-2011, Flowers-102, GTSRB, FGVC-Aircraft) are read from their official files too. */
#ifndef MBT_DATASET_H
#define MBT_DATASET_H

#include <stdint.h>

#include "core/status.h"
#include "data/decode.h"
#include "data/image.h"

typedef struct mbt_dataset mbt_dataset;

typedef enum {
    MBT_SPLIT_TRAIN = 0,      /* the labelled training images */
    MBT_SPLIT_TEST,           /* the test images (Tiny-ImageNet: val) */
    MBT_SPLIT_UNLABELED,      /* STL-10's 100000 unlabelled images (label -1) */
    MBT_SPLIT_TRAIN_UNLABELED /* STL-10 train followed by unlabelled (the pretraining set) */
} mbt_split;

/* One thread's reusable reading state (all-zero is valid; free with mbt_dataset_reader_free). */
typedef struct {
    mbt_file_buffer file;
} mbt_dataset_reader;
void mbt_dataset_reader_free(mbt_dataset_reader *rd);

/* Opens split of the dataset kind called `kind` (data/dataset_kind.h: its table row gives the reader)
 * found under dir:
 *   "cifar10", "cifar100": dir holds the files (data_batch_1.bin ... test_batch.bin / train.bin,
 *     test.bin; or the pickles data_batch_1 ... test_batch / train, test) or one of the archive's top
 *     folders (cifar-10-batches-bin, cifar-10-batches-py, cifar-100-binary, cifar-100-python);
 *     CIFAR-100 labels are the fine labels;
 *   "stl10": dir holds train_X.bin, train_y.bin, test_X.bin, test_y.bin, unlabeled_X.bin or an
 *     stl10_binary/ folder with them; labels 1..10 become 0..9;
 *   "tiny_imagenet": dir holds wnids.txt, train/<wnid>/images/ and val/images/ with
 *     val/val_annotations.txt (or val/ re-organised into class folders), or a tiny-imagenet-200/
 *     folder; classes are the sorted wnids;
 *   "folder": an ImageFolder: dir/train and dir/test when dir/train exists, else dir itself is the
 *     training split (MBT_SPLIT_TEST is then an error); classes are the sorted subfolder names;
 *   the transfer sets, in their official layouts with the reference's splits (the layout and split
 *     rule of each are described at the top of its file): "mnist", "fashionmnist" (mnist_idx.c: the
 *     idx files, plain or .gz, in dir or dir/MNIST/raw, dir/FashionMNIST/raw), "dtd" (dtd.c),
 *     "cub200" (cub200.c), "flowers102" (flowers102.c), "gtsrb" (gtsrb.c), "aircraft" (aircraft.c).
 * Errors name the file and what is wrong (missing file, wrong size, bad label, empty class folder), an
 * unknown kind (listing the known ones) and an unlabelled split of a kind without one. */
mbt_status mbt_dataset_open(mbt_dataset **ds, const char *kind, const char *dir, mbt_split split);
/* An ImageFolder rooted at dir (sorted class subfolders, each searched recursively in sorted order). */
mbt_status mbt_dataset_open_image_folder(mbt_dataset **ds, const char *dir);
/* A dataset holding the first `count` images of base (count <= 0 or beyond the end: all of them).
 * It shares base's storage and stays valid after base is destroyed. */
mbt_status mbt_dataset_view(mbt_dataset **out, const mbt_dataset *base, int64_t count);
/* A dataset of `count` images spread evenly over base: image i is base image floor(i * n / count)
 * (for datasets stored class by class, where the first N would hold only the first classes). */
mbt_status mbt_dataset_view_spread(mbt_dataset **out, const mbt_dataset *base, int64_t count);
void mbt_dataset_destroy(mbt_dataset *ds);

int64_t mbt_dataset_count(const mbt_dataset *ds);
int mbt_dataset_num_classes(const mbt_dataset *ds);
/* The label of image i (0 .. num_classes-1, or -1 for an unlabelled image). */
int32_t mbt_dataset_label(const mbt_dataset *ds, int64_t i);
/* The name of class c (0 <= c < num_classes; NULL otherwise): the official label names for CIFAR-10,
 * CIFAR-100 (fine labels) and STL-10, the wnid for Tiny-ImageNet, the subfolder name for folders. */
const char *mbt_dataset_class_name(const mbt_dataset *ds, int c);
/* 1 if every image is held in memory (CIFAR: read into RAM at open; STL-10: the raw files memory-mapped),
 * 0 if images are read and decoded from their files on demand (Tiny-ImageNet, folders). */
int mbt_dataset_in_memory(const mbt_dataset *ds);
/* "CIFAR-10 (binary) /path" and the like, for messages and logs. */
const char *mbt_dataset_describe(const mbt_dataset *ds);
/* Image i (0 <= i < count) into img as 8-bit RGB. Thread-safe with one reader per thread. */
mbt_status mbt_dataset_image(const mbt_dataset *ds, int64_t i, mbt_dataset_reader *rd, mbt_image *img);

#endif
