/* MNIST and Fashion-MNIST in their official idx files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), gzipped (.gz, as published) or not; 28x28 gray
 * images replicated to RGB as the reference's Image.fromarray(img, mode='L').convert('RGB') does.
 * Gzip is read through libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "io/read_file.h"

#define IDX_MAX_BYTES ((size_t)1 << 31)

static const char *const MNIST_NAMES[10] = {"0 - zero", "1 - one", "2 - two",   "3 - three", "4 - four",
                                            "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"};
static const char *const FASHION_NAMES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

typedef struct {
    uint8_t *pixels; /* count images of rows x cols bytes */
    int rows, cols;
} idx_store;

static mbt_status idx_read(const void *impl, int64_t i, mbt_dataset_reader *rd, mbt_image *img) {
    (void)rd;
    const idx_store *s = impl;
    MBT_TRY(mbt_image_reserve(img, s->cols, s->rows));
    size_t n = (size_t)s->rows * s->cols;
    const uint8_t *src = s->pixels + (size_t)i * n;
    for (size_t p = 0; p < n; p++) img->data[3 * p] = img->data[3 * p + 1] = img->data[3 * p + 2] = src[p];
    return MBT_OK;
}

static void idx_destroy(void *impl) {
    idx_store *s = impl;
    if (s) free(s->pixels);
    free(s);
}

static const mbt_dataset_ops idx_ops = {idx_read, idx_destroy};

/* The whole decompressed contents of a gzip file. */
static mbt_status read_gzip(const char *path, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    struct archive *a = archive_read_new();
    if (!a) return MBT_FAIL(MBT_ERR_NOMEM, "%s: libarchive could not allocate a reader", path);
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    mbt_status st = MBT_OK;
    size_t cap = 0;
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: cannot read as gzip: %s", path, archive_error_string(a));
    } else {
        for (;;) {
            if (*len == cap) {
                cap = cap ? 2 * cap : (size_t)1 << 20;
                uint8_t *p = cap <= IDX_MAX_BYTES ? realloc(*buf, cap) : NULL;
                if (!p) {
                    st = cap > IDX_MAX_BYTES ? MBT_FAIL(MBT_ERR_FORMAT, "%s: decompresses to more than 2 GB", path)
                                             : MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
                    break;
                }
                *buf = p;
            }
            la_ssize_t got = archive_read_data(a, *buf + *len, cap - *len);
            if (got < 0) {
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: corrupt gzip data: %s", path, archive_error_string(a));
                break;
            }
            if (got == 0) break;
            *len += (size_t)got;
        }
    }
    archive_read_free(a);
    if (st != MBT_OK) {
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return st;
}

/* Reads folder/name, or folder/name.gz when only that exists; *used receives the path read. */
static mbt_status read_idx_file(const char *folder, const char *name, uint8_t **buf, size_t *len, char *used,
                                size_t used_n) {
    snprintf(used, used_n, "%s/%s", folder, name);
    if (mbt_is_file(used)) {
        void *b;
        MBT_TRY(mbt_read_file(used, IDX_MAX_BYTES, &b, len));
        *buf = b;
        return MBT_OK;
    }
    snprintf(used, used_n, "%s/%s.gz", folder, name);
    if (mbt_is_file(used)) return read_gzip(used, buf, len);
    return MBT_FAIL(MBT_ERR_IO, "%s/%s: missing file (nor %s.gz)", folder, name, name);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* The folder holding the idx files: dir, torchvision's dir/<MNIST|FashionMNIST>/raw, or dir/raw
 * (the first holding probe_name or probe_name.gz; dir when none does, for the error message). */
static void find_folder(const char *dir, const char *torch_name, const char *probe_name, char *out, size_t n) {
    char cand[4200], probe[4400];
    for (int k = 0; k < 3; k++) {
        if (k == 0) snprintf(cand, sizeof cand, "%s", dir);
        else if (k == 1) snprintf(cand, sizeof cand, "%s/%s/raw", dir, torch_name);
        else snprintf(cand, sizeof cand, "%s/raw", dir);
        snprintf(probe, sizeof probe, "%s/%s", cand, probe_name);
        int found = mbt_is_file(probe);
        snprintf(probe, sizeof probe, "%s/%s.gz", cand, probe_name);
        if (found || mbt_is_file(probe)) {
            snprintf(out, n, "%s", cand);
            return;
        }
    }
    snprintf(out, n, "%s", dir);
}

mbt_status mbt_mnist_open(mbt_dataset **ds, int fashion, const char *dir, mbt_split split) {
    *ds = NULL;
    const char *prefix = split == MBT_SPLIT_TEST ? "t10k" : "train";
    const char *title = fashion ? "Fashion-MNIST" : "MNIST";
    char images_name[64], labels_name[64], folder[4200], ipath[4400], lpath[4400];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
    find_folder(dir, fashion ? "FashionMNIST" : "MNIST", images_name, folder, sizeof folder);
    uint8_t *ib = NULL, *lb = NULL;
    size_t ilen = 0, llen = 0;
    mbt_status st = read_idx_file(folder, images_name, &ib, &ilen, ipath, sizeof ipath);
    if (st == MBT_OK) st = read_idx_file(folder, labels_name, &lb, &llen, lpath, sizeof lpath);
    int64_t n = 0;
    int rows = 0, cols = 0;
    if (st == MBT_OK) {
        if (ilen < 16 || be32(ib) != 0x00000803)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: not an idx3 image file (magic 0x00000803 expected)", ipath);
        else if (llen < 8 || be32(lb) != 0x00000801)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: not an idx1 label file (magic 0x00000801 expected)", lpath);
    }
    if (st == MBT_OK) {
        n = be32(ib + 4);
        uint32_t r = be32(ib + 8), c = be32(ib + 12);
        if (r < 1 || c < 1 || r > 4096 || c > 4096)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: bad image size %ux%u", ipath, c, r);
        else if (ilen != 16 + (size_t)n * r * c)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: wrong size, %zu bytes for %lld images of %ux%u (%zu expected)", ipath, ilen,
                          (long long)n, c, r, 16 + (size_t)n * r * c);
        else if (be32(lb + 4) != (uint32_t)n)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: %u labels for the %lld images of %s", lpath, be32(lb + 4), (long long)n, ipath);
        else if (llen != 8 + (size_t)n)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: wrong size, %zu bytes for %lld labels (%zu expected)", lpath, llen,
                          (long long)n, 8 + (size_t)n);
        else if (n == 0)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no images", ipath);
        rows = (int)r;
        cols = (int)c;
    }
    int32_t *labels = NULL;
    idx_store *s = NULL;
    if (st == MBT_OK) {
        labels = malloc((size_t)n * sizeof *labels);
        s = calloc(1, sizeof *s);
        if (!labels || !s) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", ipath);
    }
    for (int64_t i = 0; st == MBT_OK && i < n; i++) {
        if (lb[8 + i] > 9) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: bad label %d of image %lld (0..9 expected)", lpath, lb[8 + i], (long long)i);
        else labels[i] = lb[8 + i];
    }
    free(lb);
    if (st != MBT_OK) {
        free(ib);
        free(labels);
        free(s);
        return st;
    }
    /* the pixels stay in the file's buffer, after the 16-byte header */
    memmove(ib, ib + 16, ilen - 16);
    s->pixels = ib;
    s->rows = rows;
    s->cols = cols;
    char desc[4600];
    snprintf(desc, sizeof desc, "%s %s (idx) %s", title, split == MBT_SPLIT_TEST ? "test" : "train", folder);
    return mbt_dataset_wrap(ds, &idx_ops, s, labels, n, 10, fashion ? FASHION_NAMES : MNIST_NAMES, 1, desc);
}
