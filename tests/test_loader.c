/* The threaded loader: pair batches bit-identical for 1 and 3 workers and equal to the augmentation of
 * each (epoch, image, view) computed directly; epochs shuffled differently, drop_last; a resumed epoch
 * (start at batch k) equal to the tail of a full one and never reading the images of the skipped
 * batches; a restart while work is in flight; eval mode in order with the last partial batch; a worker's
 * decoding error returned with its message; shutdown with a full ring. The device-resident loader
 * (on the CPU) gives the same pair batches, also from a resumed position. */
#include "test_data_util.h"

#include "core/rng.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/resident_loader.h"
#include "test_data_image_write.h"

#define N_IMAGES 100
#define BATCH 16

static void write_cifar(const char *dir) {
    uint8_t rec[3073];
    for (int f = 0; f < 6; f++) {
        char name[64];
        if (f < 5) snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", f + 1);
        else snprintf(name, sizeof name, "cifar-10-batches-bin/test_batch.bin");
        uint8_t *buf = malloc(sizeof rec * 20);
        for (int r = 0; r < 20; r++) {
            buf[r * 3073] = (uint8_t)((f * 20 + r) % 10);
            for (int k = 0; k < 3072; k++) buf[r * 3073 + 1 + k] = (uint8_t)((f * 20 + r) * 13 + k * 7 + (k % 32) * (k / 32));
        }
        write_bytes(dir, name, buf, sizeof rec * 20);
        free(buf);
    }
}

typedef struct {
    float *x1, *x2;
    int32_t labels[N_IMAGES];
    int64_t indices[N_IMAGES];
    int batches, images;
} epoch_out;

static const size_t VIEW = 3 * 32 * 32;

/* Runs epoch `epoch` from batch `skip` to the end, appending batches to out; returns the status. */
static mbt_status run_epoch(mbt_loader *l, uint32_t epoch, int64_t skip, epoch_out *out) {
    MBT_TRY(mbt_loader_start(l, epoch, skip));
    out->batches = out->images = 0;
    for (;;) {
        mbt_batch b;
        MBT_TRY(mbt_loader_next(l, &b));
        if (b.n == 0) break;
        CHECK(b.index == skip + out->batches);
        memcpy(out->x1 + (size_t)out->images * VIEW, b.x1, (size_t)b.n * VIEW * sizeof(float));
        if (b.x2) memcpy(out->x2 + (size_t)out->images * VIEW, b.x2, (size_t)b.n * VIEW * sizeof(float));
        memcpy(out->labels + out->images, b.labels, (size_t)b.n * sizeof(int32_t));
        memcpy(out->indices + out->images, b.indices, (size_t)b.n * sizeof(int64_t));
        out->images += b.n;
        out->batches++;
    }
    return MBT_OK;
}

static void epoch_alloc(epoch_out *e) {
    memset(e, 0, sizeof *e);
    e->x1 = calloc(N_IMAGES * VIEW, sizeof(float));
    e->x2 = calloc(N_IMAGES * VIEW, sizeof(float));
}
static void epoch_free(epoch_out *e) {
    free(e->x1);
    free(e->x2);
}

static int same_epoch(const epoch_out *a, size_t a_from, const epoch_out *b, int images) {
    return !memcmp(a->x1 + a_from * VIEW, b->x1, (size_t)images * VIEW * sizeof(float)) &&
           !memcmp(a->x2 + a_from * VIEW, b->x2, (size_t)images * VIEW * sizeof(float)) &&
           !memcmp(a->labels + a_from, b->labels, (size_t)images * sizeof(int32_t)) &&
           !memcmp(a->indices + a_from, b->indices, (size_t)images * sizeof(int64_t));
}

/* The resident loader's epoch `epoch` from batch `skip` equals ref (the threaded loader's full epoch). */
static void resident_matches(mbt_resident_loader *l, uint32_t epoch, int64_t skip, const epoch_out *ref) {
    if (!CHECK_OK(mbt_resident_loader_start(l, epoch, skip))) return;
    int64_t b = skip;
    for (;; b++) {
        const float *x1, *x2;
        int n;
        if (!CHECK_OK(mbt_resident_loader_next(l, &x1, &x2, &n)) || n == 0) break;
        size_t at = (size_t)b * BATCH * VIEW;
        CHECK_MSG(n == BATCH && !memcmp(x1, ref->x1 + at, (size_t)n * VIEW * sizeof(float)) &&
                      !memcmp(x2, ref->x2 + at, (size_t)n * VIEW * sizeof(float)),
                  "resident loader: epoch %u batch %lld differs from the threaded loader's", epoch, (long long)b);
    }
    CHECK(b == ref->batches);
}

static void resident_mode(const mbt_dataset *ds, const mbt_augment_recipe *rec, const epoch_out *epoch2) {
    mbt_resident_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, BATCH, 2, 1234, 0, 2};
    if (!CHECK_OK(mbt_resident_loader_create(&l, &c, MBT_DEVICE_CPU))) return;
    CHECK(mbt_resident_loader_batches(l) == N_IMAGES / BATCH);
    CHECK(mbt_resident_loader_bytes(l) == (size_t)N_IMAGES * 32 * 32 * 3);
    resident_matches(l, 2, 0, epoch2);
    resident_matches(l, 2, 4, epoch2);
    CHECK(mbt_resident_loader_start(l, 2, N_IMAGES / BATCH + 1) == MBT_ERR_ARG);
    mbt_resident_loader_destroy(l);
}

static void pair_mode(const mbt_dataset *ds, const mbt_augment_recipe *rec) {
    epoch_out e1[2], e3[2], part, restart;
    mbt_loader *l1, *l3;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, BATCH, 1, 1234, 0, 2};
    CHECK_OK(mbt_loader_create(&l1, &c));
    c.workers = 3;
    CHECK_OK(mbt_loader_create(&l3, &c));
    CHECK(mbt_loader_batches(l1) == N_IMAGES / BATCH);
    mbt_batch b;
    CHECK(mbt_loader_next(l1, &b) == MBT_ERR_ARG); /* not started */
    for (int e = 0; e < 2; e++) {
        epoch_alloc(&e1[e]);
        epoch_alloc(&e3[e]);
        CHECK_OK(run_epoch(l1, (uint32_t)(e + 1), 0, &e1[e]));
        CHECK_OK(run_epoch(l3, (uint32_t)(e + 1), 0, &e3[e]));
        CHECK(e1[e].batches == N_IMAGES / BATCH && e1[e].images == (N_IMAGES / BATCH) * BATCH);
        CHECK_MSG(e3[e].images == e1[e].images && same_epoch(&e1[e], 0, &e3[e], e1[e].images),
                  "epoch %d: 1 and 3 workers differ", e + 1);
        /* a shuffled order without repeats; the labels are the images' */
        int seen[N_IMAGES] = {0}, in_order = 1;
        for (int i = 0; i < e1[e].images; i++) {
            int64_t idx = e1[e].indices[i];
            CHECK(idx >= 0 && idx < N_IMAGES && !seen[idx]);
            if (idx >= 0 && idx < N_IMAGES) seen[idx] = 1;
            in_order &= idx == i;
            CHECK(e1[e].labels[i] == mbt_dataset_label(ds, idx));
        }
        CHECK(!in_order);
    }
    CHECK(memcmp(e1[0].indices, e1[1].indices, sizeof e1[0].indices) != 0); /* another order each epoch */

    /* every view is the recipe applied with the stream of (epoch, image, view) */
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_augment_scratch s = {0};
    float *view = malloc(VIEW * sizeof(float));
    long mismatched = 0;
    for (int i = 0; i < e1[1].images; i += 7)
        for (uint32_t v = 0; v < 2; v++) {
            int64_t idx = e1[1].indices[i];
            CHECK_OK(mbt_dataset_image(ds, idx, &rd, &img));
            mbt_rng rng;
            mbt_rng_init(&rng, 1234, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 2, (uint64_t)idx, v));
            mbt_augment_params p;
            mbt_augment_draw(rec, img.width, img.height, &rng, &p);
            CHECK_OK(mbt_augment_apply(rec, &p, &img, &s, view));
            mismatched += memcmp(view, (v ? e1[1].x2 : e1[1].x1) + (size_t)i * VIEW, VIEW * sizeof(float)) != 0;
        }
    CHECK_MSG(mismatched == 0, "%ld views differ from their direct computation", mismatched);
    /* the two views of an image differ */
    CHECK(memcmp(e1[1].x1, e1[1].x2, VIEW * sizeof(float)) != 0);

    /* resume: epoch 2 from batch 4 is the tail of the full epoch 2 */
    epoch_alloc(&part);
    CHECK_OK(run_epoch(l3, 2, 4, &part));
    CHECK(part.batches == N_IMAGES / BATCH - 4);
    CHECK_MSG(same_epoch(&e1[1], 4 * BATCH, &part, part.images), "resumed epoch differs from the full epoch's tail");
    CHECK(mbt_loader_start(l3, 2, N_IMAGES / BATCH + 1) == MBT_ERR_ARG);
    resident_mode(ds, rec, &e1[1]);

    /* restart while the workers are busy: take one batch of epoch 1, then start epoch 2 over */
    CHECK_OK(mbt_loader_start(l3, 1, 0));
    CHECK_OK(mbt_loader_next(l3, &b));
    CHECK(b.n == BATCH);
    epoch_alloc(&restart);
    CHECK_OK(run_epoch(l3, 2, 0, &restart));
    CHECK_MSG(restart.images == e1[1].images && same_epoch(&e1[1], 0, &restart, restart.images),
              "epoch 2 after an interrupted epoch 1 differs");

    /* shutdown with a full ring and work in flight */
    CHECK_OK(mbt_loader_start(l1, 3, 0));
    mbt_loader_destroy(l1);
    mbt_loader_destroy(l3);
    free(view);
    mbt_augment_scratch_free(&s);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    for (int e = 0; e < 2; e++) epoch_free(&e1[e]), epoch_free(&e3[e]);
    epoch_free(&part);
    epoch_free(&restart);
}

static void eval_mode(const mbt_dataset *ds, const mbt_augment_recipe *rec) {
    mbt_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_EVAL, BATCH, 2, 1, 0, 0};
    CHECK_OK(mbt_loader_create(&l, &c));
    CHECK(mbt_loader_batches(l) == (N_IMAGES + BATCH - 1) / BATCH);
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_augment_scratch s = {0};
    float *want = malloc(VIEW * sizeof(float));
    for (int pass = 0; pass < 2; pass++) {
        CHECK_OK(mbt_loader_start(l, 0, 0));
        int total = 0, batches = 0, last_n = 0;
        long bad = 0;
        for (;;) {
            mbt_batch b;
            if (!CHECK_OK(mbt_loader_next(l, &b)) || b.n == 0) break;
            CHECK(b.x2 == NULL);
            for (int i = 0; i < b.n; i++) {
                bad += b.indices[i] != total + i || b.labels[i] != mbt_dataset_label(ds, total + i);
                CHECK_OK(mbt_dataset_image(ds, total + i, &rd, &img));
                CHECK_OK(mbt_augment_eval(rec, &img, &s, want));
                bad += memcmp(want, b.x1 + (size_t)i * VIEW, VIEW * sizeof(float)) != 0;
            }
            total += b.n;
            last_n = b.n;
            batches++;
        }
        CHECK_MSG(bad == 0, "%ld eval images or labels out of place", bad);
        CHECK(total == N_IMAGES && batches == 7 && last_n == N_IMAGES % BATCH);
    }
    free(want);
    mbt_augment_scratch_free(&s);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    mbt_loader_destroy(l);
}

/* An image folder of small PNGs: errors propagate; resuming never reads the skipped batches' images. */
static void folder_cases(const char *dir, const mbt_augment_recipe *rec) {
    char root[4200], path[4400];
    snprintf(root, sizeof root, "%s/imgs", dir);
    uint8_t px[6 * 5 * 3];
    for (int i = 0; i < 40; i++) {
        for (int k = 0; k < (int)sizeof px; k++) px[k] = (uint8_t)(i * 9 + k * 5);
        snprintf(path, sizeof path, "imgs/c%d/%02d.png", i % 2, i);
        write_bytes(dir, path, "", 0);
        snprintf(path, sizeof path, "%s/imgs/c%d/%02d.png", dir, i % 2, i);
        CHECK(write_png(path, px, 6, 5, 3) == 0);
    }
    mbt_dataset *ds;
    if (!CHECK_OK(mbt_dataset_open_image_folder(&ds, root))) return;
    mbt_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, 8, 2, 99, 0, 2};
    CHECK_OK(mbt_loader_create(&l, &c));
    epoch_out full, tail;
    epoch_alloc(&full);
    epoch_alloc(&tail);
    CHECK_OK(run_epoch(l, 5, 0, &full));
    CHECK(full.images == 40);
    /* break the files of the first 3 batches, then resume at batch 3 */
    for (int i = 0; i < 24; i++) {
        int64_t idx = full.indices[i];
        /* dataset image idx: class folder c0 (the even ids) first, then c1 */
        int id = idx < 20 ? (int)idx * 2 : (int)(idx - 20) * 2 + 1;
        snprintf(path, sizeof path, "imgs/c%d/%02d.png", id % 2, id);
        write_bytes(dir, path, "broken", 6);
    }
    CHECK_MSG(run_epoch(l, 5, 3, &tail) == MBT_OK, "resume read a skipped image: %s", mbt_error_message());
    CHECK(tail.images == 16 && same_epoch(&full, 24, &tail, 16));
    /* from the start, the broken images fail: the worker's message comes back, again after a restart */
    for (int k = 0; k < 2; k++) {
        mbt_status st = run_epoch(l, 5, 0, &tail);
        expect_error(st, MBT_ERR_FORMAT, "/imgs/c", "not a JPEG or PNG");
    }
    mbt_loader_destroy(l);
    mbt_dataset_destroy(ds);
    epoch_free(&full);
    epoch_free(&tail);
}

/* The resident loader refuses a set of several image sizes, naming the first image that differs. */
static void resident_sizes(const char *dir, const mbt_augment_recipe *rec) {
    char root[4200], path[4400];
    snprintf(root, sizeof root, "%s/mixed", dir);
    uint8_t px[7 * 5 * 3] = {0};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "mixed/c0/%02d.png", i);
        write_bytes(dir, path, "", 0);
        snprintf(path, sizeof path, "%s/mixed/c0/%02d.png", dir, i);
        CHECK(write_png(path, px, i == 2 ? 7 : 6, 5, 3) == 0);
    }
    mbt_dataset *ds;
    if (!CHECK_OK(mbt_dataset_open_image_folder(&ds, root))) return;
    mbt_resident_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, 1, 1, 99, 0, 2};
    expect_error(mbt_resident_loader_create(&l, &c, MBT_DEVICE_CPU), MBT_ERR_ARG, "image 2 is 7x5", "image 0 is 6x5");
    CHECK(l == NULL);
    mbt_dataset_destroy(ds);
}

int main(void) {
    char dir[4096];
    if (tmp_folder(dir, sizeof dir, "loader") != 0) {
        CHECK(0);
        return check_report("test_loader");
    }
    write_cifar(dir);
    mbt_dataset *train;
    mbt_augment_recipe rec;
    CHECK_OK(mbt_augment_recipe_get("cifar", 0, &rec));
    if (CHECK_OK(mbt_dataset_open(&train, "cifar10", dir, MBT_SPLIT_TRAIN))) {
        CHECK(mbt_dataset_count(train) == N_IMAGES);
        pair_mode(train, &rec);
        eval_mode(train, &rec);
        mbt_dataset_destroy(train);
    }
    folder_cases(dir, &rec);
    resident_sizes(dir, &rec);
    rm_tree(dir);
    return check_report("test_loader");
}
