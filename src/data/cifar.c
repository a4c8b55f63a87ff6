/* CIFAR-10/100 in the official binary layout (records of label byte(s) + 3072 bytes of R, G, B planes)
 * and the python-pickle layout (dicts with 'data' uint8 [N, 3072] and 'labels' / 'fine_labels'). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "io/pickle.h"
#include "io/read_file.h"

#define CIFAR_PIXELS 3072

/* The label names of the archives' meta files (batches.meta.txt / label_names, fine_label_names.txt /
 * fine_label_names), in label order. */
static const char *const CIFAR10_NAMES[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};
static const char *const CIFAR100_NAMES[100] = {
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy",
    "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
    "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish",
    "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange",
    "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
    "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk",
    "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
};

typedef struct {
    uint8_t *pixels; /* count records of [3][32][32] */
} cifar_store;

static mbt_status cifar_read(const void *impl, int64_t i, mbt_dataset_reader *rd, mbt_image *img) {
    (void)rd;
    const cifar_store *c = impl;
    MBT_TRY(mbt_image_reserve(img, 32, 32));
    const uint8_t *src = c->pixels + (size_t)i * CIFAR_PIXELS;
    for (int p = 0; p < 1024; p++) {
        img->data[3 * p] = src[p];
        img->data[3 * p + 1] = src[1024 + p];
        img->data[3 * p + 2] = src[2048 + p];
    }
    return MBT_OK;
}

static void cifar_destroy(void *impl) {
    cifar_store *c = impl;
    if (c) free(c->pixels);
    free(c);
}

static const mbt_dataset_ops cifar_ops = {cifar_read, cifar_destroy};

/* Growing arrays of the images and labels read so far. */
typedef struct {
    uint8_t *pixels;
    int32_t *labels;
    int64_t count, cap;
} accum;

static mbt_status accum_reserve(accum *a, int64_t more, const char *path) {
    if (a->count + more <= a->cap) return MBT_OK;
    int64_t cap = a->cap ? a->cap : 1024;
    while (cap < a->count + more) cap *= 2;
    uint8_t *p = realloc(a->pixels, (size_t)cap * CIFAR_PIXELS);
    if (p) a->pixels = p;
    int32_t *l = realloc(a->labels, (size_t)cap * sizeof(int32_t));
    if (l) a->labels = l;
    if (!p || !l) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory for %lld images", path, (long long)(a->count + more));
    a->cap = cap;
    return MBT_OK;
}

static mbt_status read_binary(accum *a, const char *path, int classes) {
    int label_bytes = classes == 100 ? 2 : 1;
    size_t rec = (size_t)label_bytes + CIFAR_PIXELS;
    void *buf;
    size_t len;
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file", path);
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    mbt_status st = MBT_OK;
    if (len == 0 || len % rec != 0) {
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: wrong size, %zu bytes is not a whole number of %zu-byte CIFAR-%d records", path,
                      len, rec, classes);
    } else {
        int64_t n = (int64_t)(len / rec);
        st = accum_reserve(a, n, path);
        const uint8_t *b = buf;
        for (int64_t r = 0; st == MBT_OK && r < n; r++) {
            const uint8_t *recp = b + (size_t)r * rec;
            int label = recp[label_bytes - 1]; /* CIFAR-100: coarse, then fine */
            if (label >= classes) {
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: bad label %d in record %lld (expected 0..%d)", path, label, (long long)r,
                              classes - 1);
                break;
            }
            a->labels[a->count] = label;
            memcpy(a->pixels + (size_t)a->count * CIFAR_PIXELS, recp + label_bytes, CIFAR_PIXELS);
            a->count++;
        }
    }
    free(buf);
    return st;
}

static mbt_status read_pickle_values(accum *a, const char *path, int classes, const mbt_pickle *p) {
    const mbt_pvalue *root = mbt_pickle_root(p);
    if (mbt_pvalue_kind(root) != MBT_PV_DICT)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: expected a dict at the top of the pickle, found a %s", path,
                        mbt_pv_kind_name(mbt_pvalue_kind(root)));
    const char *label_key = classes == 100 ? "fine_labels" : "labels";
    const mbt_pvalue *data = mbt_pvalue_dict_get(root, "data"), *labels = mbt_pvalue_dict_get(root, label_key);
    if (!data || !labels) return MBT_FAIL(MBT_ERR_FORMAT, "%s: the dict has no '%s' entry", path, data ? label_key : "data");
    int ndim;
    int64_t shape[MBT_SD_MAX_DIMS];
    const uint8_t *px;
    mbt_status st = mbt_pvalue_ndarray_u8(data, &ndim, shape, &px);
    if (st != MBT_OK) return MBT_FAIL(st, "%s: 'data': %s", path, mbt_error_message());
    if (ndim != 2 || shape[1] != CIFAR_PIXELS)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: 'data' has %d dims (%lld columns); expected [N, 3072]", path, ndim,
                        (long long)(ndim > 1 ? shape[1] : 0));
    int64_t *lab;
    size_t nlab;
    st = mbt_pvalue_int_list(labels, &lab, &nlab);
    if (st != MBT_OK) return MBT_FAIL(st, "%s: '%s': %s", path, label_key, mbt_error_message());
    if ((int64_t)nlab != shape[0]) {
        free(lab);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: %zu labels for %lld images", path, nlab, (long long)shape[0]);
    }
    st = accum_reserve(a, shape[0], path);
    for (int64_t r = 0; st == MBT_OK && r < shape[0]; r++) {
        if (lab[r] < 0 || lab[r] >= classes) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: bad label %lld for image %lld (expected 0..%d)", path, (long long)lab[r],
                          (long long)r, classes - 1);
            break;
        }
        a->labels[a->count] = (int32_t)lab[r];
        memcpy(a->pixels + (size_t)a->count * CIFAR_PIXELS, px + (size_t)r * CIFAR_PIXELS, CIFAR_PIXELS);
        a->count++;
    }
    free(lab);
    return st;
}

static mbt_status read_pickle(accum *a, const char *path, int classes) {
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file", path);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    mbt_pickle *p;
    mbt_status st = mbt_pickle_parse(&p, buf, len, MBT_PICKLE_NUMPY, path);
    if (st == MBT_OK) {
        st = read_pickle_values(a, path, classes, p);
        mbt_pickle_destroy(p);
    }
    free(buf);
    return st;
}

/* The folder holding the split's files and whether they are pickles; 0 if none is found. */
static int locate(const char *dir, int classes, mbt_split split, char *root, size_t n, int *pickle) {
    int test = split == MBT_SPLIT_TEST;
    const char *bin_marker = classes == 10 ? (test ? "test_batch.bin" : "data_batch_1.bin") : (test ? "test.bin" : "train.bin");
    const char *py_marker = classes == 10 ? (test ? "test_batch" : "data_batch_1") : (test ? "test" : "train");
    const char *bin_sub = classes == 10 ? "cifar-10-batches-bin" : "cifar-100-binary";
    const char *py_sub = classes == 10 ? "cifar-10-batches-py" : "cifar-100-python";
    const char *subs[3] = {"", bin_sub, py_sub};
    char path[4200];
    for (int s = 0; s < 3; s++) {
        char base[4096];
        if (*subs[s]) snprintf(base, sizeof base, "%s/%s", dir, subs[s]);
        else snprintf(base, sizeof base, "%s", dir);
        for (int py = 0; py < 2; py++) {
            snprintf(path, sizeof path, "%s/%s", base, py ? py_marker : bin_marker);
            if (mbt_is_file(path)) {
                snprintf(root, n, "%s", base);
                *pickle = py;
                return 1;
            }
        }
    }
    return 0;
}

mbt_status mbt_cifar_open(mbt_dataset **ds, int classes, const char *dir, mbt_split split) {
    char root[4096];
    int pickle;
    if (!locate(dir, classes, split, root, sizeof root, &pickle)) {
        if (classes == 10)
            return MBT_FAIL(MBT_ERR_IO,
                            "--data %s: no CIFAR-10 files found (expected data_batch_1.bin .. 5.bin and test_batch.bin, "
                            "or the pickles data_batch_1 .. 5 and test_batch, here or in cifar-10-batches-bin/ or "
                            "cifar-10-batches-py/)",
                            dir);
        return MBT_FAIL(MBT_ERR_IO,
                        "--data %s: no CIFAR-100 files found (expected train.bin and test.bin, or the pickles train and "
                        "test, here or in cifar-100-binary/ or cifar-100-python/)",
                        dir);
    }
    const char *names[5];
    int nfiles;
    if (classes == 10 && split != MBT_SPLIT_TEST) {
        static const char *const bin[5] = {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"};
        for (int i = 0; i < 5; i++) names[i] = bin[i];
        nfiles = 5;
    } else {
        names[0] = classes == 10 ? "test_batch" : (split == MBT_SPLIT_TEST ? "test" : "train");
        nfiles = 1;
    }
    accum a = {0};
    mbt_status st = MBT_OK;
    for (int f = 0; f < nfiles && st == MBT_OK; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s%s", root, names[f], pickle ? "" : ".bin");
        st = pickle ? read_pickle(&a, path, classes) : read_binary(&a, path, classes);
    }
    cifar_store *store = calloc(1, sizeof *store);
    if (st == MBT_OK && !store) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", root);
    if (st != MBT_OK) {
        free(store);
        free(a.pixels);
        free(a.labels);
        return st;
    }
    store->pixels = a.pixels;
    char desc[4400];
    snprintf(desc, sizeof desc, "CIFAR-%d %s (%s) %s", classes, split == MBT_SPLIT_TEST ? "test" : "train",
             pickle ? "python pickle" : "binary", root);
    return mbt_dataset_wrap(ds, &cifar_ops, store, a.labels, a.count, classes,
                            classes == 10 ? CIFAR10_NAMES : CIFAR100_NAMES, 1, desc);
}
