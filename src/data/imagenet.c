/* The official ImageNet layouts: Tiny-ImageNet (wnids.txt, train/<wnid>/images/, val/images/ +
 * val/val_annotations.txt) and ImageNet-1k (train/<wnid>/ of JPEGs; val/ as class folders, or flat with the
 * labels of LOC_val_solution.csv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"
#include "data/image_tree.h"
#include "io/read_file.h"

/* ---- Tiny-ImageNet -------------------------------------------------------------------------------- */

/* The sorted class ids of wnids.txt (one per line). */
static mbt_status read_wnids(const char *path, mbt_str_vec *out) {
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file", path);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    char *save = NULL;
    mbt_status st = MBT_OK;
    for (char *tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save))
        if (!mbt_tree_push(out, tok)) {
            st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
    free(buf);
    if (st == MBT_OK && out->n == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no class ids", path);
    if (st == MBT_OK && out->n > 1) qsort(out->items, out->n, sizeof *out->items, mbt_tree_cmp_str);
    for (size_t i = 1; st == MBT_OK && i < out->n; i++)
        if (!strcmp(out->items[i], out->items[i - 1]))
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: class id %s is listed twice", path, out->items[i]);
    return st;
}

static int find_class(const mbt_str_vec *wnids, const char *id) {
    char *const *hit = bsearch(&id, wnids->items, wnids->n, sizeof *wnids->items, mbt_tree_cmp_str);
    return hit ? (int)(hit - wnids->items) : -1;
}

typedef struct {
    int32_t label;
    char *name;
} val_entry;

static int cmp_val(const void *a, const void *b) {
    const val_entry *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* val/images listed by val/val_annotations.txt ("file<TAB>wnid<TAB>box..."), ordered as an ImageFolder
 * of the re-organised val folder would be: by class, then by file name. */
static mbt_status read_val_annotations(mbt_file_list *l, const char *root, const mbt_str_vec *wnids) {
    char path[4200], images[4200];
    snprintf(path, sizeof path, "%s/val/val_annotations.txt", root);
    snprintf(images, sizeof images, "%s/val/images", root);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    val_entry *entries = NULL;
    size_t n = 0, cap = 0;
    mbt_status st = MBT_OK;
    char *save = NULL;
    int line_no = 0;
    for (char *line = strtok_r(buf, "\n", &save); line && st == MBT_OK; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *tab = strchr(line, '\t');
        if (!tab) {
            if (strspn(line, " \r") == strlen(line)) continue;
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %d has no tab-separated class id", path, line_no);
            break;
        }
        *tab = 0;
        char *id = tab + 1, *end = id + strcspn(id, "\t\r");
        *end = 0;
        int c = find_class(wnids, id);
        if (c < 0) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %d: bad label, class id '%s' is not in wnids.txt", path, line_no, id);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            val_entry *p = realloc(entries, cap * sizeof *p);
            if (!p) {
                st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            entries = p;
        }
        entries[n].label = c;
        entries[n].name = line;
        n++;
    }
    if (st == MBT_OK && n == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no images listed", path);
    if (st == MBT_OK) qsort(entries, n, sizeof *entries, cmp_val);
    for (size_t i = 0; st == MBT_OK && i < n; i++)
        st = mbt_file_list_add(l, images, entries[i].name, entries[i].label, NULL);
    free(entries);
    free(buf);
    return st;
}

mbt_status mbt_tiny_imagenet_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char root[4096], path[4200];
    snprintf(root, sizeof root, "%s/tiny-imagenet-200", dir);
    snprintf(path, sizeof path, "%s/wnids.txt", root);
    if (!mbt_is_file(path)) snprintf(root, sizeof root, "%s", dir);
    snprintf(path, sizeof path, "%s/wnids.txt", root);
    mbt_str_vec wnids = {0};
    mbt_status st = read_wnids(path, &wnids);
    mbt_file_list l = {0};
    if (st == MBT_OK) {
        snprintf(path, sizeof path, "%s/val/val_annotations.txt", root);
        if (split == MBT_SPLIT_TEST && mbt_is_file(path)) {
            st = read_val_annotations(&l, root, &wnids);
        } else {
            const char *sub = split == MBT_SPLIT_TEST ? "val" : "train";
            for (size_t c = 0; st == MBT_OK && c < wnids.n; c++) {
                snprintf(path, sizeof path, "%s/%s/%s", root, sub, wnids.items[c]);
                if (!mbt_is_dir(path)) st = MBT_FAIL(MBT_ERR_IO, "%s: missing class folder", path);
                else st = mbt_tree_add_class(&l, path, (int32_t)c);
            }
        }
    }
    if (st != MBT_OK) {
        mbt_tree_free(&wnids);
        mbt_file_list_free(&l);
        return st;
    }
    char desc[4300];
    snprintf(desc, sizeof desc, "Tiny-ImageNet %s %s", split == MBT_SPLIT_TEST ? "val" : "train", root);
    st = mbt_file_list_wrap(ds, &l, (int)wnids.n, (const char *const *)wnids.items, desc);
    mbt_tree_free(&wnids);
    return st;
}

/* ---- ImageNet-1k ---------------------------------------------------------------------------------- */

/* The flat val/ folder labelled by LOC_val_solution.csv ("ImageId,PredictionString", the string's first
 * word the image's wnid; in dir or in val/), ordered as an ImageFolder of the re-organised folder would
 * be: by class, then by file name. */
static mbt_status read_val_solution(mbt_file_list *l, const char *dir, const mbt_str_vec *wnids) {
    char path[4400], images[4200];
    snprintf(images, sizeof images, "%s/val", dir);
    snprintf(path, sizeof path, "%s/LOC_val_solution.csv", dir);
    if (!mbt_is_file(path)) snprintf(path, sizeof path, "%s/val/LOC_val_solution.csv", dir);
    if (!mbt_is_file(path))
        return MBT_FAIL(MBT_ERR_IO, "%s/val: no class folders and no LOC_val_solution.csv (in %s or in val/) to label "
                        "its images", dir, dir);
    mbt_text_lines t;
    MBT_TRY(mbt_text_lines_read(&t, path));
    val_entry *entries = calloc(t.count ? (size_t)t.count : 1, sizeof *entries);
    char (*names)[64] = calloc(t.count ? (size_t)t.count : 1, sizeof *names);
    mbt_status st = entries && names ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    size_t n = 0;
    for (int64_t i = 1; st == MBT_OK && i < t.count; i++) { /* line 1: the header */
        char *line = t.line[i];
        if (mbt_text_blank(line)) continue;
        char *comma = strchr(line, ',');
        size_t id_len = comma ? (size_t)(comma - line) : 0;
        char wnid[32];
        size_t w = comma ? strcspn(comma + 1, " ") : 0;
        if (!comma || id_len == 0 || id_len + sizeof ".JPEG" > sizeof *names || w == 0 || w >= sizeof wnid) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld is not 'ImageId,wnid ...'", path, (long long)i + 1);
            break;
        }
        memcpy(wnid, comma + 1, w);
        wnid[w] = 0;
        int c = find_class(wnids, wnid);
        if (c < 0) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: class id '%s' has no folder in train/", path,
                          (long long)i + 1, wnid);
            break;
        }
        snprintf(names[n], sizeof *names, "%.*s.JPEG", (int)id_len, line);
        entries[n].label = c;
        entries[n].name = names[n];
        n++;
    }
    if (st == MBT_OK && n == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no images listed", path);
    if (st == MBT_OK) qsort(entries, n, sizeof *entries, cmp_val);
    for (size_t i = 0; st == MBT_OK && i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", images, entries[i].name);
        if (!mbt_is_file(path)) st = MBT_FAIL(MBT_ERR_IO, "%s: listed in LOC_val_solution.csv but missing", path);
        else st = mbt_file_list_add(l, images, entries[i].name, entries[i].label, NULL);
    }
    free(names);
    free(entries);
    mbt_text_lines_free(&t);
    return st;
}

mbt_status mbt_imagenet_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/train", dir);
    if (!mbt_is_dir(path)) return MBT_FAIL(MBT_ERR_IO, "--data %s: no train/ folder (ImageNet: train/<wnid>/*.JPEG)", dir);
    mbt_str_vec wnids = {0}, val_classes = {0};
    mbt_status st = mbt_tree_list(path, 1, &wnids); /* the classes: train/'s folders, sorted, as ImageFolder */
    if (st == MBT_OK && wnids.n == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no class folders", path);
    mbt_file_list l = {0};
    if (st == MBT_OK && split == MBT_SPLIT_TRAIN) {
        for (size_t c = 0; st == MBT_OK && c < wnids.n; c++) {
            snprintf(path, sizeof path, "%s/train/%s", dir, wnids.items[c]);
            st = mbt_tree_add_class(&l, path, (int32_t)c);
        }
    } else if (st == MBT_OK) {
        snprintf(path, sizeof path, "%s/val", dir);
        if (!mbt_is_dir(path)) st = MBT_FAIL(MBT_ERR_IO, "--data %s: no val/ folder", dir);
        if (st == MBT_OK) st = mbt_tree_list(path, 1, &val_classes);
        if (st == MBT_OK && val_classes.n == 0) st = read_val_solution(&l, dir, &wnids);
        for (size_t i = 0; st == MBT_OK && i < val_classes.n; i++) { /* class folders: labelled by train/'s */
            int c = find_class(&wnids, val_classes.items[i]);
            snprintf(path, sizeof path, "%s/val/%s", dir, val_classes.items[i]);
            if (c < 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: class id '%s' has no folder in train/", path, val_classes.items[i]);
            else st = mbt_tree_add_class(&l, path, (int32_t)c);
        }
    }
    mbt_tree_free(&val_classes);
    if (st != MBT_OK) {
        mbt_tree_free(&wnids);
        mbt_file_list_free(&l);
        return st;
    }
    char desc[4300];
    snprintf(desc, sizeof desc, "ImageNet %s %s", split == MBT_SPLIT_TEST ? "val" : "train", dir);
    st = mbt_file_list_wrap(ds, &l, (int)wnids.n, (const char *const *)wnids.items, desc);
    mbt_tree_free(&wnids);
    return st;
}
