/* STL-10 binary files: X files of uint8 images stored column-major ([3][96 columns][96 rows] per image,
 * read as torchvision's STL10 does), y files of uint8 labels 1..10; X files are memory-mapped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset_impl.h"
#include "io/read_file.h"

#define STL_SIDE 96
#define STL_BYTES (3 * STL_SIDE * STL_SIDE)

typedef struct {
    const uint8_t *map[2]; /* train/test or unlabeled X file; the second part of train+unlabeled */
    size_t map_len[2];
    int64_t part_count[2];
} stl_store;

static mbt_status stl_read(const void *impl, int64_t i, mbt_dataset_reader *rd, mbt_image *img) {
    (void)rd;
    const stl_store *s = impl;
    int part = i >= s->part_count[0];
    const uint8_t *src = s->map[part] + (size_t)(i - (part ? s->part_count[0] : 0)) * STL_BYTES;
    MBT_TRY(mbt_image_reserve(img, STL_SIDE, STL_SIDE));
    for (int c = 0; c < 3; c++) {
        const uint8_t *plane = src + (size_t)c * STL_SIDE * STL_SIDE;
        for (int x = 0; x < STL_SIDE; x++)
            for (int y = 0; y < STL_SIDE; y++) img->data[((size_t)y * STL_SIDE + x) * 3 + c] = plane[x * STL_SIDE + y];
    }
    return MBT_OK;
}

static void stl_destroy(void *impl) {
    stl_store *s = impl;
    if (!s) return;
    for (int p = 0; p < 2; p++)
        if (s->map[p]) munmap((void *)s->map[p], s->map_len[p]);
    free(s);
}

static const mbt_dataset_ops stl_ops = {stl_read, stl_destroy};

static mbt_status map_images(const char *path, const uint8_t **map, size_t *len, int64_t *count) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return MBT_FAIL(MBT_ERR_IO, "%s: missing file (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot stat (%s)", path, strerror(errno));
    }
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % STL_BYTES != 0) {
        close(fd);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: wrong size, %zu bytes is not a whole number of %d-byte 96x96x3 images", path,
                        size, STL_BYTES);
    }
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return MBT_FAIL(MBT_ERR_IO, "%s: cannot map (%s)", path, strerror(errno));
    *map = m;
    *len = size;
    *count = (int64_t)(size / STL_BYTES);
    return MBT_OK;
}

static mbt_status read_labels(const char *path, int64_t expected, int32_t *out) {
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file", path);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    mbt_status st = MBT_OK;
    if ((int64_t)len != expected) {
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: wrong size, %zu labels for %lld images", path, len, (long long)expected);
    } else {
        const uint8_t *b = buf;
        for (int64_t i = 0; i < expected; i++) {
            if (b[i] < 1 || b[i] > 10) {
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: bad label %d for image %lld (expected 1..10)", path, b[i], (long long)i);
                break;
            }
            out[i] = b[i] - 1;
        }
    }
    free(buf);
    return st;
}

mbt_status mbt_stl10_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    char root[4096], x[4200], y[4200];
    snprintf(root, sizeof root, "%s/stl10_binary", dir);
    if (!mbt_is_dir(root)) snprintf(root, sizeof root, "%s", dir);
    stl_store *s = calloc(1, sizeof *s);
    if (!s) return MBT_FAIL(MBT_ERR_NOMEM, "STL-10: out of memory");
    const char *first = split == MBT_SPLIT_TEST ? "test" : split == MBT_SPLIT_UNLABELED ? "unlabeled" : "train";
    snprintf(x, sizeof x, "%s/%s_X.bin", root, first);
    mbt_status st = map_images(x, &s->map[0], &s->map_len[0], &s->part_count[0]);
    if (st == MBT_OK && split == MBT_SPLIT_TRAIN_UNLABELED) {
        snprintf(x, sizeof x, "%s/unlabeled_X.bin", root);
        st = map_images(x, &s->map[1], &s->map_len[1], &s->part_count[1]);
    }
    int64_t count = s->part_count[0] + s->part_count[1];
    int32_t *labels = st == MBT_OK ? malloc((size_t)count * sizeof(int32_t)) : NULL;
    if (st == MBT_OK && !labels) st = MBT_FAIL(MBT_ERR_NOMEM, "STL-10: out of memory for %lld labels", (long long)count);
    if (st == MBT_OK) {
        if (split == MBT_SPLIT_UNLABELED) {
            for (int64_t i = 0; i < count; i++) labels[i] = -1;
        } else {
            snprintf(y, sizeof y, "%s/%s_y.bin", root, first);
            st = read_labels(y, s->part_count[0], labels);
            for (int64_t i = s->part_count[0]; i < count; i++) labels[i] = -1;
        }
    }
    if (st != MBT_OK) {
        stl_destroy(s);
        free(labels);
        return st;
    }
    static const char *const split_names[4] = {"train", "test", "unlabeled", "train+unlabeled"};
    char desc[4400];
    snprintf(desc, sizeof desc, "STL-10 %s %s", split_names[split], root);
    /* class_names.txt of the archive */
    static const char *const names[10] = {"airplane", "bird", "car",   "cat",  "deer",
                                          "dog",      "horse", "monkey", "ship", "truck"};
    return mbt_dataset_wrap(ds, &stl_ops, s, labels, count, 10, names, 1, desc);
}
