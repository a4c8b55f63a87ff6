/* The dataset interface: shared storage with a reference count and views (the opener by name is in
 * dataset_kind.c). */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset_impl.h"

typedef struct {
    int refs;
    const mbt_dataset_ops *ops;
    void *impl;
    int32_t *labels;
    int64_t count;
    int num_classes;
    int in_memory;
    char **class_names; /* num_classes pointers into one block (class_names[0]) */
    char *description;
} shared_storage;

struct mbt_dataset {
    shared_storage *s;
    int64_t count;
    int64_t *index; /* image i is storage image index[i] (NULL: image i) */
};

static int64_t resolve(const mbt_dataset *ds, int64_t i) { return ds->index ? ds->index[i] : i; }

void mbt_dataset_reader_free(mbt_dataset_reader *rd) { mbt_file_buffer_free(&rd->file); }

int mbt_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mbt_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void release(shared_storage *s) {
    if (!s || --s->refs > 0) return;
    if (s->ops && s->ops->destroy) s->ops->destroy(s->impl);
    free(s->labels);
    if (s->class_names) free(s->class_names[0]);
    free(s->class_names);
    free(s->description);
    free(s);
}

/* num names copied into one block behind an array of pointers (NULL on allocation failure). */
static char **copy_names(const char *const *names, int num) {
    size_t bytes = 0;
    for (int c = 0; c < num; c++) bytes += strlen(names[c]) + 1;
    char **out = malloc((size_t)(num > 0 ? num : 1) * sizeof *out);
    char *block = malloc(bytes > 0 ? bytes : 1);
    if (!out || !block) {
        free(out);
        free(block);
        return NULL;
    }
    for (int c = 0; c < num; c++) {
        size_t n = strlen(names[c]) + 1;
        memcpy(block, names[c], n);
        out[c] = block;
        block += n;
    }
    if (num == 0) out[0] = block;
    return out;
}

mbt_status mbt_dataset_wrap(mbt_dataset **ds, const mbt_dataset_ops *ops, void *impl, int32_t *labels, int64_t count,
                            int num_classes, const char *const *class_names, int in_memory, const char *description) {
    *ds = NULL;
    shared_storage *s = calloc(1, sizeof *s);
    mbt_dataset *d = calloc(1, sizeof *d);
    char *desc = strdup(description);
    char **names = copy_names(class_names, num_classes);
    if (!s || !d || !desc || !names) {
        free(s);
        free(d);
        free(desc);
        if (names) free(names[0]);
        free(names);
        if (ops->destroy) ops->destroy(impl);
        free(labels);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", description);
    }
    *s = (shared_storage){1, ops, impl, labels, count, num_classes, in_memory ? 1 : 0, names, desc};
    d->s = s;
    d->count = count;
    *ds = d;
    return MBT_OK;
}

static mbt_status make_view(mbt_dataset **out, const mbt_dataset *base, int64_t count, int spread) {
    *out = NULL;
    mbt_dataset *d = calloc(1, sizeof *d);
    if (!d) return MBT_FAIL(MBT_ERR_NOMEM, "dataset view: out of memory");
    d->count = count > 0 && count < base->count ? count : base->count;
    if (spread || base->index) {
        d->index = malloc((size_t)d->count * sizeof *d->index);
        if (!d->index) {
            long long n = (long long)d->count;
            free(d);
            return MBT_FAIL(MBT_ERR_NOMEM, "dataset view: out of memory for %lld indices", n);
        }
        for (int64_t i = 0; i < d->count; i++)
            d->index[i] = resolve(base, spread ? (int64_t)((double)i * (double)base->count / (double)d->count) : i);
    }
    d->s = base->s;
    d->s->refs++;
    *out = d;
    return MBT_OK;
}

mbt_status mbt_dataset_view(mbt_dataset **out, const mbt_dataset *base, int64_t count) {
    return make_view(out, base, count, 0);
}

mbt_status mbt_dataset_view_spread(mbt_dataset **out, const mbt_dataset *base, int64_t count) {
    return make_view(out, base, count, 1);
}

void mbt_dataset_destroy(mbt_dataset *ds) {
    if (!ds) return;
    release(ds->s);
    free(ds->index);
    free(ds);
}

int64_t mbt_dataset_count(const mbt_dataset *ds) { return ds->count; }
int mbt_dataset_num_classes(const mbt_dataset *ds) { return ds->s->num_classes; }
int32_t mbt_dataset_label(const mbt_dataset *ds, int64_t i) { return ds->s->labels[resolve(ds, i)]; }
const char *mbt_dataset_describe(const mbt_dataset *ds) { return ds->s->description; }
int mbt_dataset_in_memory(const mbt_dataset *ds) { return ds->s->in_memory; }

const char *mbt_dataset_class_name(const mbt_dataset *ds, int c) {
    return c >= 0 && c < ds->s->num_classes ? ds->s->class_names[c] : NULL;
}

mbt_status mbt_dataset_image(const mbt_dataset *ds, int64_t i, mbt_dataset_reader *rd, mbt_image *img) {
    if (i < 0 || i >= ds->count)
        return MBT_FAIL(MBT_ERR_ARG, "%s: image %lld is out of range (%lld images)", ds->s->description, (long long)i,
                        (long long)ds->count);
    return ds->s->ops->read(ds->s->impl, resolve(ds, i), rd, img);
}
