/* The table of dataset kinds, the lookups over it and the opener by name (see dataset_kind.h). */
#include "data/dataset_kind.h"

#include <stdio.h>
#include <string.h>

#include "data/dataset_impl.h"

/* Readers whose format serves two kinds. */
static mbt_status open_cifar10(mbt_dataset **ds, const char *dir, mbt_split split) {
    return mbt_cifar_open(ds, 10, dir, split);
}
static mbt_status open_cifar100(mbt_dataset **ds, const char *dir, mbt_split split) {
    return mbt_cifar_open(ds, 100, dir, split);
}
static mbt_status open_mnist(mbt_dataset **ds, const char *dir, mbt_split split) {
    return mbt_mnist_open(ds, 0, dir, split);
}
static mbt_status open_fashionmnist(mbt_dataset **ds, const char *dir, mbt_split split) {
    return mbt_mnist_open(ds, 1, dir, split);
}

#define PRE_EVAL (MBT_KIND_PRETRAIN | MBT_KIND_EVAL)
#define GRAY(m, s) {m, m, m}, {s, s, s}

/* Normalisation: data_statistics.py's get_data_mean_and_stdev; cifar10 / cifar100 0.5 (what the
 * reference's table evidently meant for them, SPEC quirk 6); "folder" has no statistics of its own:
 * 0.5 maps [0, 1] to [-1, 1]. Classes: its get_data_nclass, except FGVC-Aircraft (the reference says
 * 102, a slip for the 100 variants; the classifier has as many outputs as the data have classes).
 * The first N images of MNIST and Fashion-MNIST mix the classes like CIFAR's. */
static const mbt_dataset_kind KINDS[] = {
    /* name, alias, title, reader, recipe, subset rule, unlabeled, mixed sizes, mean, std, classes, uses */
    {"cifar10", NULL, "CIFAR-10", open_cifar10, "cifar", MBT_SUBSET_FIRST, 0, 0, GRAY(0.5f, 0.5f), 10, PRE_EVAL},
    {"cifar100", NULL, "CIFAR-100", open_cifar100, "cifar", MBT_SUBSET_FIRST, 0, 0, GRAY(0.5f, 0.5f), 100, PRE_EVAL},
    {"stl10", NULL, "STL-10", mbt_stl10_open, "stl10", MBT_SUBSET_FIRST, 1, 0, {0.491f, 0.482f, 0.447f},
     {0.247f, 0.244f, 0.262f}, 10, PRE_EVAL},
    {"tiny_imagenet", NULL, "Tiny-ImageNet", mbt_tiny_imagenet_open, "tiny_imagenet", MBT_SUBSET_SPREAD, 0, 0, {0}, {0},
     200, PRE_EVAL},
    /* evaluation only for now (knn, linear, embed): pretraining on it is the ImageNet recipe's, not built */
    {"imagenet", NULL, "ImageNet-1k", mbt_imagenet_open, "imagenet", MBT_SUBSET_SPREAD, 0, 1, {0}, {0}, 1000,
     MBT_KIND_EVAL},
    {"mnist", NULL, "MNIST", open_mnist, NULL, MBT_SUBSET_FIRST, 0, 0, GRAY(0.170f, 0.320f), 10, MBT_KIND_TRANSFER},
    {"fashionmnist", NULL, "Fashion-MNIST", open_fashionmnist, NULL, MBT_SUBSET_FIRST, 0, 0, GRAY(0.348f, 0.347f), 10,
     MBT_KIND_TRANSFER},
    {"dtd", NULL, "DTD", mbt_dtd_open, NULL, MBT_SUBSET_SPREAD, 0, 1, {0.533f, 0.474f, 0.426f},
     {0.261f, 0.250f, 0.259f}, 47, MBT_KIND_TRANSFER},
    {"cub200", "cu_birds", "CUB-200-2011", mbt_cub200_open, NULL, MBT_SUBSET_SPREAD, 0, 1, {0.483f, 0.491f, 0.424f},
     {0.228f, 0.224f, 0.259f}, 200, MBT_KIND_TRANSFER},
    {"flowers102", "vgg_flower", "Flowers-102", mbt_flowers102_open, NULL, MBT_SUBSET_SPREAD, 0, 1,
     {0.518f, 0.410f, 0.329f}, {0.296f, 0.249f, 0.285f}, 102, MBT_KIND_TRANSFER},
    {"gtsrb", "traffic_sign", "GTSRB", mbt_gtsrb_open, NULL, MBT_SUBSET_SPREAD, 0, 1, {0.335f, 0.291f, 0.295f},
     {0.267f, 0.249f, 0.251f}, 43, MBT_KIND_TRANSFER},
    {"aircraft", NULL, "FGVC-Aircraft", mbt_aircraft_open, NULL, MBT_SUBSET_SPREAD, 0, 1, {0.486f, 0.507f, 0.525f},
     {0.266f, 0.260f, 0.276f}, 100, MBT_KIND_TRANSFER},
    {"folder", NULL, "image folder", mbt_folder_open, NULL, MBT_SUBSET_SPREAD, 0, 1, GRAY(0.5f, 0.5f), 0,
     PRE_EVAL | MBT_KIND_TRANSFER},
};

#define N_KINDS ((int)(sizeof KINDS / sizeof *KINDS))

int mbt_dataset_kind_count(void) { return N_KINDS; }
const mbt_dataset_kind *mbt_dataset_kind_at(int i) { return i >= 0 && i < N_KINDS ? &KINDS[i] : NULL; }

const mbt_dataset_kind *mbt_dataset_kind_find(const char *name, int aliases) {
    for (int i = 0; name && i < N_KINDS; i++)
        if (!strcmp(name, KINDS[i].name) || (aliases && KINDS[i].alias && !strcmp(name, KINDS[i].alias)))
            return &KINDS[i];
    return NULL;
}

const char *mbt_dataset_kind_names(char *buf, size_t cap, unsigned uses, const char *sep, const char *alias_sep) {
    size_t len = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < N_KINDS && len < cap; i++) {
        const mbt_dataset_kind *k = &KINDS[i];
        if (uses && !(k->uses & uses)) continue;
        int alias = alias_sep && k->alias;
        int n = snprintf(buf + len, cap - len, "%s%s%s%s", len ? sep : "", k->name, alias ? alias_sep : "",
                         alias ? k->alias : "");
        len += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

mbt_status mbt_dataset_kind_get(const char *name, const mbt_dataset_kind **kind) {
    *kind = mbt_dataset_kind_find(name, 0);
    if (*kind) return MBT_OK;
    char names[256];
    return MBT_FAIL(MBT_ERR_ARG, "dataset '%s' is unknown (%s)", name ? name : "(none)",
                    mbt_dataset_kind_names(names, sizeof names, 0, ", ", NULL));
}

mbt_status mbt_dataset_open(mbt_dataset **ds, const char *name, const char *dir, mbt_split split) {
    *ds = NULL;
    if (!dir || !*dir) return MBT_FAIL(MBT_ERR_ARG, "--data: no folder given for dataset %s", name);
    if (!mbt_is_dir(dir)) return MBT_FAIL(MBT_ERR_IO, "--data %s: not a folder", dir);
    const mbt_dataset_kind *k;
    MBT_TRY(mbt_dataset_kind_get(name, &k));
    if ((split == MBT_SPLIT_UNLABELED || split == MBT_SPLIT_TRAIN_UNLABELED) && !k->unlabeled) {
        char with[128] = "";
        for (int i = 0; i < N_KINDS; i++)
            if (KINDS[i].unlabeled)
                snprintf(with + strlen(with), sizeof with - strlen(with), "%s%s", with[0] ? ", " : "", KINDS[i].name);
        return MBT_FAIL(MBT_ERR_ARG, "dataset %s has no unlabelled split (only %s has)", name, with);
    }
    return k->open(ds, dir, split);
}

mbt_status mbt_dataset_kind_recipe(const mbt_dataset_kind *k, const mbt_dataset *sample, int size,
                                   mbt_augment_recipe *recipe) {
    const char *name = k->recipe;
    if (!name) {
        mbt_dataset_reader rd = {0};
        mbt_image img = {0};
        mbt_status st = mbt_dataset_count(sample) > 0
                            ? mbt_dataset_image(sample, 0, &rd, &img)
                            : MBT_FAIL(MBT_ERR_FORMAT, "%s: no images", mbt_dataset_describe(sample));
        int big = img.width > 32 || img.height > 32;
        mbt_image_free(&img);
        mbt_dataset_reader_free(&rd);
        MBT_TRY(st);
        name = big ? "tiny_imagenet" : "cifar";
    }
    return mbt_augment_recipe_get(name, size, recipe);
}

mbt_status mbt_dataset_kind_subset(const mbt_dataset_kind *k, const mbt_dataset *base, int64_t count,
                                   mbt_dataset **out) {
    if (k->subset == MBT_SUBSET_SPREAD) return mbt_dataset_view_spread(out, base, count);
    return mbt_dataset_view(out, base, count);
}
