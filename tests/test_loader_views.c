/* The loaders with N views per image (the baselines' --num-samples): 4 views come out, equal for 1 and 3
 * workers; views 0 and 1 are the 2-view loader's and, bit for bit, the batches the loader made before
 * it had N views (a hash recorded then); view v of each image is mbt_augment_apply of the recipe's draw
 * for view number v from the stream (epoch, image, v), views 2 and 3 included, and a 3-view loader
 * gives the first 3 of them; a resumed epoch is the tail of a whole one; the view count's bounds; the
 * views past 1 of a blurring recipe alternate its two transforms. Then the device side on the CPU
 * (loader_views_case.h): the device-resident loader and pretraining's data give the same 4 views. */
#include "loader_views_case.h"

#include "core/rng.h"

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* The hash of epoch 2's pairs (x1 then x2 of each batch, then the indices) of the 2-view host loader. */
static uint64_t pair_hash(const mbt_dataset *ds, const mbt_augment_recipe *rec) {
    mbt_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, LV_BATCH, 2, LV_SEED, 0, 2};
    uint64_t h = 1469598103934665603ull;
    if (!CHECK_OK(mbt_loader_create(&l, &c))) return 0;
    CHECK_OK(mbt_loader_start(l, 2, 0));
    mbt_batch b;
    while (CHECK_OK(mbt_loader_next(l, &b)) && b.n > 0) {
        h = fnv1a(h, b.x1, (size_t)b.n * LV_VIEW * sizeof(float));
        h = fnv1a(h, b.x2, (size_t)b.n * LV_VIEW * sizeof(float));
        h = fnv1a(h, b.indices, (size_t)b.n * sizeof(int64_t));
    }
    mbt_loader_destroy(l);
    return h;
}

/* Views 0 and 1 of the 2-view loader equal the batches of the loader before N views: the hashes were
 * recorded by this computation (the same data, loader settings and hash) linked against the library
 * of ssl-step 5a721e9. */
static void pairs_unchanged(const mbt_dataset *ds) {
    const char *recipes[2] = {"sslsota_cifar10", "cifar"};
    const uint64_t want[2] = {0xdbb6640f285beec4ull, 0x6cc245666e9b7433ull};
    for (int k = 0; k < 2; k++) {
        mbt_augment_recipe rec;
        if (!CHECK_OK(mbt_augment_recipe_get(recipes[k], 0, &rec))) continue;
        uint64_t h = pair_hash(ds, &rec);
        CHECK_MSG(h == want[k], "%s: the pairs' hash is 0x%016llx, before N views 0x%016llx", recipes[k],
                  (unsigned long long)h, (unsigned long long)want[k]);
    }
}

/* The 4-view host loader over `rec`: workers, views 0/1, every view's direct computation, 3 views, resume. */
static void host_views(const mbt_dataset *ds, const mbt_augment_recipe *rec) {
    mbt_loader *l1, *l3, *l2v, *l3v;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, LV_BATCH, 1, LV_SEED, 0, 4};
    if (!CHECK_OK(mbt_loader_create(&l1, &c))) return;
    c.workers = 3;
    CHECK_OK(mbt_loader_create(&l3, &c));
    c.views = 0; /* the default: a pair */
    CHECK_OK(mbt_loader_create(&l2v, &c));
    c.views = 3;
    CHECK_OK(mbt_loader_create(&l3v, &c));

    /* 4 views per batch, the first two also as x1 / x2 */
    CHECK_OK(mbt_loader_start(l1, 2, 0));
    mbt_batch b;
    if (CHECK_OK(mbt_loader_next(l1, &b))) {
        CHECK(b.n == LV_BATCH && b.views == 4 && b.x1 == b.x[0] && b.x2 == b.x[1]);
        for (int v = 0; v < 4; v++) CHECK(b.x[v] != NULL);
        for (int v = 4; v < MBT_LOADER_MAX_VIEWS; v++) CHECK(b.x[v] == NULL);
    }
    lv_epoch e1, e3, e2v, e3v, tail;
    lv_alloc(&e1), lv_alloc(&e3), lv_alloc(&e2v), lv_alloc(&e3v), lv_alloc(&tail);
    CHECK_OK(lv_host_epoch(l1, 2, 0, &e1));
    CHECK_OK(lv_host_epoch(l3, 2, 0, &e3));
    CHECK_OK(lv_host_epoch(l2v, 2, 0, &e2v));
    CHECK_OK(lv_host_epoch(l3v, 2, 0, &e3v));
    CHECK(e1.images == LV_IMAGES && e3.images == LV_IMAGES && e2v.images == LV_IMAGES);
    const size_t bytes = LV_IMAGES * LV_VIEW * sizeof(float);
    for (int v = 0; v < 4; v++) {
        CHECK_MSG(!memcmp(e1.x[v], e3.x[v], bytes), "%s: view %d differs for 1 and 3 workers", rec->name, v);
        if (v < 2) CHECK_MSG(!memcmp(e1.x[v], e2v.x[v], bytes), "%s: view %d differs from the 2-view loader's", rec->name, v);
        if (v < 3) CHECK_MSG(!memcmp(e1.x[v], e3v.x[v], bytes), "%s: view %d differs from the 3-view loader's", rec->name, v);
    }
    CHECK(!memcmp(e1.indices, e2v.indices, sizeof e1.indices) && !memcmp(e1.indices, e3.indices, sizeof e1.indices));

    /* every view is the recipe's draw for its view number from the stream (epoch, image, view), applied */
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_augment_scratch s = {0};
    float *want = malloc(LV_VIEW * sizeof(float));
    long mismatched = 0, alike = 0;
    for (int i = 0; i < LV_IMAGES; i += 3) {
        int64_t idx = e1.indices[i];
        CHECK_OK(mbt_dataset_image(ds, idx, &rd, &img));
        for (uint32_t v = 0; v < 4; v++) {
            mbt_rng rng;
            mbt_rng_init(&rng, LV_SEED, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 2, (uint64_t)idx, v));
            mbt_augment_params p;
            mbt_augment_draw_view(rec, (int)v, img.width, img.height, &rng, &p);
            CHECK_OK(mbt_augment_apply(rec, &p, &img, &s, want));
            mismatched += memcmp(want, e1.x[v] + (size_t)i * LV_VIEW, LV_VIEW * sizeof(float)) != 0;
        }
        for (int v = 0; v < 4; v++) /* four different views of the image */
            for (int u = 0; u < v; u++)
                alike += !memcmp(e1.x[v] + (size_t)i * LV_VIEW, e1.x[u] + (size_t)i * LV_VIEW, LV_VIEW * sizeof(float));
    }
    CHECK_MSG(mismatched == 0, "%s: %ld views differ from mbt_augment_apply of their view number's draw", rec->name,
              mismatched);
    CHECK_MSG(alike == 0, "%s: %ld pairs of an image's views are equal", rec->name, alike);

    /* a resumed epoch (from batch 2) is the tail of the whole one */
    CHECK_OK(lv_host_epoch(l3, 2, 2, &tail));
    CHECK(tail.images == LV_IMAGES);
    for (int v = 0; v < 4; v++)
        CHECK_MSG(!memcmp(tail.x[v] + 2 * LV_BATCH * LV_VIEW, e1.x[v] + 2 * LV_BATCH * LV_VIEW,
                          (LV_IMAGES - 2 * LV_BATCH) * LV_VIEW * sizeof(float)),
                  "%s: view %d of the resumed epoch differs from the whole epoch's", rec->name, v);

    free(want);
    mbt_augment_scratch_free(&s);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    lv_free(&e1), lv_free(&e3), lv_free(&e2v), lv_free(&e3v), lv_free(&tail);
    mbt_loader_destroy(l1);
    mbt_loader_destroy(l3);
    mbt_loader_destroy(l2v);
    mbt_loader_destroy(l3v);
}

/* The view count's bounds: 2 .. MBT_LOADER_MAX_VIEWS in pair mode (the stream id's 4 bits). */
static void view_bounds(const mbt_dataset *ds, const mbt_augment_recipe *rec) {
    mbt_loader *l;
    mbt_loader_config c = {ds, *rec, MBT_LOADER_PAIR, LV_BATCH, 1, LV_SEED, 0, 1};
    expect_error(mbt_loader_create(&l, &c), MBT_ERR_ARG, "1 views per image", "2..16");
    c.views = MBT_LOADER_MAX_VIEWS + 1;
    expect_error(mbt_loader_create(&l, &c), MBT_ERR_ARG, "17 views per image", NULL);
    c.views = MBT_LOADER_MAX_VIEWS;
    if (CHECK_OK(mbt_loader_create(&l, &c))) {
        mbt_batch b;
        CHECK_OK(mbt_loader_start(l, 1, 0));
        if (CHECK_OK(mbt_loader_next(l, &b))) CHECK(b.views == MBT_LOADER_MAX_VIEWS && b.x[MBT_LOADER_MAX_VIEWS - 1]);
        mbt_loader_destroy(l);
    }
    c.mode = MBT_LOADER_EVAL; /* eval mode: one image per row, the view count ignored */
    c.views = 0;
    if (CHECK_OK(mbt_loader_create(&l, &c))) {
        mbt_batch b;
        CHECK_OK(mbt_loader_start(l, 0, 0));
        if (CHECK_OK(mbt_loader_next(l, &b))) CHECK(b.views == 1 && b.x1 == b.x[0] && b.x2 == NULL && !b.x[1]);
        mbt_loader_destroy(l);
    }
}

/* A recipe with blur and solarize (ImageNet's): view v draws as view v % 2 (the same numbers, the
 * probabilities of view v % 2). */
static void blur_views(void) {
    mbt_augment_recipe r;
    if (!CHECK_OK(mbt_augment_recipe_get("imagenet", 0, &r))) return;
    long differ = 0;
    for (uint64_t k = 0; k < 64; k++)
        for (int v = 2; v < 4; v++) {
            mbt_rng a, b;
            mbt_rng_init(&a, 5, k);
            mbt_rng_init(&b, 5, k);
            mbt_augment_params pa, pb;
            mbt_augment_draw_view(&r, v, 300, 200, &a, &pa);
            mbt_augment_draw_view(&r, v - 2, 300, 200, &b, &pb);
            differ += memcmp(&pa, &pb, sizeof pa) != 0;
        }
    CHECK_MSG(differ == 0, "%ld draws of views 2, 3 differ from those of views 0, 1", differ);
}

int main(void) {
    char dir[4096];
    if (tmp_folder(dir, sizeof dir, "loader_views") != 0) {
        CHECK(0);
        return check_report("test_loader_views");
    }
    lv_write_cifar(dir);
    mbt_dataset *ds;
    if (CHECK_OK(mbt_dataset_open(&ds, "cifar10", dir, MBT_SPLIT_TRAIN))) {
        pairs_unchanged(ds);
        const char *recipes[2] = {"sslsota_cifar10", "cifar"};
        for (int k = 0; k < 2; k++) {
            mbt_augment_recipe rec;
            if (CHECK_OK(mbt_augment_recipe_get(recipes[k], 0, &rec))) host_views(ds, &rec);
        }
        mbt_augment_recipe rec;
        if (CHECK_OK(mbt_augment_recipe_get("sslsota_cifar10", 0, &rec))) view_bounds(ds, &rec);
        mbt_dataset_destroy(ds);
    }
    blur_views();
    check_loader_views_device(MBT_DEVICE_CPU, dir);
    rm_tree(dir);
    return check_report("test_loader_views");
}
