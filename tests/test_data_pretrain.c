/* The data side of pretraining (tasks/pretrain_data.h) over small datasets the test writes: steps per
 * epoch with --subset and drop_last, the image size and class count of each dataset, the k-NN bank and
 * test sizes with --knn-subset / --knn-test-subset, pair batches equal to the loader's for the same seed,
 * an exact resume (start at batch k), the folder recipe choice by image size, and the errors. */
#include "test_data_util.h"

#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "tasks/pretrain_data.h"
#include "test_data_image_write.h"

static void write_cifar(const char *dir) {
    uint8_t *buf = malloc(3073 * 30);
    for (int f = 0; f < 6; f++) {
        for (int r = 0; r < 30; r++) {
            buf[r * 3073] = (uint8_t)((f + r) % 10);
            for (int k = 0; k < 3072; k++) buf[r * 3073 + 1 + k] = (uint8_t)(f * 31 + r * 17 + k * 3);
        }
        char name[64];
        if (f < 5) snprintf(name, sizeof name, "data_batch_%d.bin", f + 1);
        else snprintf(name, sizeof name, "test_batch.bin");
        write_bytes(dir, name, buf, 3073 * 30);
    }
    free(buf);
}

static mbt_pretrain_config config(const char *dataset, const char *dir) {
    mbt_pretrain_config c;
    mbt_pretrain_config_defaults(&c);
    c.dataset = dataset;
    c.data_dir = dir;
    c.workers = 2;
    c.seed = 77;
    c.knn_every = 1;
    return c;
}

static void cifar(const char *dir) {
    mbt_pretrain_config c = config("cifar10", dir);
    c.subset = 100;
    c.knn_subset = 40;
    c.knn_test_subset = 25;
    mbt_pretrain_data *d;
    if (!CHECK_OK(mbt_pretrain_data_open(&d, &c, 16, MBT_DEVICE_CPU))) return;
    CHECK(mbt_pretrain_data_image_size(d) == 32);
    CHECK(mbt_pretrain_data_num_classes(d) == 10);
    CHECK(mbt_pretrain_data_steps_per_epoch(d) == 100 / 16);
    /* the batches are the loader's over the first 100 images with the CIFAR recipe and the seed */
    mbt_dataset *full, *sub;
    mbt_augment_recipe rec;
    CHECK_OK(mbt_dataset_open(&full, "cifar10", dir, MBT_SPLIT_TRAIN));
    CHECK_OK(mbt_dataset_view(&sub, full, 100));
    CHECK_OK(mbt_augment_recipe_get("cifar", 0, &rec));
    mbt_loader *l;
    mbt_loader_config lc = {sub, rec, MBT_LOADER_PAIR, 16, 1, 77, 0, 2};
    CHECK_OK(mbt_loader_create(&l, &lc));
    size_t floats = (size_t)16 * 3 * 32 * 32;
    for (int skip = 0; skip <= 3; skip += 3) { /* a whole epoch 2, then epoch 2 resumed at batch 3 */
        CHECK_OK(mbt_pretrain_data_start_epoch(d, 2, skip));
        CHECK_OK(mbt_loader_start(l, 2, skip));
        long differ = 0;
        for (int64_t i = skip; i < 100 / 16; i++) {
            const float *x1, *x2;
            mbt_batch b;
            int on_device = -1;
            CHECK_OK(mbt_pretrain_data_next_pair(d, &x1, &x2, &on_device));
            CHECK(on_device == 0); /* auto on the CPU: the host loader */
            CHECK_OK(mbt_loader_next(l, &b));
            differ += memcmp(x1, b.x1, floats * sizeof(float)) != 0 || memcmp(x2, b.x2, floats * sizeof(float)) != 0;
        }
        CHECK_MSG(differ == 0, "skip %d: %ld batches differ from the loader's", skip, differ);
        const float *x1, *x2;
        int on_device;
        expect_error(mbt_pretrain_data_next_pair(d, &x1, &x2, &on_device), MBT_ERR_ARG, "used up", NULL);
    }
    CHECK(mbt_pretrain_data_device_bytes(d) == 0);
    /* --loader device (here on the CPU): the set decoded once, the same batches, also resumed */
    mbt_pretrain_config cd = c;
    cd.loader = "device";
    cd.knn_every = 0;
    mbt_pretrain_data *dd;
    if (CHECK_OK(mbt_pretrain_data_open(&dd, &cd, 16, MBT_DEVICE_CPU))) {
        CHECK(mbt_pretrain_data_device_bytes(dd) == (size_t)100 * 32 * 32 * 3);
        CHECK_OK(mbt_pretrain_data_start_epoch(dd, 2, 3));
        CHECK_OK(mbt_loader_start(l, 2, 3));
        long differ = 0;
        for (int64_t i = 3; i < 100 / 16; i++) {
            const float *x1, *x2;
            mbt_batch b;
            int on_device = 0;
            CHECK_OK(mbt_pretrain_data_next_pair(dd, &x1, &x2, &on_device));
            CHECK(on_device == 1);
            CHECK_OK(mbt_loader_next(l, &b));
            differ += memcmp(x1, b.x1, floats * sizeof(float)) != 0 || memcmp(x2, b.x2, floats * sizeof(float)) != 0;
        }
        CHECK_MSG(differ == 0, "--loader device: %ld batches differ from the loader's", differ);
        mbt_pretrain_data_close(dd);
    }
    cd.loader = "gpu";
    expect_error(mbt_pretrain_data_open(&dd, &cd, 16, MBT_DEVICE_CPU), MBT_ERR_ARG, "--loader gpu", NULL);
    mbt_loader_destroy(l);
    mbt_dataset_destroy(sub);
    mbt_dataset_destroy(full);
    /* the k-NN sets: the first 40 training images, the first 25 test images, in order */
    const mbt_eval_split splits[2] = {MBT_EVAL_BANK, MBT_EVAL_TEST};
    const int want[2] = {40, 25};
    for (int s = 0; s < 2; s++) {
        int count = 0, total = 0, n;
        CHECK_OK(mbt_pretrain_data_eval_begin(d, splits[s], &count));
        CHECK(count == want[s]);
        const float *x;
        const int32_t *y;
        long bad = 0;
        while (CHECK_OK(mbt_pretrain_data_eval_next(d, &x, &y, &n)) && n > 0) {
            for (int i = 0; i < n; i++) {
                int file = s ? 5 : (total + i) / 30, r = s ? total + i : (total + i) % 30;
                bad += y[i] != (file + r) % 10;
                /* pixel (0, 0) of channel 0, normalised with the CIFAR statistics */
                float v = ((float)(uint8_t)(file * 31 + r * 17) / 255.0f - 0.4914f) / 0.2023f;
                bad += x[(size_t)i * 3 * 32 * 32] != v;
            }
            total += n;
        }
        CHECK_MSG(total == want[s] && bad == 0, "split %d: %d images, %ld wrong", s, total, bad);
    }
    mbt_pretrain_data_close(d);

    c.knn_every = 0;
    c.subset = 0;
    if (CHECK_OK(mbt_pretrain_data_open(&d, &c, 64, MBT_DEVICE_CPU))) {
        CHECK(mbt_pretrain_data_steps_per_epoch(d) == 150 / 64);
        int count;
        expect_error(mbt_pretrain_data_eval_begin(d, MBT_EVAL_BANK, &count), MBT_ERR_ARG, "k-NN", NULL);
        mbt_pretrain_data_close(d);
    }
    c.dataset = "cifar100";
    expect_error(mbt_pretrain_data_open(&d, &c, 16, MBT_DEVICE_CPU), MBT_ERR_IO, "no CIFAR-100 files", NULL);
}

static void folder(const char *dir) {
    /* 40x30 images: more than 32 px, so the Tiny-ImageNet recipe at 64 px; test/ for the k-NN test set */
    uint8_t px[40 * 30 * 3];
    char rel[64];
    for (int i = 0; i < 12; i++) {
        for (int k = 0; k < (int)sizeof px; k++) px[k] = (uint8_t)(i * 20 + k);
        snprintf(rel, sizeof rel, "%s/%c/%d.png", i < 8 ? "train" : "test", 'a' + i % 3, i);
        write_bytes(dir, rel, "", 0);
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        CHECK(write_png(path, px, 40, 30, 3) == 0);
    }
    mbt_pretrain_config c = config("folder", dir);
    mbt_pretrain_data *d;
    if (CHECK_OK(mbt_pretrain_data_open(&d, &c, 4, MBT_DEVICE_CPU))) {
        CHECK(mbt_pretrain_data_image_size(d) == 64);
        CHECK(mbt_pretrain_data_num_classes(d) == 3);
        CHECK(mbt_pretrain_data_steps_per_epoch(d) == 2);
        CHECK_OK(mbt_pretrain_data_start_epoch(d, 1, 0));
        const float *x1, *x2;
        int on_device;
        CHECK_OK(mbt_pretrain_data_next_pair(d, &x1, &x2, &on_device));
        int count, n;
        CHECK_OK(mbt_pretrain_data_eval_begin(d, MBT_EVAL_TEST, &count));
        CHECK(count == 4);
        const float *x;
        const int32_t *y;
        CHECK_OK(mbt_pretrain_data_eval_next(d, &x, &y, &n));
        CHECK(n == 4);
        mbt_pretrain_data_close(d);
    }
    c.subset = 3; /* spread over the class-ordered folder a0 a3 a6 b1 b4 b7 c2 c5: 0, 2, 4, 6 for 4 */
    c.knn_subset = 4;
    if (CHECK_OK(mbt_pretrain_data_open(&d, &c, 1, MBT_DEVICE_CPU))) {
        CHECK(mbt_pretrain_data_steps_per_epoch(d) == 3);
        int count, n;
        CHECK_OK(mbt_pretrain_data_eval_begin(d, MBT_EVAL_BANK, &count));
        CHECK(count == 4);
        const float *x;
        const int32_t *y;
        int seen[3] = {0};
        while (CHECK_OK(mbt_pretrain_data_eval_next(d, &x, &y, &n)) && n > 0) seen[y[0]]++;
        CHECK_MSG(seen[0] && seen[1] && seen[2], "the spread bank should hold all three classes");
        mbt_pretrain_data_close(d);
    }
}

int main(void) {
    char dir[4096], sub[4200];
    if (tmp_folder(dir, sizeof dir, "pretrain") != 0) {
        CHECK(0);
        return check_report("test_data_pretrain");
    }
    snprintf(sub, sizeof sub, "%s/c10", dir);
    mkdir(sub, 0777);
    write_cifar(sub);
    cifar(sub);
    snprintf(sub, sizeof sub, "%s/f", dir);
    mkdir(sub, 0777);
    folder(sub);
    rm_tree(dir);
    return check_report("test_data_pretrain");
}
