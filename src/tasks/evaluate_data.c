/* Datasets, loaders and single-view training batches of the evaluation protocols (see evaluate_data.h). */
#include "tasks/evaluate_data.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

void mbt_eval_data_close(mbt_eval_data *d) {
    for (int p = 0; p < 2; p++) {
        mbt_dataset_destroy(d->part[p]);
        mbt_dataset_destroy(d->full[p]);
    }
    memset(d, 0, sizeof *d);
}

mbt_status mbt_eval_data_set_image_size(mbt_eval_data *d, int image_size) {
    MBT_CHECK_ARG(d->kind != NULL, "evaluation data: not opened");
    MBT_CHECK_ARG(image_size >= 8, "evaluation data: image size %d", image_size);
    const mbt_dataset *any = d->full[MBT_EVAL_TRAIN] ? d->full[MBT_EVAL_TRAIN] : d->full[MBT_EVAL_TEST];
    MBT_TRY(mbt_dataset_kind_recipe(d->kind, any, image_size, &d->recipe));
    d->image_size = image_size;
    return MBT_OK;
}

mbt_status mbt_eval_data_set_recipe(mbt_eval_data *d, const mbt_augment_recipe *recipe) {
    MBT_CHECK_ARG(d->kind != NULL, "evaluation data: not opened");
    MBT_CHECK_ARG(recipe->size >= 1, "evaluation data: recipe image size %d", recipe->size);
    d->recipe = *recipe;
    d->image_size = recipe->size;
    return MBT_OK;
}

static mbt_status open_all(mbt_eval_data *d, const mbt_eval_data_config *c) {
    char names[256];
    d->kind = mbt_dataset_kind_find(c->dataset, 0);
    MBT_CHECK_ARG(d->kind != NULL, "--dataset %s: unknown (%s)", c->dataset ? c->dataset : "(none)",
                  mbt_dataset_kind_names(names, sizeof names, 0, ", ", NULL));
    MBT_CHECK_ARG(c->data_dir && *c->data_dir, "--data: no folder given");
    MBT_CHECK_ARG(c->open_train || c->open_test, "evaluation data: no split asked for");
    const mbt_split splits[2] = {MBT_SPLIT_TRAIN, MBT_SPLIT_TEST};
    const int want[2] = {c->open_train, c->open_test}, limit[2] = {c->train_limit, c->test_limit};
    for (int p = 0; p < 2; p++) {
        if (!want[p]) continue;
        MBT_TRY(mbt_dataset_open(&d->full[p], c->dataset, c->data_dir, splits[p]));
        MBT_TRY(mbt_dataset_kind_subset(d->kind, d->full[p], limit[p], &d->part[p]));
        if (mbt_dataset_count(d->part[p]) < 1)
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: no images", mbt_dataset_describe(d->full[p]));
        if (mbt_dataset_label(d->part[p], 0) < 0)
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: unlabelled images cannot be evaluated",
                                mbt_dataset_describe(d->full[p]));
    }
    d->num_classes = mbt_dataset_num_classes(d->full[c->open_train ? MBT_EVAL_TRAIN : MBT_EVAL_TEST]);
    if (c->open_train && c->open_test &&
        mbt_dataset_num_classes(d->full[MBT_EVAL_TEST]) != mbt_dataset_num_classes(d->full[MBT_EVAL_TRAIN]))
        return MBT_FAIL(MBT_ERR_FORMAT, "--data %s: %d classes in the training split, %d in the test split", c->data_dir,
                        mbt_dataset_num_classes(d->full[MBT_EVAL_TRAIN]), mbt_dataset_num_classes(d->full[MBT_EVAL_TEST]));
    return c->image_size > 0 ? mbt_eval_data_set_image_size(d, c->image_size) : MBT_OK;
}

mbt_status mbt_eval_data_open(mbt_eval_data *d, const mbt_eval_data_config *c) {
    memset(d, 0, sizeof *d);
    mbt_status st = open_all(d, c);
    if (st != MBT_OK) mbt_eval_data_close(d);
    return st;
}

int64_t mbt_eval_data_count(const mbt_eval_data *d, mbt_eval_part part) {
    return d->part[part] ? mbt_dataset_count(d->part[part]) : 0;
}

mbt_status mbt_eval_data_loader(const mbt_eval_data *d, mbt_eval_part part, int batch, int workers,
                                mbt_loader **loader) {
    MBT_CHECK_ARG(d->part[part] != NULL, "evaluation data: the %s split was not opened",
                  part == MBT_EVAL_TRAIN ? "training" : "test");
    MBT_CHECK_ARG(d->image_size > 0, "evaluation data: no image size set");
    mbt_loader_config lc = {d->part[part], d->recipe, MBT_LOADER_EVAL, batch, workers > 0 ? workers : 1, 0, 0, 0};
    return mbt_loader_create(loader, &lc);
}

/* ---- single-view shuffled batches ----------------------------------------------------------------- */

typedef struct {
    mbt_dataset_reader reader;
    mbt_image image;
    mbt_augment_scratch scratch;
} view_worker;

struct mbt_view_batches {
    const mbt_dataset *dataset;
    mbt_augment_recipe recipe;
    int augment; /* 1: the recipe's training transform; 0: its evaluation transform */
    int batch, workers;
    uint64_t seed;
    int64_t count, next;
    uint32_t epoch;
    int32_t *order;
    float *x;
    int32_t *labels;
    view_worker *w;
};

void mbt_view_batches_destroy(mbt_view_batches *vb) {
    if (!vb) return;
    for (int i = 0; vb->w && i < vb->workers; i++) {
        mbt_dataset_reader_free(&vb->w[i].reader);
        mbt_image_free(&vb->w[i].image);
        mbt_augment_scratch_free(&vb->w[i].scratch);
    }
    free(vb->w);
    free(vb->order);
    free(vb->x);
    free(vb->labels);
    free(vb);
}

mbt_status mbt_view_batches_create(mbt_view_batches **out, const mbt_dataset *dataset, const mbt_augment_recipe *recipe,
                                   int batch, int workers, uint64_t seed) {
    *out = NULL;
    int64_t count = mbt_dataset_count(dataset);
    MBT_CHECK_ARG(batch >= 1 && workers >= 1, "view batches: batch %d, workers %d", batch, workers);
    MBT_CHECK_ARG(count >= 1 && count < INT32_MAX, "view batches: %lld images", (long long)count);
    mbt_view_batches *vb = calloc(1, sizeof *vb);
    if (!vb) return MBT_FAIL(MBT_ERR_NOMEM, "view batches: out of memory");
    vb->dataset = dataset;
    vb->recipe = *recipe;
    vb->augment = 1;
    vb->batch = batch;
    vb->workers = workers;
    vb->seed = seed;
    vb->count = count;
    vb->next = count; /* no epoch started */
    size_t per_image = (size_t)3 * recipe->size * recipe->size;
    vb->order = malloc((size_t)count * sizeof(int32_t));
    vb->x = malloc((size_t)batch * per_image * sizeof(float));
    vb->labels = malloc((size_t)batch * sizeof(int32_t));
    vb->w = calloc((size_t)workers, sizeof *vb->w);
    if (!vb->order || !vb->x || !vb->labels || !vb->w) {
        mbt_view_batches_destroy(vb);
        return MBT_FAIL(MBT_ERR_NOMEM, "view batches: out of memory for batches of %d images", batch);
    }
    *out = vb;
    return MBT_OK;
}

void mbt_view_batches_set_augment(mbt_view_batches *vb, int augment) { vb->augment = augment ? 1 : 0; }

int64_t mbt_view_batches_per_epoch(const mbt_view_batches *vb) { return (vb->count + vb->batch - 1) / vb->batch; }

mbt_status mbt_view_batches_start(mbt_view_batches *vb, uint32_t epoch) {
    MBT_CHECK_ARG(epoch < (1u << 20), "view batches: epoch %u out of range", epoch);
    mbt_rng rng;
    mbt_rng_init(&rng, vb->seed, mbt_rng_stream_id(MBT_RNG_TAG_EVAL_ORDER, epoch, 0, 0));
    mbt_rng_permutation(&rng, vb->order, (int)vb->count);
    vb->epoch = epoch;
    vb->next = 0;
    return MBT_OK;
}

mbt_status mbt_view_batches_next(mbt_view_batches *vb, const float **x, const int32_t **labels, int *n) {
    int64_t first = vb->next, left = vb->count - first;
    int m = left < vb->batch ? (int)left : vb->batch;
    *x = vb->x;
    *labels = vb->labels;
    *n = m;
    if (m <= 0) {
        *n = 0;
        return MBT_OK;
    }
    size_t per_image = (size_t)3 * vb->recipe.size * vb->recipe.size;
    mbt_status err = MBT_OK;
    char msg[512] = "";
#pragma omp parallel for num_threads(vb->workers) schedule(dynamic, 4)
    for (int p = 0; p < m; p++) {
        view_worker *w = &vb->w[omp_get_thread_num()];
        int64_t idx = vb->order[first + p];
        mbt_rng rng;
        mbt_rng_init(&rng, vb->seed, mbt_rng_stream_id(MBT_RNG_TAG_EVAL_VIEW, vb->epoch, (uint64_t)idx, 0));
        mbt_status st = mbt_dataset_image(vb->dataset, idx, &w->reader, &w->image);
        if (st == MBT_OK && vb->augment) {
            mbt_augment_params params;
            mbt_augment_draw(&vb->recipe, w->image.width, w->image.height, &rng, &params);
            st = mbt_augment_apply(&vb->recipe, &params, &w->image, &w->scratch, vb->x + (size_t)p * per_image);
        } else if (st == MBT_OK) {
            st = mbt_augment_eval(&vb->recipe, &w->image, &w->scratch, vb->x + (size_t)p * per_image);
        }
        vb->labels[p] = mbt_dataset_label(vb->dataset, idx);
        if (st != MBT_OK) {
#pragma omp critical(mbt_view_batches_error)
            if (err == MBT_OK) {
                err = st;
                snprintf(msg, sizeof msg, "%s", mbt_error_message()); /* the message is thread-local */
            }
        }
    }
    if (err != MBT_OK) return MBT_FAIL(err, "%s", msg);
    vb->next += m;
    return MBT_OK;
}
