/* STL-10 binary datasets from files the test writes: the column-major image layout (pixel (y, x, c) at
 * c*9216 + x*96 + y, as torchvision's STL10 transposes it), labels 1..10 -> 0..9, the splits (train,
 * test, unlabeled, train+unlabeled with label -1), the stl10_binary/ folder, and the errors. */
#include "test_data_util.h"

#include <stdint.h>

#include "data/dataset.h"

#define SIDE 96
#define IMG (3 * SIDE * SIDE)

static uint8_t stored(int img, int k) { return (uint8_t)(img * 37 + k * 11 + (k / 97) * 5); }

static void write_split(const char *dir, const char *name, int first, int n, int labels) {
    uint8_t *x = malloc((size_t)n * IMG);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < IMG; k++) x[(size_t)i * IMG + k] = stored(first + i, k);
    char path[256];
    snprintf(path, sizeof path, "stl10_binary/%s_X.bin", name);
    write_bytes(dir, path, x, (size_t)n * IMG);
    free(x);
    if (!labels) return;
    uint8_t y[64];
    for (int i = 0; i < n; i++) y[i] = (uint8_t)(1 + (first + i) % 10);
    snprintf(path, sizeof path, "stl10_binary/%s_y.bin", name);
    write_bytes(dir, path, y, (size_t)n);
}

/* Image i of ds is stored image first + i; labelled ones have label (first + i) % 10. */
static void check_split(mbt_dataset *ds, int first, int n, int labelled) {
    CHECK(mbt_dataset_count(ds) == n);
    CHECK(mbt_dataset_num_classes(ds) == 10);
    CHECK(mbt_dataset_in_memory(ds) == 1);
    /* class_names.txt of the archive: label 7 is monkey (labels 1..10 in the files: 8) */
    const char *n0 = mbt_dataset_class_name(ds, 0), *n7 = mbt_dataset_class_name(ds, 7);
    CHECK_MSG(n0 && n7 && !strcmp(n0, "airplane") && !strcmp(n7, "monkey"), "class names %s, %s", n0 ? n0 : "NULL",
              n7 ? n7 : "NULL");
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    long bad = 0, bad_labels = 0;
    for (int i = 0; i < n; i++) {
        int id = first + i;
        bad_labels += mbt_dataset_label(ds, i) != (i < labelled ? id % 10 : -1);
        if (!CHECK_OK(mbt_dataset_image(ds, i, &rd, &img))) continue;
        CHECK(img.width == SIDE && img.height == SIDE);
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++)
                for (int c = 0; c < 3; c++)
                    bad += img.data[(y * SIDE + x) * 3 + c] != stored(id, c * SIDE * SIDE + x * SIDE + y);
    }
    CHECK_MSG(bad == 0 && bad_labels == 0, "%ld wrong pixels, %ld wrong labels", bad, bad_labels);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
}

int main(void) {
    char dir[4096], inner[4200];
    if (tmp_folder(dir, sizeof dir, "stl") != 0) {
        CHECK(0);
        return check_report("test_data_stl");
    }
    write_split(dir, "train", 0, 5, 1);
    write_split(dir, "test", 100, 3, 1);
    write_split(dir, "unlabeled", 200, 4, 0);
    snprintf(inner, sizeof inner, "%s/stl10_binary", dir);
    mbt_dataset *ds;
    if (CHECK_OK(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_TRAIN))) {
        check_split(ds, 0, 5, 5);
        mbt_dataset_destroy(ds);
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "stl10", inner, MBT_SPLIT_TEST))) {
        check_split(ds, 100, 3, 3);
        mbt_dataset_destroy(ds);
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_UNLABELED))) {
        check_split(ds, 200, 4, 0);
        mbt_dataset_destroy(ds);
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_TRAIN_UNLABELED))) {
        /* train (0..4) then unlabeled (200..203) */
        CHECK(mbt_dataset_count(ds) == 9);
        mbt_dataset *head;
        if (CHECK_OK(mbt_dataset_view(&head, ds, 5))) {
            check_split(head, 0, 5, 5);
            mbt_dataset_destroy(head);
        }
        mbt_dataset_reader rd = {0};
        mbt_image img = {0};
        for (int i = 5; i < 9; i++) {
            CHECK(mbt_dataset_label(ds, i) == -1);
            if (CHECK_OK(mbt_dataset_image(ds, i, &rd, &img)))
                CHECK(img.data[(7 * SIDE + 3) * 3 + 1] == stored(200 + i - 5, SIDE * SIDE + 3 * SIDE + 7));
        }
        mbt_image_free(&img);
        mbt_dataset_reader_free(&rd);
        mbt_dataset_destroy(ds);
    }

    /* errors */
    uint8_t y[5] = {1, 2, 11, 4, 5};
    write_bytes(dir, "stl10_binary/train_y.bin", y, 5);
    expect_error(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, "train_y.bin", "bad label 11");
    write_bytes(dir, "stl10_binary/train_y.bin", y, 4);
    expect_error(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, "train_y.bin", "wrong size");
    uint8_t part[100] = {0};
    write_bytes(dir, "stl10_binary/test_X.bin", part, sizeof part);
    expect_error(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "test_X.bin", "wrong size");
    snprintf(inner, sizeof inner, "%s/stl10_binary/unlabeled_X.bin", dir);
    remove(inner);
    expect_error(mbt_dataset_open(&ds, "stl10", dir, MBT_SPLIT_UNLABELED), MBT_ERR_IO, "unlabeled_X.bin", "missing file");
    rm_tree(dir);
    return check_report("test_data_stl");
}
