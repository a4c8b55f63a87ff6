/* Labelled image-file lists as datasets, and text-line reading for the transfer-set readers. */
#include "data/file_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "io/read_file.h"

mbt_status mbt_file_list_add(mbt_file_list *l, const char *dir, const char *name, int32_t label,
                             const mbt_crop_rect *box) {
    size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 65536;
        while (cap < l->len + n) cap *= 2;
        char *p = realloc(l->chars, cap);
        if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "image list: out of memory");
        l->chars = p;
        l->cap = cap;
    }
    if (l->count == l->cap_n) {
        int64_t cap = l->cap_n ? 2 * l->cap_n : 1024;
        size_t *o = realloc(l->offsets, (size_t)cap * sizeof *o);
        if (o) l->offsets = o;
        int32_t *lab = realloc(l->labels, (size_t)cap * sizeof *lab);
        if (lab) l->labels = lab;
        mbt_crop_rect *b = l->boxes ? realloc(l->boxes, (size_t)cap * sizeof *b) : NULL;
        if (b) l->boxes = b;
        if (!o || !lab || (l->boxes && !b)) return MBT_FAIL(MBT_ERR_NOMEM, "image list: out of memory");
        l->cap_n = cap;
    }
    if (box && !l->boxes) {
        if (l->count > 0) return MBT_FAIL(MBT_ERR_ARG, "image list: a crop box for %s but not for the files before", name);
        if (!(l->boxes = malloc((size_t)l->cap_n * sizeof *l->boxes))) return MBT_FAIL(MBT_ERR_NOMEM, "image list: out of memory");
    }
    if (!box && l->boxes) return MBT_FAIL(MBT_ERR_ARG, "image list: no crop box for %s", name);
    l->offsets[l->count] = l->len;
    l->labels[l->count] = label;
    if (box) l->boxes[l->count] = *box;
    l->count++;
    l->len += (size_t)(dir ? sprintf(l->chars + l->len, "%s/%s", dir, name) : sprintf(l->chars + l->len, "%s", name)) + 1;
    return MBT_OK;
}

void mbt_file_list_free(mbt_file_list *l) {
    free(l->chars);
    free(l->offsets);
    free(l->labels);
    free(l->boxes);
    memset(l, 0, sizeof *l);
}

/* PIL's Image.crop(box): the box's pixels, black where the box leaves the image. */
static mbt_status crop(const mbt_image *src, const mbt_crop_rect *b, const char *path, mbt_image *dst) {
    int w = b->x1 - b->x0, h = b->y1 - b->y0;
    if (w <= 0 || h <= 0)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: empty crop box (%d, %d, %d, %d)", path, b->x0, b->y0, b->x1, b->y1);
    MBT_TRY(mbt_image_reserve(dst, w, h));
    for (int y = 0; y < h; y++) {
        uint8_t *row = dst->data + (size_t)y * w * 3;
        int sy = b->y0 + y;
        if (sy < 0 || sy >= src->height) {
            memset(row, 0, (size_t)w * 3);
            continue;
        }
        for (int x = 0; x < w; x++) {
            int sx = b->x0 + x;
            if (sx < 0 || sx >= src->width) memset(row + 3 * x, 0, 3);
            else memcpy(row + 3 * x, src->data + ((size_t)sy * src->width + sx) * 3, 3);
        }
    }
    return MBT_OK;
}

typedef struct {
    mbt_file_list list;
} list_store;

static mbt_status list_read(const void *impl, int64_t i, mbt_dataset_reader *rd, mbt_image *img) {
    const mbt_file_list *l = &((const list_store *)impl)->list;
    const char *path = l->chars + l->offsets[i];
    if (!l->boxes) return mbt_image_load(path, &rd->file, img);
    mbt_image full = {0};
    mbt_status st = mbt_image_load(path, &rd->file, &full);
    if (st == MBT_OK) st = crop(&full, &l->boxes[i], path, img);
    mbt_image_free(&full);
    return st;
}

static void list_destroy(void *impl) {
    list_store *s = impl;
    if (!s) return;
    mbt_file_list_free(&s->list);
    free(s);
}

static const mbt_dataset_ops list_ops = {list_read, list_destroy};

mbt_status mbt_file_list_wrap(mbt_dataset **ds, mbt_file_list *l, int num_classes, const char *const *class_names,
                              const char *description) {
    *ds = NULL;
    list_store *s = malloc(sizeof *s);
    if (!s) {
        mbt_file_list_free(l);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", description);
    }
    s->list = *l;
    memset(l, 0, sizeof *l);
    int32_t *labels = s->list.labels;
    s->list.labels = NULL; /* the dataset owns them */
    return mbt_dataset_wrap(ds, &list_ops, s, labels, s->list.count, num_classes, class_names, 0, description);
}

/* ---- text lines ---------------------------------------------------------------------------------- */

mbt_status mbt_text_lines_read(mbt_text_lines *t, const char *path) {
    memset(t, 0, sizeof *t);
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file", path);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    char *text = buf;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    n += len > 0 && text[len - 1] != '\n';
    t->text = text;
    t->line = malloc((size_t)(n > 0 ? n : 1) * sizeof *t->line);
    if (!t->line) {
        free(text);
        t->text = NULL;
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    }
    char *p = text, *end = text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = 0; /* the extra NUL of mbt_read_file covers the last line */
        if (stop > p && stop[-1] == '\r') stop[-1] = 0;
        t->line[t->count++] = p;
        p = stop + 1;
    }
    return MBT_OK;
}

void mbt_text_lines_free(mbt_text_lines *t) {
    free(t->text);
    free(t->line);
    memset(t, 0, sizeof *t);
}

int mbt_text_blank(const char *s) { return s[strspn(s, " \t")] == 0; }

/* ---- string sets --------------------------------------------------------------------------------- */

mbt_status mbt_str_set_add(mbt_str_set *s, const char *str) {
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 64;
        char **p = realloc(s->items, (size_t)cap * sizeof *p);
        if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "out of memory");
        s->items = p;
        s->cap = cap;
    }
    if (!(s->items[s->n] = strdup(str))) return MBT_FAIL(MBT_ERR_NOMEM, "out of memory");
    s->n++;
    return MBT_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void mbt_str_set_finish(mbt_str_set *s) {
    if (s->n > 1) qsort(s->items, (size_t)s->n, sizeof *s->items, cmp_str);
    int64_t k = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (k > 0 && !strcmp(s->items[i], s->items[k - 1])) {
            free(s->items[i]);
            continue;
        }
        s->items[k++] = s->items[i];
    }
    s->n = k;
}

int64_t mbt_str_set_find(const mbt_str_set *s, const char *str) {
    char *const *hit = s->n ? bsearch(&str, s->items, (size_t)s->n, sizeof *s->items, cmp_str) : NULL;
    return hit ? (int64_t)(hit - s->items) : -1;
}

void mbt_str_set_free(mbt_str_set *s) {
    for (int64_t i = 0; i < s->n; i++) free(s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}
