/* The bodies of the dataset-reader fuzz targets, shared by the libFuzzer harnesses (fuzz/fuzz_cifar.c,
 * fuzz_stl.c, fuzz_idx.c, fuzz_ppm.c, fuzz_lists.c, fuzz_mat.c) and tests/test_fuzz_regress.c.
 * Each writes the files an input describes into a temporary folder (fuzz/tmp_files.h), opens them
 * with the real reader and checks what a dataset promises; a broken invariant aborts. With
 * MBT_FUZZ_VERBOSE set, each input's error or dataset is printed (to check that seeds open). */
#ifndef MBT_FUZZ_DATA_TARGETS_H
#define MBT_FUZZ_DATA_TARGETS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/ppm.h"
#include "parts.h"
#include "zlib_streams.h"
#include "tmp_files.h"

static void fuzz_data_fail(const char *what) {
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}

/* Every failure must come with a message and no dataset; a dataset must keep its promises: labels
 * in range, every class named, images (where held in memory) readable with the right size. */
static void fuzz_check_dataset(mbt_status s, mbt_dataset *ds, int read_images) {
    if (getenv("MBT_FUZZ_VERBOSE")) /* what each input gave, to check that seeds open */
        fprintf(stderr, "%s\n", s != MBT_OK ? mbt_error_message() : ds ? mbt_dataset_describe(ds) : "(no dataset)");
    if (s != MBT_OK) {
        if (!mbt_error_message()[0]) fuzz_data_fail("error without a message");
        if (ds) fuzz_data_fail("failed open returned a dataset");
        return;
    }
    if (!ds) fuzz_data_fail("no dataset");
    int64_t n = mbt_dataset_count(ds);
    int classes = mbt_dataset_num_classes(ds);
    if (n < 0 || classes < 0 || !mbt_dataset_describe(ds)) fuzz_data_fail("count, classes or description");
    for (int64_t i = 0; i < n; i++) {
        int32_t l = mbt_dataset_label(ds, i);
        if (l < -1 || l >= classes) fuzz_data_fail("label out of range");
    }
    for (int c = 0; c < classes; c++)
        if (!mbt_dataset_class_name(ds, c)) fuzz_data_fail("class without a name");
    if (read_images && n > 0) {
        mbt_dataset_reader rd = {0};
        mbt_image img = {0};
        int64_t pick[2] = {0, n - 1};
        for (int k = 0; k < 2; k++) {
            if (mbt_dataset_image(ds, pick[k], &rd, &img) != MBT_OK) fuzz_data_fail(mbt_error_message());
            if (img.width < 1 || img.height < 1) fuzz_data_fail("image size");
            volatile uint8_t c = img.data[(size_t)img.width * img.height * 3 - 1];
            (void)c;
        }
        mbt_image_free(&img);
        mbt_dataset_reader_free(&rd);
    }
    mbt_dataset_destroy(ds);
}

/* CIFAR-10/100: byte 0 = mode (bit 0: CIFAR-100; bit 1: python pickles, else binary records; bit 2:
 * test split; bit 3: the archive's top folder), the rest the bytes of each file of the split (all
 * five data_batch_N of CIFAR-10's training split get the same bytes). */
static int fuzz_cifar_one(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0], classes = mode & 1 ? 100 : 10, pickle = mode & 2;
    mbt_split split = mode & 4 ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN;
    const char *dir = fuzz_tmp_reset();
    const char *sub = !(mode & 8) ? "" : classes == 10 ? (pickle ? "cifar-10-batches-py/" : "cifar-10-batches-bin/")
                                                     : (pickle ? "cifar-100-python/" : "cifar-100-binary/");
    static const char *const train10[5] = {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"};
    const char *one = classes == 10 ? "test_batch" : split == MBT_SPLIT_TEST ? "test" : "train";
    int nfiles = classes == 10 && split == MBT_SPLIT_TRAIN ? 5 : 1;
    for (int f = 0; f < nfiles; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s%s%s", sub, nfiles == 5 ? train10[f] : one, pickle ? "" : ".bin");
        fuzz_tmp_put(rel, data + 1, size - 1);
    }
    mbt_dataset *ds = NULL;
    mbt_status s = mbt_cifar_open(&ds, classes, dir, split);
    fuzz_check_dataset(s, ds, 1);
    return 0;
}

/* STL-10: byte 0 = split (bits 0-1: train, test, unlabeled, train+unlabeled; bit 2: the stl10_binary
 * folder), byte 1 = images in the first X file (0..3), byte 2 = images in unlabeled_X.bin of
 * train+unlabeled (0..3), byte 3 = a signed change of the first X file's size; the rest is the y file
 * (labels). The X files' pixels are a pattern (the reader only maps and copies them). */
static int fuzz_stl_one(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    static const char *const first[4] = {"train", "test", "unlabeled", "train"};
    mbt_split split = (mbt_split)(data[0] & 3);
    const char *dir = fuzz_tmp_reset();
    const char *sub = data[0] & 4 ? "stl10_binary/" : "";
    size_t img = 3 * 96 * 96;
    long long n0 = (long long)(data[1] % 4) * (long long)img + (int8_t)data[3];
    size_t sizes[2] = {n0 > 0 ? (size_t)n0 : 0, (size_t)(data[2] % 4) * img};
    uint8_t *px = malloc(sizes[0] > sizes[1] ? sizes[0] + 1 : sizes[1] + 1);
    if (!px) fuzz_data_fail("malloc");
    for (size_t i = 0; i < sizes[0] || i < sizes[1]; i++) px[i] = (uint8_t)(i * 7 + data[1]);
    char rel[128];
    snprintf(rel, sizeof rel, "%s%s_X.bin", sub, first[split]);
    fuzz_tmp_put(rel, px, sizes[0]);
    if (split == MBT_SPLIT_TRAIN_UNLABELED) {
        snprintf(rel, sizeof rel, "%sunlabeled_X.bin", sub);
        fuzz_tmp_put(rel, px, sizes[1]);
    }
    free(px);
    if (split != MBT_SPLIT_UNLABELED) {
        snprintf(rel, sizeof rel, "%s%s_y.bin", sub, first[split]);
        fuzz_tmp_put(rel, data + 4, size - 4);
    }
    mbt_dataset *ds = NULL;
    mbt_status s = mbt_stl10_open(&ds, dir, split);
    fuzz_check_dataset(s, ds, 1);
    return 0;
}

/* MNIST / Fashion-MNIST idx files: byte 0 = mode (bit 0: Fashion-MNIST; bit 1: test split; bit 2:
 * the images file gzipped, bit 3: the labels file gzipped; bit 4: the images bytes written as the .gz
 * file as they are (a corrupt gzip); bit 5: torchvision's <name>/raw folder), then the images file,
 * FUZZ_SEP, the labels file. */
static int fuzz_idx_one(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0], fashion = mode & 1;
    mbt_split split = mode & 2 ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN;
    const char *dir = fuzz_tmp_reset();
    const char *sub = !(mode & 32) ? "" : fashion ? "FashionMNIST/raw/" : "MNIST/raw/";
    const char *prefix = split == MBT_SPLIT_TEST ? "t10k" : "train";
    const uint8_t *p = data + 1, *end = data + size;
    for (int k = 0; k < 2 && p; k++) {
        size_t len;
        const uint8_t *part = fuzz_next_part(&p, end, &len);
        int gz = k == 0 ? mode & (4 | 16) : mode & 8;
        char rel[128];
        snprintf(rel, sizeof rel, "%s%s-%s-idx%d-ubyte%s", sub, prefix, k ? "labels" : "images", k ? 1 : 3, gz ? ".gz" : "");
        if (gz && !(k == 0 && (mode & 16))) {
            size_t zlen;
            uint8_t *z = fuzz_gzip(part, len, &zlen);
            if (!z) fuzz_data_fail("malloc");
            fuzz_tmp_put(rel, z, zlen);
            free(z);
        } else {
            fuzz_tmp_put(rel, part, len);
        }
    }
    mbt_dataset *ds = NULL;
    mbt_status s = mbt_mnist_open(&ds, fashion, dir, split);
    fuzz_check_dataset(s, ds, 1);
    return 0;
}

/* The PPM / PGM decoder on the bytes of one file. */
static int fuzz_ppm_one(const uint8_t *data, size_t size) {
    mbt_image img = {0};
    mbt_status s = mbt_ppm_decode(data, size, "fuzz.ppm", &img);
    if (s != MBT_OK && !mbt_error_message()[0]) fuzz_data_fail("error without a message");
    if (s == MBT_OK) {
        if (img.width < 1 || img.height < 1 || !img.data) fuzz_data_fail("image size");
        if ((size_t)img.width * img.height * (data[1] == '6' ? 3 : 1) > size) fuzz_data_fail("more samples than bytes");
        volatile uint8_t c = img.data[(size_t)img.width * img.height * 3 - 1];
        (void)c;
    }
    mbt_image_free(&img);
    return 0;
}

/* The text lists of DTD, CUB-200-2011 and FGVC-Aircraft: byte 0 = mode (bits 0-1: DTD, CUB, Aircraft,
 * Aircraft in its archive's top folder; bit 2: test split), then the files separated by FUZZ_SEP:
 * DTD labels/train1.txt, val1.txt, test1.txt; CUB images.txt, image_class_labels.txt,
 * train_test_split.txt, classes.txt; Aircraft images_variant_trainval.txt, images_variant_test.txt,
 * images_box.txt. Missing parts are missing files. The images are not read (there are none). */
static int fuzz_lists_one(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const files[3][4] = {
        {"labels/train1.txt", "labels/val1.txt", "labels/test1.txt", NULL},
        {"images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt"},
        {"data/images_variant_trainval.txt", "data/images_variant_test.txt", "data/images_box.txt", NULL}};
    int kind = data[0] & 3, set = kind == 3 ? 2 : kind;
    mbt_split split = data[0] & 4 ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN;
    const char *dir = fuzz_tmp_reset();
    const uint8_t *p = data + 1, *end = data + size;
    for (int k = 0; k < 4 && files[set][k] && p; k++) {
        size_t len;
        const uint8_t *part = fuzz_next_part(&p, end, &len);
        char rel[128];
        snprintf(rel, sizeof rel, "%s%s", kind == 3 ? "fgvc-aircraft-2013b/" : "", files[set][k]);
        fuzz_tmp_put(rel, part, len);
    }
    mbt_dataset *ds = NULL;
    mbt_status s = set == 0 ? mbt_dtd_open(&ds, dir, split)
                   : set == 1 ? mbt_cub200_open(&ds, dir, split)
                              : mbt_aircraft_open(&ds, dir, split);
    fuzz_check_dataset(s, ds, 0);
    return 0;
}

/* Flowers-102: the bytes are imagelabels.mat (read through libmatio); both splits are opened. */
static int fuzz_mat_one(const uint8_t *data, size_t size) {
    const char *dir = fuzz_tmp_reset();
    fuzz_tmp_put("imagelabels.mat", data, size);
    for (int test = 0; test < 2; test++) {
        mbt_dataset *ds = NULL;
        mbt_status s = mbt_flowers102_open(&ds, dir, test ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN);
        fuzz_check_dataset(s, ds, 0);
        if (s != MBT_OK) break;
    }
    return 0;
}

#endif
