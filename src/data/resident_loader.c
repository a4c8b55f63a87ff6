/* The device-resident pair / N-view loader (see resident_loader.h). */
#include "data/resident_loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "core/plan.h"
#include "data/augment_batch.h"

struct mbt_resident_loader {
    mbt_loader_config cfg;
    mbt_device device;
    int64_t count, batches, next_batch;
    uint32_t epoch;
    int width, height;
    int views;               /* per image */
    size_t per_image, view_floats;
    int32_t *order;          /* the epoch's image order (host) */
    mbt_plan plan;           /* device: the images and the output views */
    uint8_t *images;         /* [count][height][width][3] */
    float *out;              /* [views * batch][3][size][size]: view 0 of the batch, then view 1, ... */
    mbt_augment_batch aug;
    int aug_ready;
};

void mbt_resident_loader_destroy(mbt_resident_loader *l) {
    if (!l) return;
    if (l->aug_ready) mbt_augment_batch_free(&l->aug);
    mbt_plan_free(&l->plan);
    free(l->order);
    free(l);
}

/* Decodes images [lo, hi) into host (all of the first image's size). */
static mbt_status decode_range(mbt_resident_loader *l, uint8_t *host, int64_t lo, int64_t hi) {
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_status st = MBT_OK;
    for (int64_t i = lo; i < hi && st == MBT_OK; i++) {
        st = mbt_dataset_image(l->cfg.dataset, i, &rd, &img);
        if (st == MBT_OK && (img.width != l->width || img.height != l->height))
            st = MBT_FAIL(MBT_ERR_ARG,
                          "device-resident data: image %lld is %dx%d and image 0 is %dx%d; only a set of one image size "
                          "can be kept on the device",
                          (long long)i, img.width, img.height, l->width, l->height);
        if (st == MBT_OK) memcpy(host + (size_t)i * l->per_image, img.data, l->per_image);
    }
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    return st;
}

/* Decodes the whole set into host with cfg->workers threads (OpenMP); the first failure is returned. */
static mbt_status decode_all(mbt_resident_loader *l, uint8_t *host) {
    int workers = l->cfg.workers > 0 ? l->cfg.workers : 1;
    int64_t chunk = (l->count + workers - 1) / workers;
    mbt_status first = MBT_OK;
    char msg[1024] = "";
#pragma omp parallel for num_threads(workers) schedule(static, 1)
    for (int t = 0; t < workers; t++) {
        int64_t lo = (int64_t)t * chunk, hi = lo + chunk < l->count ? lo + chunk : l->count;
        mbt_status st = lo < hi ? decode_range(l, host, lo, hi) : MBT_OK;
        if (st != MBT_OK) {
#pragma omp critical(mbt_resident_decode)
            if (first == MBT_OK) {
                first = st;
                snprintf(msg, sizeof msg, "%s", mbt_error_message());
            }
        }
    }
    if (first != MBT_OK) return MBT_FAIL(first, "%s", msg);
    return MBT_OK;
}

static mbt_status create(mbt_resident_loader *l) {
    const mbt_loader_config *c = &l->cfg;
    MBT_CHECK_ARG(c->mode == MBT_LOADER_PAIR, "device-resident data: only pair batches (pretraining)");
    MBT_CHECK_ARG(c->batch >= 1, "device-resident data: batch %d", c->batch);
    l->views = c->views ? c->views : 2;
    MBT_CHECK_ARG(l->views >= 2 && l->views <= MBT_LOADER_MAX_VIEWS, "device-resident data: %d views per image (2..%d)",
                  c->views, MBT_LOADER_MAX_VIEWS);
    MBT_CHECK_ARG((int64_t)l->views * c->batch <= INT32_MAX, "device-resident data: %d x %d views", l->views, c->batch);
    l->count = mbt_dataset_count(c->dataset);
    MBT_CHECK_ARG(l->count >= 1 && l->count <= INT32_MAX, "device-resident data: %lld images", (long long)l->count);
    l->batches = l->count / c->batch;
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_status st = mbt_dataset_image(c->dataset, 0, &rd, &img);
    l->width = img.width;
    l->height = img.height;
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    MBT_TRY(st);
    l->per_image = (size_t)l->width * l->height * 3;
    l->view_floats = (size_t)3 * c->recipe.size * c->recipe.size;
    MBT_TRY(mbt_augment_batch_init(&l->aug, l->device, &c->recipe, l->views * c->batch, l->width, l->height));
    l->aug_ready = 1;
    l->order = malloc((size_t)l->count * sizeof(int32_t));
    if (!l->order) return MBT_FAIL(MBT_ERR_NOMEM, "device-resident data: out of memory");
    mbt_plan_init(&l->plan, l->device);
    mbt_plan_bytes(&l->plan, (void **)&l->images, l->per_image * (size_t)l->count);
    mbt_plan_floats(&l->plan, &l->out, (size_t)l->views * c->batch * l->view_floats);
    MBT_TRY(mbt_plan_commit(&l->plan));
    if (l->device == MBT_DEVICE_CPU) return decode_all(l, l->images);
    uint8_t *host = malloc(l->per_image * (size_t)l->count);
    if (!host)
        return MBT_FAIL(MBT_ERR_NOMEM, "device-resident data: cannot stage %.1f MiB of images",
                        l->per_image * (double)l->count / 1048576.0);
    st = decode_all(l, host);
    if (st == MBT_OK) st = mbt_device_from_host(l->device, l->images, host, l->per_image * (size_t)l->count);
    free(host);
    return st;
}

mbt_status mbt_resident_loader_create(mbt_resident_loader **out, const mbt_loader_config *cfg, mbt_device device) {
    *out = NULL;
    mbt_resident_loader *l = calloc(1, sizeof *l);
    if (!l) return MBT_FAIL(MBT_ERR_NOMEM, "device-resident data: out of memory");
    l->cfg = *cfg;
    l->device = device;
    mbt_status st = create(l);
    if (st != MBT_OK) {
        mbt_resident_loader_destroy(l);
        return st;
    }
    *out = l;
    return MBT_OK;
}

size_t mbt_resident_loader_bytes(const mbt_resident_loader *l) { return l->per_image * (size_t)l->count; }
int64_t mbt_resident_loader_batches(const mbt_resident_loader *l) { return l->batches; }
int mbt_resident_loader_views(const mbt_resident_loader *l) { return l->views; }

mbt_status mbt_resident_loader_start(mbt_resident_loader *l, uint32_t epoch, int64_t skip) {
    MBT_CHECK_ARG(epoch < (1u << 20), "device-resident data: epoch %u is out of range (< 2^20)", epoch);
    MBT_CHECK_ARG(skip >= 0 && skip <= l->batches, "device-resident data: cannot start at batch %lld of %lld",
                  (long long)skip, (long long)l->batches);
    mbt_loader_epoch_order(l->cfg.seed, epoch, l->order, l->count);
    l->epoch = epoch;
    l->next_batch = skip;
    return MBT_OK;
}

mbt_status mbt_resident_loader_next_views(mbt_resident_loader *l, const float **x, int *n) {
    for (int v = 0; v < l->views; v++) x[v] = NULL;
    *n = 0;
    if (l->next_batch >= l->batches) return MBT_OK;
    const mbt_loader_config *c = &l->cfg;
    MBT_TRY(mbt_augment_batch_begin(&l->aug));
    const int32_t *idx = l->order + l->next_batch * c->batch;
    for (int v = 0; v < l->views; v++) {
        for (int j = 0; j < c->batch; j++) {
            mbt_augment_params p;
            mbt_loader_draw_view(&c->recipe, c->seed, l->epoch, idx[j], v, l->width, l->height, &p);
            mbt_augment_batch_set_view(&l->aug, v * c->batch + j, &p, (int64_t)idx[j] * (int64_t)l->per_image);
        }
    }
    MBT_TRY(mbt_augment_batch_run(&l->aug, l->images, l->out));
    l->next_batch++;
    for (int v = 0; v < l->views; v++) x[v] = l->out + (size_t)v * c->batch * l->view_floats;
    *n = c->batch;
    return MBT_OK;
}

mbt_status mbt_resident_loader_next(mbt_resident_loader *l, const float **x1, const float **x2, int *n) {
    const float *x[MBT_LOADER_MAX_VIEWS] = {NULL};
    *x1 = *x2 = NULL;
    MBT_TRY(mbt_resident_loader_next_views(l, x, n));
    *x1 = x[0];
    *x2 = x[1];
    return MBT_OK;
}
