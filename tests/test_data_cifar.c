/* CIFAR-10/100 datasets from files the test writes: the binary layout (records of label byte(s) and
 * R, G, B planes) and the python-pickle layout (a Python 2 cPickle protocol-2 dict with a numpy array,
 * written opcode by opcode here), found directly or through the archive's top folder; counts, labels
 * (CIFAR-100: the fine label), pixels in HWC order, first-N views, and the errors. */
#include "test_data_util.h"

#include <stdint.h>

#include "data/dataset.h"

/* The pixel of record r of file f at plane offset k (deterministic, varied). */
static uint8_t px(int f, int r, int k) { return (uint8_t)(f * 71 + r * 29 + k * 7 + (k >> 10) * 13); }
static int label_of(int f, int r, int classes) { return (f * 7 + r * 3) % classes; }

static void write_bin(const char *dir, const char *name, int f, int n, int classes) {
    int lb = classes == 100 ? 2 : 1;
    size_t rec = (size_t)lb + 3072;
    uint8_t *buf = malloc(rec * n);
    for (int r = 0; r < n; r++) {
        uint8_t *p = buf + rec * r;
        if (lb == 2) p[0] = (uint8_t)(label_of(f, r, classes) % 20); /* coarse */
        p[lb - 1] = (uint8_t)label_of(f, r, classes);
        for (int k = 0; k < 3072; k++) p[lb + k] = px(f, r, k);
    }
    write_bytes(dir, name, buf, rec * n);
    free(buf);
}

/* ---- a Python 2 style pickle: {'batch_label': ..., 'labels': [...], 'data': ndarray uint8 [n, 3072]} */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} bytes;
static void put(bytes *o, const void *p, size_t n) {
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->b = realloc(o->b, o->cap);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void op(bytes *o, uint8_t c) { put(o, &c, 1); }
static void short_str(bytes *o, const char *s) { /* SHORT_BINSTRING */
    op(o, 'U');
    op(o, (uint8_t)strlen(s));
    put(o, s, strlen(s));
}
static void int1(bytes *o, int v) { /* BININT1 or BININT2 */
    if (v < 256) {
        op(o, 'K');
        op(o, (uint8_t)v);
    } else {
        op(o, 'M');
        op(o, (uint8_t)(v & 255));
        op(o, (uint8_t)(v >> 8));
    }
}
static void int4(bytes *o, int32_t v) {
    op(o, 'J');
    put(o, &v, 4);
}

static void write_pickle(const char *dir, const char *name, int f, int n, int classes) {
    bytes o = {0};
    op(&o, 0x80), op(&o, 2);      /* PROTO 2 */
    op(&o, '}');                  /* EMPTY_DICT */
    op(&o, '(');                  /* MARK */
    short_str(&o, "batch_label");
    short_str(&o, "training batch");
    const char *keys[2] = {classes == 100 ? "fine_labels" : "labels", classes == 100 ? "coarse_labels" : NULL};
    for (int k = 0; k < 2 && keys[k]; k++) {
        short_str(&o, keys[k]);
        op(&o, ']'), op(&o, '('); /* EMPTY_LIST, MARK */
        for (int r = 0; r < n; r++) int1(&o, k ? label_of(f, r, classes) % 20 : label_of(f, r, classes));
        op(&o, 'e');              /* APPENDS */
    }
    short_str(&o, "data");
    const char *g1 = "cnumpy.core.multiarray\n_reconstruct\n", *g2 = "cnumpy\nndarray\n", *g3 = "cnumpy\ndtype\n";
    put(&o, g1, strlen(g1));
    put(&o, g2, strlen(g2));
    int1(&o, 0);
    op(&o, 0x85);                 /* TUPLE1 */
    short_str(&o, "b");
    op(&o, 0x87);                 /* TUPLE3 */
    op(&o, 'R');                  /* REDUCE */
    op(&o, '(');
    int1(&o, 1);
    int1(&o, n), int1(&o, 3072);
    op(&o, 0x86);                 /* TUPLE2: the shape */
    put(&o, g3, strlen(g3));
    short_str(&o, "u1");
    int1(&o, 0), int1(&o, 1);
    op(&o, 0x87), op(&o, 'R');
    op(&o, '(');
    int1(&o, 3);
    short_str(&o, "|");
    op(&o, 'N'), op(&o, 'N'), op(&o, 'N');
    int4(&o, -1), int4(&o, -1);
    int1(&o, 0);
    op(&o, 't'), op(&o, 'b');     /* TUPLE, BUILD: the dtype's state */
    op(&o, 0x89);                 /* NEWFALSE: not Fortran order */
    op(&o, 'T');                  /* BINSTRING: the bytes */
    int32_t len = n * 3072;
    put(&o, &len, 4);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < 3072; k++) op(&o, px(f, r, k));
    op(&o, 't'), op(&o, 'b');     /* TUPLE, BUILD: the array's state */
    op(&o, 'u');                  /* SETITEMS */
    op(&o, '.');                  /* STOP */
    write_bytes(dir, name, o.b, o.n);
    free(o.b);
}

/* Checks count, classes, labels and pixels: image i is record (file, r) in order. */
static void check_dataset(mbt_dataset *ds, int classes, int nfiles, const int *per_file, int first_file) {
    int total = 0;
    for (int f = 0; f < nfiles; f++) total += per_file[f];
    CHECK(mbt_dataset_count(ds) == total);
    CHECK(mbt_dataset_num_classes(ds) == classes);
    CHECK(mbt_dataset_in_memory(ds) == 1);
    /* the archives' meta names: label 0, a middle one, the last; out of range gives NULL */
    const char *n0 = mbt_dataset_class_name(ds, 0), *n3 = mbt_dataset_class_name(ds, 3);
    const char *nl = mbt_dataset_class_name(ds, classes - 1);
    CHECK_MSG(n0 && n3 && nl && !strcmp(n0, classes == 10 ? "airplane" : "apple") &&
                  !strcmp(n3, classes == 10 ? "cat" : "bear") && !strcmp(nl, classes == 10 ? "truck" : "worm"),
              "class names %s, %s, %s", n0 ? n0 : "NULL", n3 ? n3 : "NULL", nl ? nl : "NULL");
    CHECK(mbt_dataset_class_name(ds, classes) == NULL && mbt_dataset_class_name(ds, -1) == NULL);
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    long bad_labels = 0, bad_pixels = 0;
    int i = 0;
    for (int f = 0; f < nfiles; f++)
        for (int r = 0; r < per_file[f]; r++, i++) {
            bad_labels += mbt_dataset_label(ds, i) != label_of(first_file + f, r, classes);
            if (!CHECK_OK(mbt_dataset_image(ds, i, &rd, &img))) continue;
            CHECK(img.width == 32 && img.height == 32);
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    for (int c = 0; c < 3; c++)
                        bad_pixels += img.data[(y * 32 + x) * 3 + c] != px(first_file + f, r, c * 1024 + y * 32 + x);
        }
    CHECK_MSG(bad_labels == 0, "%ld wrong labels", bad_labels);
    CHECK_MSG(bad_pixels == 0, "%ld wrong pixels", bad_pixels);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
}

int main(void) {
    char dir[4096], sub[4200], path[4300];
    if (tmp_folder(dir, sizeof dir, "cifar") != 0) {
        CHECK(0);
        return check_report("test_data_cifar");
    }
    const int per_file[5] = {3, 1, 4, 2, 5}, test_n[1] = {6};
    mbt_dataset *ds;

    /* CIFAR-10 binary, in the archive's top folder */
    snprintf(sub, sizeof sub, "%s/c10/cifar-10-batches-bin", dir);
    for (int f = 0; f < 5; f++) {
        snprintf(path, sizeof path, "c10/cifar-10-batches-bin/data_batch_%d.bin", f + 1);
        write_bin(dir, path, f, per_file[f], 10);
    }
    write_bin(dir, "c10/cifar-10-batches-bin/test_batch.bin", 9, 6, 10);
    snprintf(path, sizeof path, "%s/c10", dir);
    if (CHECK_OK(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN))) {
        check_dataset(ds, 10, 5, per_file, 0);
        CHECK(strstr(mbt_dataset_describe(ds), "binary") != NULL);
        mbt_dataset *v;
        if (CHECK_OK(mbt_dataset_view(&v, ds, 4))) { /* the first 4: file 1's 3 records, file 2's first */
            mbt_dataset_destroy(ds);                /* the view keeps the storage alive */
            const int first4[2] = {3, 1};
            check_dataset(v, 10, 2, first4, 0);
            mbt_dataset_destroy(v);
        } else {
            mbt_dataset_destroy(ds);
        }
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "cifar10", sub, MBT_SPLIT_TEST))) { /* the folder with the files */
        check_dataset(ds, 10, 1, test_n, 9);
        mbt_dataset_destroy(ds);
    }

    /* CIFAR-10 python pickles: the same records */
    for (int f = 0; f < 5; f++) {
        snprintf(path, sizeof path, "c10py/cifar-10-batches-py/data_batch_%d", f + 1);
        write_pickle(dir, path, f, per_file[f], 10);
    }
    write_pickle(dir, "c10py/cifar-10-batches-py/test_batch", 9, 6, 10);
    snprintf(path, sizeof path, "%s/c10py", dir);
    if (CHECK_OK(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN))) {
        check_dataset(ds, 10, 5, per_file, 0);
        CHECK(strstr(mbt_dataset_describe(ds), "pickle") != NULL);
        mbt_dataset_destroy(ds);
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TEST))) {
        check_dataset(ds, 10, 1, test_n, 9);
        mbt_dataset_destroy(ds);
    }

    /* CIFAR-100, binary (coarse then fine label byte) and pickle (fine_labels) */
    write_bin(dir, "c100/cifar-100-binary/train.bin", 3, 7, 100);
    write_bin(dir, "c100/cifar-100-binary/test.bin", 4, 2, 100);
    write_pickle(dir, "c100py/cifar-100-python/train", 3, 7, 100);
    write_pickle(dir, "c100py/cifar-100-python/test", 4, 2, 100);
    const char *c100[2] = {"c100", "c100py"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, c100[k]);
        const int n7[1] = {7}, n2[1] = {2};
        if (CHECK_OK(mbt_dataset_open(&ds, "cifar100", path, MBT_SPLIT_TRAIN))) {
            check_dataset(ds, 100, 1, n7, 3);
            mbt_dataset_destroy(ds);
        }
        if (CHECK_OK(mbt_dataset_open(&ds, "cifar100", path, MBT_SPLIT_TEST))) {
            check_dataset(ds, 100, 1, n2, 4);
            mbt_dataset_destroy(ds);
        }
    }

    /* errors: one line naming the file and what is wrong */
    snprintf(path, sizeof path, "%s/empty", dir);
    mkdir(path, 0777);
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN), MBT_ERR_IO, path, "no CIFAR-10 files");
    expect_error(mbt_dataset_open(&ds, "cifar100", path, MBT_SPLIT_TRAIN), MBT_ERR_IO, path, "no CIFAR-100 files");
    expect_error(mbt_dataset_open(&ds, "cifar10", "/nonexistent/dir", MBT_SPLIT_TRAIN), MBT_ERR_IO, "/nonexistent/dir",
                 "not a folder");
    expect_error(mbt_dataset_open(&ds, "imagenet21k", path, MBT_SPLIT_TRAIN), MBT_ERR_ARG, "imagenet21k", "unknown");
    write_bin(dir, "bad/data_batch_1.bin", 0, 2, 10);
    write_bin(dir, "bad/data_batch_2.bin", 0, 2, 10);
    snprintf(path, sizeof path, "%s/bad", dir);
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN), MBT_ERR_IO, "data_batch_3.bin", "missing file");
    write_bin(dir, "bad/data_batch_3.bin", 0, 2, 10);
    write_bin(dir, "bad/data_batch_4.bin", 0, 2, 10);
    uint8_t junk[3074] = {0};
    write_bytes(dir, "bad/data_batch_5.bin", junk, sizeof junk);
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, "data_batch_5.bin", "wrong size");
    uint8_t rec[3073] = {12}; /* one record with label 12 */
    write_bytes(dir, "bad/data_batch_5.bin", rec, sizeof rec);
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, "data_batch_5.bin", "bad label 12");
    write_bytes(dir, "badpy/test_batch", "\x80\x02}.", 4); /* a dict without 'data' */
    snprintf(path, sizeof path, "%s/badpy", dir);
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "test_batch", "'data'");
    write_bytes(dir, "badpy/test_batch", "\x80\x02]q\x01.", 6); /* a list */
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "test_batch", "dict");
    expect_error(mbt_dataset_open(&ds, "cifar10", path, MBT_SPLIT_TRAIN_UNLABELED), MBT_ERR_ARG, "cifar10", "unlabelled");

    rm_tree(dir);
    return check_report("test_data_cifar");
}
