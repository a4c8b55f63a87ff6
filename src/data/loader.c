/* The threaded batch loader (see loader.h). Work items are chunks of a batch, claimed in order by the
 * workers; a batch may be filled once the batch `ring` places before it has been released. */
#include "data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#define CHUNK 8 /* images per work item */

typedef struct {
    float *x[MBT_LOADER_MAX_VIEWS]; /* the views (eval mode: x[0] only) */
    int32_t *labels;
    int64_t *indices;
    int64_t batch; /* the batch held, -1 if none */
    int done;      /* chunks finished */
} slot;

typedef struct {
    struct mbt_loader *owner;
    pthread_t thread;
    int started;
    mbt_dataset_reader reader;
    mbt_image image;
    mbt_augment_scratch scratch;
} worker;

struct mbt_loader {
    mbt_loader_config cfg;
    int64_t count, batches;
    int chunks;          /* work items per batch */
    int views;           /* views per image (eval mode: 1) */
    size_t view_floats;  /* floats of one image */
    int32_t *order;      /* the epoch's image order */
    slot *slots;
    int ring;
    worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, ready_cv;
    /* guarded by mu */
    int quit, active;
    uint64_t gen;
    uint32_t epoch;
    int64_t head;        /* the oldest batch not yet released by the consumer */
    int64_t next_item, end_item;
    int busy;            /* workers processing an item */
    int holding;         /* the consumer holds batch `head` */
    mbt_status err;
    char err_msg[1024];
};

void mbt_loader_epoch_order(uint64_t seed, uint32_t epoch, int32_t *order, int64_t count) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_ORDER, epoch, 0, 0));
    mbt_rng_permutation(&rng, order, (int)count);
}

void mbt_loader_draw_view(const mbt_augment_recipe *recipe, uint64_t seed, uint32_t epoch, int64_t index, int view,
                          int width, int height, mbt_augment_params *p) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, epoch, (uint64_t)index, (uint32_t)view));
    mbt_augment_draw_view(recipe, view, width, height, &rng, p);
}

static mbt_status process(mbt_loader *l, worker *w, int64_t b, int chunk, slot *s, uint32_t epoch) {
    const mbt_loader_config *c = &l->cfg;
    int64_t first = b * c->batch;
    int lo = chunk * CHUNK, hi = lo + CHUNK;
    if (hi > c->batch) hi = c->batch;
    if (first + hi > l->count) hi = (int)(l->count - first);
    for (int p = lo; p < hi; p++) {
        int64_t idx = c->mode == MBT_LOADER_PAIR ? l->order[first + p] : first + p;
        MBT_TRY(mbt_dataset_image(c->dataset, idx, &w->reader, &w->image));
        s->labels[p] = mbt_dataset_label(c->dataset, idx);
        s->indices[p] = idx;
        if (c->mode == MBT_LOADER_EVAL) {
            MBT_TRY(mbt_augment_eval(&c->recipe, &w->image, &w->scratch, s->x[0] + (size_t)p * l->view_floats));
            continue;
        }
        for (int v = 0; v < l->views; v++) {
            mbt_augment_params params;
            mbt_loader_draw_view(&c->recipe, c->seed, epoch, idx, v, w->image.width, w->image.height, &params);
            float *out = s->x[v] + (size_t)p * l->view_floats;
            MBT_TRY(mbt_augment_apply(&c->recipe, &params, &w->image, &w->scratch, out));
        }
    }
    return MBT_OK;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    mbt_loader *l = w->owner;
    pthread_mutex_lock(&l->mu);
    while (!l->quit) {
        if (!l->active || l->next_item >= l->end_item || l->next_item / l->chunks >= l->head + l->ring) {
            pthread_cond_wait(&l->work_cv, &l->mu);
            continue;
        }
        int64_t item = l->next_item++;
        int64_t b = item / l->chunks;
        int chunk = (int)(item % l->chunks);
        slot *s = &l->slots[b % l->ring];
        if (chunk == 0) {
            s->batch = b;
            s->done = 0;
        }
        uint64_t gen = l->gen;
        uint32_t epoch = l->epoch;
        l->busy++;
        pthread_mutex_unlock(&l->mu);

        mbt_error_clear();
        mbt_status st = process(l, w, b, chunk, s, epoch);

        pthread_mutex_lock(&l->mu);
        l->busy--;
        if (gen == l->gen) {
            if (st != MBT_OK && l->err == MBT_OK) {
                l->err = st;
                snprintf(l->err_msg, sizeof l->err_msg, "%s", mbt_error_message());
                l->active = 0;
            }
            if (++s->done == l->chunks) pthread_cond_broadcast(&l->ready_cv);
        }
        if (l->busy == 0 || st != MBT_OK) pthread_cond_broadcast(&l->ready_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int64_t mbt_loader_batches(const mbt_loader *l) { return l->batches; }

void mbt_loader_destroy(mbt_loader *l) {
    if (!l) return;
    if (l->workers) {
        pthread_mutex_lock(&l->mu);
        l->quit = 1;
        pthread_cond_broadcast(&l->work_cv);
        pthread_mutex_unlock(&l->mu);
        for (int i = 0; i < l->cfg.workers; i++) {
            worker *w = &l->workers[i];
            if (w->started) pthread_join(w->thread, NULL);
            mbt_dataset_reader_free(&w->reader);
            mbt_image_free(&w->image);
            mbt_augment_scratch_free(&w->scratch);
        }
        free(l->workers);
    }
    if (l->slots) {
        for (int i = 0; i < l->ring; i++) {
            for (int v = 0; v < MBT_LOADER_MAX_VIEWS; v++) free(l->slots[i].x[v]);
            free(l->slots[i].labels);
            free(l->slots[i].indices);
        }
        free(l->slots);
    }
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    pthread_mutex_destroy(&l->mu);
    free(l->order);
    free(l);
}

mbt_status mbt_loader_create(mbt_loader **out, const mbt_loader_config *cfg) {
    *out = NULL;
    MBT_CHECK_ARG(cfg->dataset != NULL, "loader: no dataset");
    MBT_CHECK_ARG(cfg->batch >= 1, "loader: batch size %d (expected >= 1)", cfg->batch);
    MBT_CHECK_ARG(cfg->workers >= 1 && cfg->workers <= 256, "loader: %d workers (expected 1..256)", cfg->workers);
    MBT_CHECK_ARG(cfg->recipe.size >= 1, "loader: recipe image size %d", cfg->recipe.size);
    int views = cfg->mode != MBT_LOADER_PAIR ? 1 : cfg->views ? cfg->views : 2;
    MBT_CHECK_ARG(cfg->mode != MBT_LOADER_PAIR || (views >= 2 && views <= MBT_LOADER_MAX_VIEWS),
                  "loader: %d views per image (expected 2..%d)", cfg->views, MBT_LOADER_MAX_VIEWS);
    int64_t count = mbt_dataset_count(cfg->dataset);
    MBT_CHECK_ARG(count <= INT32_MAX, "loader: %lld images (at most 2^31 - 1)", (long long)count);
    mbt_loader *l = calloc(1, sizeof *l);
    if (!l) return MBT_FAIL(MBT_ERR_NOMEM, "loader: out of memory");
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    l->cfg = *cfg;
    l->count = count;
    l->batches = cfg->mode == MBT_LOADER_PAIR ? count / cfg->batch : (count + cfg->batch - 1) / cfg->batch;
    l->chunks = (cfg->batch + CHUNK - 1) / CHUNK;
    l->views = views;
    l->view_floats = (size_t)3 * cfg->recipe.size * cfg->recipe.size;
    l->ring = cfg->ring > 0 ? cfg->ring : cfg->workers + 1;
    if (l->ring < 2) l->ring = 2;
    size_t floats = l->view_floats * (size_t)cfg->batch;
    l->slots = calloc((size_t)l->ring, sizeof *l->slots);
    l->order = cfg->mode == MBT_LOADER_PAIR ? malloc((size_t)(count > 0 ? count : 1) * sizeof(int32_t)) : NULL;
    int ok = l->slots && (cfg->mode != MBT_LOADER_PAIR || l->order);
    for (int i = 0; ok && i < l->ring; i++) {
        slot *s = &l->slots[i];
        s->batch = -1;
        for (int v = 0; v < views; v++) ok = ok && (s->x[v] = malloc(floats * sizeof(float))) != NULL;
        s->labels = malloc((size_t)cfg->batch * sizeof(int32_t));
        s->indices = malloc((size_t)cfg->batch * sizeof(int64_t));
        ok = ok && s->labels && s->indices;
    }
    if (ok) ok = (l->workers = calloc((size_t)cfg->workers, sizeof *l->workers)) != NULL;
    if (!ok) {
        mbt_loader_destroy(l);
        return MBT_FAIL(MBT_ERR_NOMEM, "loader: cannot allocate %d batch buffers of %d x %d images of %dx%d", l->ring,
                        views, cfg->batch, cfg->recipe.size, cfg->recipe.size);
    }
    for (int i = 0; i < cfg->workers; i++) {
        worker *w = &l->workers[i];
        w->owner = l;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            mbt_loader_destroy(l);
            return MBT_FAIL(MBT_ERR_BACKEND, "loader: cannot start worker thread %d", i);
        }
        w->started = 1;
    }
    *out = l;
    return MBT_OK;
}

mbt_status mbt_loader_start(mbt_loader *l, uint32_t epoch, int64_t skip) {
    MBT_CHECK_ARG(epoch < (1u << 20), "loader: epoch %u is out of range (< 2^20)", epoch);
    MBT_CHECK_ARG(skip >= 0 && skip <= l->batches, "loader: cannot start at batch %lld of %lld", (long long)skip,
                  (long long)l->batches);
    pthread_mutex_lock(&l->mu);
    l->gen++;
    l->active = 0;
    while (l->busy > 0) pthread_cond_wait(&l->ready_cv, &l->mu);
    if (l->cfg.mode == MBT_LOADER_PAIR) mbt_loader_epoch_order(l->cfg.seed, epoch, l->order, l->count);
    for (int i = 0; i < l->ring; i++) l->slots[i].batch = -1;
    l->epoch = epoch;
    l->head = skip;
    l->holding = 0;
    l->next_item = skip * l->chunks;
    l->end_item = l->batches * l->chunks;
    l->err = MBT_OK;
    l->err_msg[0] = 0;
    l->active = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    return MBT_OK;
}

mbt_status mbt_loader_next(mbt_loader *l, mbt_batch *b) {
    memset(b, 0, sizeof *b);
    pthread_mutex_lock(&l->mu);
    if (l->holding) {
        l->holding = 0;
        l->head++;
        pthread_cond_broadcast(&l->work_cv);
    }
    if (l->gen == 0) {
        pthread_mutex_unlock(&l->mu);
        return MBT_FAIL(MBT_ERR_ARG, "loader: mbt_loader_start was not called");
    }
    b->index = l->head;
    if (l->head >= l->batches) {
        pthread_mutex_unlock(&l->mu);
        return MBT_OK;
    }
    slot *s = &l->slots[l->head % l->ring];
    while (l->err == MBT_OK && !(s->batch == l->head && s->done == l->chunks)) pthread_cond_wait(&l->ready_cv, &l->mu);
    if (l->err != MBT_OK) {
        mbt_status st = l->err;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", l->err_msg);
        pthread_mutex_unlock(&l->mu);
        return MBT_FAIL(st, "%s", msg);
    }
    l->holding = 1;
    int64_t left = l->count - l->head * l->cfg.batch;
    b->n = left < l->cfg.batch ? (int)left : l->cfg.batch;
    for (int v = 0; v < l->views; v++) b->x[v] = s->x[v];
    b->views = l->views;
    b->x1 = s->x[0];
    b->x2 = s->x[1]; /* NULL in eval mode */
    b->labels = s->labels;
    b->indices = s->indices;
    pthread_mutex_unlock(&l->mu);
    return MBT_OK;
}
