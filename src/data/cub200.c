/* Caltech-UCSD Birds-200-2011 (CUB_200_2011.tgz) with its official split, read as the reference does
 * (transfer_datasets/cu_birds.py): images.txt ("<id> <path>"), image_class_labels.txt ("<id> <class>",
 * classes 1..200) and train_test_split.txt ("<id> <1: train, 0: test>"); images in the order of
 * images.txt, under images/; labels class - 1. Class names from classes.txt when it is there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"

typedef struct {
    long long id;
    const char *value; /* the rest of the line after the first space */
    int64_t line;
} id_entry;

static int cmp_id(const void *a, const void *b) {
    const id_entry *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Parses "<id> <value>" lines (blank lines skipped) into entries sorted by id (a repeated id keeps its
 * last value, as the reference's dict does). */
static mbt_status parse_ids(const mbt_text_lines *t, const char *path, id_entry **out, int64_t *n_out) {
    id_entry *e = malloc((size_t)(t->count > 0 ? t->count : 1) * sizeof *e);
    if (!e) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    int64_t n = 0;
    for (int64_t i = 0; i < t->count; i++) {
        const char *line = t->line[i];
        if (mbt_text_blank(line)) continue;
        char *end;
        long long id = strtoll(line, &end, 10);
        if (end == line || *end != ' ' || !end[1]) {
            free(e);
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld is '%s', expected '<image id> <value>'", path, (long long)i + 1,
                            line);
        }
        e[n++] = (id_entry){id, end + 1, i + 1};
    }
    /* sorted by id; of a repeated id the entry of the latest line stays */
    qsort(e, (size_t)n, sizeof *e, cmp_id);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (k > 0 && e[k - 1].id == e[i].id) {
            if (e[i].line > e[k - 1].line) e[k - 1] = e[i];
            continue;
        }
        e[k++] = e[i];
    }
    *out = e;
    *n_out = k;
    return MBT_OK;
}

static const id_entry *find_id(const id_entry *e, int64_t n, long long id) {
    id_entry key = {id, NULL, 0};
    return n ? bsearch(&key, e, (size_t)n, sizeof *e, cmp_id) : NULL;
}

static void find_root(const char *dir, char *root, size_t n) {
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/images.txt", dir);
    if (mbt_is_file(probe)) {
        snprintf(root, n, "%s", dir);
        return;
    }
    snprintf(probe, sizeof probe, "%s/CUB_200_2011/images.txt", dir);
    snprintf(root, n, mbt_is_file(probe) ? "%s/CUB_200_2011" : "%s", dir);
}

/* Strict integer of a whole field; 0 if it is not one. */
static int parse_int(const char *s, long *v) {
    char *end;
    *v = strtol(s, &end, 10);
    return end != s && mbt_text_blank(end);
}

mbt_status mbt_cub200_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char root[4096], p_images[4200], p_labels[4200], p_split[4200], p_classes[4200], images[4200];
    find_root(dir, root, sizeof root);
    snprintf(p_images, sizeof p_images, "%s/images.txt", root);
    snprintf(p_labels, sizeof p_labels, "%s/image_class_labels.txt", root);
    snprintf(p_split, sizeof p_split, "%s/train_test_split.txt", root);
    snprintf(p_classes, sizeof p_classes, "%s/classes.txt", root);
    snprintf(images, sizeof images, "%s/images", root);
    mbt_text_lines ti = {0}, tl = {0}, ts = {0}, tc = {0};
    id_entry *labels = NULL, *splits = NULL;
    int64_t n_labels = 0, n_splits = 0;
    mbt_file_list l = {0};
    char **names = NULL;
    int num_classes = 0;
    mbt_status st = mbt_text_lines_read(&ti, p_images);
    if (st == MBT_OK) st = mbt_text_lines_read(&tl, p_labels);
    if (st == MBT_OK) st = mbt_text_lines_read(&ts, p_split);
    if (st == MBT_OK) st = parse_ids(&tl, p_labels, &labels, &n_labels);
    if (st == MBT_OK) st = parse_ids(&ts, p_split, &splits, &n_splits);
    /* classes.txt ("<class id> <name>", ids 1..N in order) names the classes when present */
    if (st == MBT_OK && mbt_is_file(p_classes)) {
        st = mbt_text_lines_read(&tc, p_classes);
        if (st == MBT_OK && !(names = calloc((size_t)(tc.count > 0 ? tc.count : 1), sizeof *names)))
            st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", p_classes);
        for (int64_t i = 0; st == MBT_OK && i < tc.count; i++) {
            if (mbt_text_blank(tc.line[i])) continue;
            char *sp = strchr(tc.line[i], ' ');
            long id;
            if (sp) *sp = 0;
            if (!sp || !parse_int(tc.line[i], &id) || id != num_classes + 1)
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: expected '%d <name>'", p_classes, (long long)i + 1,
                              num_classes + 1);
            else names[num_classes++] = sp + 1;
        }
    }
    int max_label = 0;
    for (int64_t i = 0; st == MBT_OK && i < ti.count; i++) {
        const char *line = ti.line[i];
        if (mbt_text_blank(line)) continue;
        char *end;
        long long id = strtoll(line, &end, 10);
        if (end == line || *end != ' ' || !end[1]) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld is '%s', expected '<image id> <path>'", p_images, (long long)i + 1,
                          line);
            break;
        }
        const id_entry *lab = find_id(labels, n_labels, id), *sp = find_id(splits, n_splits, id);
        long label = 0, is_train = 0;
        if (!lab) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no label for image id %lld", p_labels, id);
        else if (!sp) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no split for image id %lld", p_split, id);
        else if (!parse_int(lab->value, &label) || label < 1 || label > 100000 || (num_classes && label > num_classes))
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: bad label '%s' (classes 1..%d expected)", p_labels,
                          (long long)lab->line, lab->value, num_classes ? num_classes : 200);
        else if (!parse_int(sp->value, &is_train) || (is_train != 0 && is_train != 1))
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: '%s' is neither 1 (train) nor 0 (test)", p_split,
                          (long long)sp->line, sp->value);
        if (st != MBT_OK) break;
        if (label > max_label) max_label = (int)label;
        if (is_train == (split == MBT_SPLIT_TEST ? 0 : 1)) st = mbt_file_list_add(&l, images, end + 1, (int32_t)(label - 1), NULL);
    }
    if (st == MBT_OK && l.count == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no %s images listed", p_images,
                                                     split == MBT_SPLIT_TEST ? "test" : "training");
    char *block = NULL;
    if (st == MBT_OK && !num_classes) {
        /* no classes.txt: the classes are 1..the largest label of any image, named by their number */
        num_classes = max_label;
        free(names);
        names = calloc((size_t)num_classes, sizeof *names);
        block = names ? malloc((size_t)num_classes * 12) : NULL;
        if (!block) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", p_labels);
        for (int c = 0; st == MBT_OK && c < num_classes; c++) {
            names[c] = block + (size_t)c * 12;
            snprintf(names[c], 12, "%d", c + 1);
        }
    }
    if (st == MBT_OK) {
        char desc[4300];
        snprintf(desc, sizeof desc, "CUB-200-2011 %s %s", split == MBT_SPLIT_TEST ? "test" : "train", root);
        st = mbt_file_list_wrap(ds, &l, num_classes, (const char *const *)names, desc);
    }
    free(block);
    free(names);
    free(labels);
    free(splits);
    mbt_file_list_free(&l);
    mbt_text_lines_free(&ti);
    mbt_text_lines_free(&tl);
    mbt_text_lines_free(&ts);
    mbt_text_lines_free(&tc);
    return st;
}
