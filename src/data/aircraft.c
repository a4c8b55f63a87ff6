/* FGVC-Aircraft (fgvc-aircraft-2013b.tar.gz) at the variant level, as the reference reads it
 * (transfer_datasets/aircraft.py): data/images_variant_trainval.txt (training) or
 * data/images_variant_test.txt (test), lines "<image name> <variant, may hold spaces>"; classes = the
 * sorted variants; images grouped by class, each class's names sorted; every image is
 * data/images/<name>.jpg cropped to its box in data/images_box.txt ("<name> xmin ymin xmax ymax",
 * used as PIL's crop box: columns xmin..xmax-1, rows ymin..ymax-1). The class list is taken from both
 * variant files together (each holds all 100 variants, so it is the list the reference builds from
 * either alone), so that the two splits agree on the labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"

static void find_root(const char *dir, char *root, size_t n) {
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/data/images_box.txt", dir);
    if (mbt_is_file(probe)) {
        snprintf(root, n, "%s", dir);
        return;
    }
    snprintf(probe, sizeof probe, "%s/fgvc-aircraft-2013b/data/images_box.txt", dir);
    snprintf(root, n, mbt_is_file(probe) ? "%s/fgvc-aircraft-2013b" : "%s", dir);
}

typedef struct {
    const char *name, *variant;
    int64_t line;
} named;

static int cmp_named_name(const void *a, const void *b) {
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Splits "<name> <rest>" lines in place into entries sorted by name; a repeated name keeps its last
 * line's value (the reference builds a dict). */
static mbt_status parse_pairs(mbt_text_lines *t, const char *path, const char *want, named **out, int64_t *n_out) {
    named *e = malloc((size_t)(t->count > 0 ? t->count : 1) * sizeof *e);
    if (!e) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    int64_t n = 0;
    for (int64_t i = 0; i < t->count; i++) {
        char *line = t->line[i];
        if (mbt_text_blank(line)) continue;
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || !sp[1]) {
            free(e);
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld is '%s', expected '%s'", path, (long long)i + 1, line, want);
        }
        *sp = 0;
        e[n++] = (named){line, sp + 1, i};
    }
    qsort(e, (size_t)n, sizeof *e, cmp_named_name);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (k > 0 && !strcmp(e[k - 1].name, e[i].name)) e[k - 1] = e[i]; /* later line wins */
        else e[k++] = e[i];
    }
    *out = e;
    *n_out = k;
    return MBT_OK;
}

static const named *find_name(const named *e, int64_t n, const char *name) {
    named key = {name, NULL, 0};
    /* the comparison also orders by line, so search by name alone */
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(e[mid].name, key.name);
        if (!c) return &e[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

static int cmp_by_class_name(const void *a, const void *b) {
    const named *x = a, *y = b;
    int64_t cx = x->line, cy = y->line; /* holds the class index here */
    if (cx != cy) return (cx > cy) - (cx < cy);
    return strcmp(x->name, y->name);
}

/* The box "xmin ymin xmax ymax" of one images_box.txt value. */
static int parse_box(const char *s, mbt_crop_rect *b) {
    long v[4];
    char *end;
    for (int k = 0; k < 4; k++) {
        v[k] = strtol(s, &end, 10);
        if (end == s || v[k] < -1000000 || v[k] > 1000000) return 0;
        s = end;
    }
    if (!mbt_text_blank(s)) return 0;
    *b = (mbt_crop_rect){(int32_t)v[0], (int32_t)v[1], (int32_t)v[2], (int32_t)v[3]};
    return 1;
}

mbt_status mbt_aircraft_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char root[4096], p_box[4200], p_var[2][4200], images[4200];
    find_root(dir, root, sizeof root);
    snprintf(p_box, sizeof p_box, "%s/data/images_box.txt", root);
    snprintf(p_var[0], sizeof p_var[0], "%s/data/images_variant_trainval.txt", root);
    snprintf(p_var[1], sizeof p_var[1], "%s/data/images_variant_test.txt", root);
    snprintf(images, sizeof images, "%s/data/images", root);
    int part = split == MBT_SPLIT_TEST ? 1 : 0;
    mbt_text_lines tv[2] = {{0}}, tb = {0};
    named *var[2] = {NULL, NULL}, *box = NULL;
    int64_t n_var[2] = {0, 0}, n_box = 0;
    mbt_str_set variants = {0};
    mbt_file_list l = {0};
    mbt_status st = MBT_OK;
    for (int k = 0; k < 2 && st == MBT_OK; k++) {
        st = mbt_text_lines_read(&tv[k], p_var[k]);
        if (st == MBT_OK) st = parse_pairs(&tv[k], p_var[k], "<image name> <variant>", &var[k], &n_var[k]);
        for (int64_t i = 0; st == MBT_OK && i < n_var[k]; i++) st = mbt_str_set_add(&variants, var[k][i].variant);
    }
    mbt_str_set_finish(&variants);
    if (st == MBT_OK) st = mbt_text_lines_read(&tb, p_box);
    if (st == MBT_OK) st = parse_pairs(&tb, p_box, "<image name> xmin ymin xmax ymax", &box, &n_box);
    if (st == MBT_OK && n_var[part] == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no images listed", p_var[part]);
    if (st == MBT_OK) {
        /* group by class (sorted variants), names sorted within each */
        named *e = var[part];
        for (int64_t i = 0; i < n_var[part]; i++) e[i].line = mbt_str_set_find(&variants, e[i].variant);
        qsort(e, (size_t)n_var[part], sizeof *e, cmp_by_class_name);
        for (int64_t i = 0; st == MBT_OK && i < n_var[part]; i++) {
            const named *b = find_name(box, n_box, e[i].name);
            mbt_crop_rect r;
            char file[1100];
            if (!b) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no bounding box for image %s", p_box, e[i].name);
            else if (!parse_box(b->variant, &r))
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: bad box '%s' of image %s (xmin ymin xmax ymax expected)",
                              p_box, (long long)b->line + 1, b->variant, e[i].name);
            else if (r.x1 <= r.x0 || r.y1 <= r.y0)
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: empty box '%s' of image %s", p_box, (long long)b->line + 1,
                              b->variant, e[i].name);
            else if (snprintf(file, sizeof file, "%s.jpg", e[i].name) >= (int)sizeof file)
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: image name too long", p_var[part]);
            else st = mbt_file_list_add(&l, images, file, (int32_t)e[i].line, &r);
        }
    }
    if (st == MBT_OK) {
        char desc[4300];
        snprintf(desc, sizeof desc, "FGVC-Aircraft %s (variants) %s", part ? "test" : "trainval", root);
        st = mbt_file_list_wrap(ds, &l, (int)variants.n, (const char *const *)variants.items, desc);
    }
    mbt_file_list_free(&l);
    mbt_str_set_free(&variants);
    for (int k = 0; k < 2; k++) {
        free(var[k]);
        mbt_text_lines_free(&tv[k]);
    }
    free(box);
    mbt_text_lines_free(&tb);
    return st;
}
