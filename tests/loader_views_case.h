/* The N-view check shared by test_loader_views (CPU) and test_loader_views_cuda: the device-resident
 * loader on `device` and pretraining's data (tasks/pretrain_data.h, --method wmse --num-samples 4,
 * --loader device) give, bit for bit, the host loader's 4-view batches, for a whole epoch and resumed
 * at a batch; the host loader's own checks are in test_loader_views.c. */
#ifndef MBT_TEST_LOADER_VIEWS_CASE_H
#define MBT_TEST_LOADER_VIEWS_CASE_H

#include "test_data_util.h"

#include "core/device.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/resident_loader.h"
#include "tasks/pretrain.h"
#include "tasks/pretrain_data.h"

#define LV_IMAGES 40 /* training images of the tiny CIFAR-10 */
#define LV_BATCH 8
#define LV_BATCHES (LV_IMAGES / LV_BATCH)
#define LV_VIEW ((size_t)3 * 32 * 32)
#define LV_SEED 1234

/* A tiny CIFAR-10 in the binary layout under dir: 5 training files of 8 records and a test file. */
static void lv_write_cifar(const char *dir) {
    uint8_t *buf = malloc(3073 * 8);
    for (int f = 0; f < 6; f++) {
        for (int r = 0; r < 8; r++) {
            buf[r * 3073] = (uint8_t)((f + r) % 10);
            for (int k = 0; k < 3072; k++) /* smooth rows plus a per-image pattern: every op changes them */
                buf[r * 3073 + 1 + k] = (uint8_t)(f * 37 + r * 11 + (k % 1024) / 9 + (k / 1024) * 50 + (k * 7) % 13);
        }
        char name[64];
        if (f < 5) snprintf(name, sizeof name, "data_batch_%d.bin", f + 1);
        else snprintf(name, sizeof name, "test_batch.bin");
        write_bytes(dir, name, buf, 3073 * 8);
    }
    free(buf);
}

/* The views of one epoch: x[v] holds view v of every image, in the epoch's order. */
typedef struct {
    float *x[4];
    int64_t indices[LV_IMAGES];
    int images;
} lv_epoch;

static void lv_alloc(lv_epoch *e) {
    memset(e, 0, sizeof *e);
    for (int v = 0; v < 4; v++) e->x[v] = calloc(LV_IMAGES * LV_VIEW, sizeof(float));
}
static void lv_free(lv_epoch *e) {
    for (int v = 0; v < 4; v++) free(e->x[v]);
}

/* The host loader's epoch `epoch` from batch `skip`: batches stored from image skip * LV_BATCH on. */
static mbt_status lv_host_epoch(mbt_loader *l, uint32_t epoch, int64_t skip, lv_epoch *e) {
    MBT_TRY(mbt_loader_start(l, epoch, skip));
    e->images = (int)skip * LV_BATCH;
    for (;;) {
        mbt_batch b;
        MBT_TRY(mbt_loader_next(l, &b));
        if (b.n == 0) break;
        for (int v = 0; v < b.views && v < 4; v++)
            memcpy(e->x[v] + (size_t)e->images * LV_VIEW, b.x[v], (size_t)b.n * LV_VIEW * sizeof(float));
        memcpy(e->indices + e->images, b.indices, (size_t)b.n * sizeof(int64_t));
        e->images += b.n;
    }
    return MBT_OK;
}

/* Views [n images] of device memory equal ref's views from image `at`; the first difference is named. */
static int lv_same(mbt_device device, const float *const *x, int views, int n, const lv_epoch *ref, int at,
                   const char *what) {
    size_t floats = (size_t)n * LV_VIEW;
    float *host = malloc(floats * sizeof(float));
    int same = 1;
    for (int v = 0; v < views && same; v++) {
        if (!CHECK_OK(mbt_device_to_host(device, host, x[v], floats * sizeof(float)))) same = 0;
        else if (memcmp(host, ref->x[v] + (size_t)at * LV_VIEW, floats * sizeof(float)) != 0) {
            size_t i = 0;
            while (host[i] == ref->x[v][(size_t)at * LV_VIEW + i]) i++;
            CHECK_MSG(0, "%s on %s: view %d of images %d.. differs from the host loader's at element %zu (%.6f vs %.6f)",
                      what, mbt_device_name(device), v, at, i, host[i], ref->x[v][(size_t)at * LV_VIEW + i]);
            same = 0;
        }
    }
    free(host);
    return same;
}

/* The resident loader on `device` with 4 views: epoch 2 whole and from batch 3 equals ref (the host
 * loader's epoch 2); its 2-view wrapper gives views 0 and 1. */
static void lv_resident(mbt_device device, const mbt_dataset *ds, const mbt_augment_recipe *rec, const lv_epoch *ref) {
    mbt_resident_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, LV_BATCH, 2, LV_SEED, 0, 4};
    if (!CHECK_OK(mbt_resident_loader_create(&l, &c, device))) return;
    CHECK(mbt_resident_loader_views(l) == 4);
    for (int64_t skip = 0; skip <= 3; skip += 3) {
        CHECK_OK(mbt_resident_loader_start(l, 2, skip));
        int64_t b = skip;
        for (;; b++) {
            const float *x[MBT_LOADER_MAX_VIEWS];
            int n;
            if (!CHECK_OK(mbt_resident_loader_next_views(l, x, &n)) || n == 0) break;
            CHECK(n == LV_BATCH);
            if (!lv_same(device, x, 4, n, ref, (int)b * LV_BATCH, "resident loader")) break;
        }
        CHECK_MSG(b == LV_BATCHES, "resident loader from batch %lld: %lld batches", (long long)skip, (long long)b);
    }
    CHECK_OK(mbt_resident_loader_start(l, 2, 1));
    const float *x[2];
    int n;
    if (CHECK_OK(mbt_resident_loader_next(l, &x[0], &x[1], &n))) {
        CHECK(n == LV_BATCH);
        lv_same(device, x, 2, n, ref, LV_BATCH, "resident loader (views 0, 1)");
    }
    mbt_resident_loader_destroy(l);
    c.views = 17;
    expect_error(mbt_resident_loader_create(&l, &c, device), MBT_ERR_ARG, "17 views", NULL);
}

/* Pretraining's data for --method wmse --num-samples 4 with `loader` on `device`: 4 views a batch, the
 * host loader's (ref: epoch 2 over the whole training set), from batch 2. */
static void lv_pretrain_data(mbt_device device, const char *loader, const char *dir, const lv_epoch *ref) {
    mbt_pretrain_config c;
    mbt_pretrain_config_defaults(&c);
    c.dataset = "cifar10";
    c.data_dir = dir;
    c.workers = 2;
    c.seed = LV_SEED;
    c.knn_every = 0;
    c.method = "wmse";
    c.num_samples = 4;
    c.loader = loader;
    mbt_pretrain_data *d;
    if (!CHECK_OK(mbt_pretrain_data_open(&d, &c, LV_BATCH, device))) return;
    CHECK(mbt_pretrain_data_views(d) == 4);
    CHECK(mbt_pretrain_data_steps_per_epoch(d) == LV_BATCHES);
    CHECK_OK(mbt_pretrain_data_start_epoch(d, 2, 2));
    char what[64];
    snprintf(what, sizeof what, "pretrain data (--loader %s)", loader);
    for (int64_t b = 2; b < LV_BATCHES; b++) {
        const float *x[MBT_LOADER_MAX_VIEWS];
        int on_device = -1;
        if (!CHECK_OK(mbt_pretrain_data_next_views(d, x, &on_device))) break;
        CHECK(on_device == !strcmp(loader, "device"));
        if (!lv_same(on_device ? device : MBT_DEVICE_CPU, x, 4, LV_BATCH, ref, (int)b * LV_BATCH, what)) break;
    }
    mbt_pretrain_data_close(d);
}

/* The device side of the check: the resident loader and pretraining's data on `device` against the
 * host loader (CPU threads) with the baselines' CIFAR-10 recipe (colour first) and the crop-first one. */
static void check_loader_views_device(mbt_device device, const char *dir) {
    mbt_dataset *ds;
    if (!CHECK_OK(mbt_dataset_open(&ds, "cifar10", dir, MBT_SPLIT_TRAIN))) return;
    CHECK(mbt_dataset_count(ds) == LV_IMAGES);
    const char *recipes[2] = {"sslsota_cifar10", "cifar"};
    for (int k = 0; k < 2; k++) {
        mbt_augment_recipe rec;
        if (!CHECK_OK(mbt_augment_recipe_get(recipes[k], 0, &rec))) continue;
        mbt_loader *l;
        mbt_loader_config c = {ds, rec, MBT_LOADER_PAIR, LV_BATCH, 2, LV_SEED, 0, 4};
        if (!CHECK_OK(mbt_loader_create(&l, &c))) continue;
        lv_epoch ref;
        lv_alloc(&ref);
        CHECK_OK(lv_host_epoch(l, 2, 0, &ref));
        CHECK(ref.images == LV_IMAGES);
        if (ref.images == LV_IMAGES) {
            lv_resident(device, ds, &rec, &ref);
            if (k == 0) {
                lv_pretrain_data(device, "device", dir, &ref);
                lv_pretrain_data(MBT_DEVICE_CPU, "host", dir, &ref);
            }
        }
        lv_free(&ref);
        mbt_loader_destroy(l);
    }
    mbt_dataset_destroy(ds);
}

#endif
