/* Datasets of image files decoded on demand: torchvision-style ImageFolder trees and the official
 * Tiny-ImageNet layout (wnids.txt, train/<wnid>/images/, val/images/ + val/val_annotations.txt). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"
#include "io/read_file.h"

/* ---- directory listing ---------------------------------------------------------------------------- */

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    char **items;
    size_t n, cap;
} str_vec;

static int vec_push(str_vec *v, const char *s) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        char **p = realloc(v->items, cap * sizeof *p);
        if (!p) return 0;
        v->items = p;
        v->cap = cap;
    }
    if (!(v->items[v->n] = strdup(s))) return 0;
    v->n++;
    return 1;
}

static void vec_free(str_vec *v) {
    for (size_t i = 0; i < v->n; i++) free(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

/* The names in dir that are directories (want_dirs) or image files, sorted. */
static mbt_status list_dir(const char *dir, int want_dirs, str_vec *out) {
    DIR *d = opendir(dir);
    if (!d) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open the folder", dir);
    struct dirent *e;
    char path[4096];
    mbt_status st = MBT_OK;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int keep = want_dirs ? mbt_is_dir(path) : (is_image_name(e->d_name) && mbt_is_file(path));
        if (keep && !vec_push(out, e->d_name)) {
            st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
    }
    closedir(d);
    if (st == MBT_OK && out->n > 1) qsort(out->items, out->n, sizeof *out->items, cmp_str);
    return st;
}

/* All subfolders of dir (itself included), recursively, as full paths. */
static mbt_status walk_dirs(const char *dir, str_vec *dirs, int depth) {
    if (depth > 32) return MBT_FAIL(MBT_ERR_IO, "%s: folders nested too deeply (a link cycle?)", dir);
    if (!vec_push(dirs, dir)) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", dir);
    str_vec subs = {0};
    mbt_status st = list_dir(dir, 1, &subs);
    char path[4096];
    for (size_t i = 0; st == MBT_OK && i < subs.n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs.items[i]);
        st = walk_dirs(path, dirs, depth + 1);
    }
    vec_free(&subs);
    return st;
}

/* Adds the images under class_dir with label, in torchvision's order (sorted os.walk: folders by path,
 * files by name); an error if there is none. */
static mbt_status add_class(mbt_file_list *l, const char *class_dir, int32_t label) {
    str_vec dirs = {0};
    mbt_status st = walk_dirs(class_dir, &dirs, 0);
    if (st == MBT_OK) qsort(dirs.items, dirs.n, sizeof *dirs.items, cmp_str);
    int64_t before = l->count;
    for (size_t d = 0; st == MBT_OK && d < dirs.n; d++) {
        str_vec files = {0};
        st = list_dir(dirs.items[d], 0, &files);
        for (size_t f = 0; st == MBT_OK && f < files.n; f++)
            st = mbt_file_list_add(l, dirs.items[d], files.items[f], label, NULL);
        vec_free(&files);
    }
    vec_free(&dirs);
    if (st == MBT_OK && l->count == before)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: empty class folder (no .jpg, .jpeg or .png files)", class_dir);
    return st;
}

mbt_status mbt_dataset_open_image_folder(mbt_dataset **ds, const char *dir) {
    *ds = NULL;
    str_vec classes = {0};
    MBT_TRY(list_dir(dir, 1, &classes));
    if (classes.n == 0) {
        vec_free(&classes);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: no class subfolders (an image folder holds one folder per class)", dir);
    }
    mbt_file_list l = {0};
    mbt_status st = MBT_OK;
    char path[4096];
    for (size_t c = 0; st == MBT_OK && c < classes.n; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, classes.items[c]);
        st = add_class(&l, path, (int32_t)c);
    }
    if (st != MBT_OK) {
        vec_free(&classes);
        mbt_file_list_free(&l);
        return st;
    }
    char desc[4200];
    snprintf(desc, sizeof desc, "image folder %s", dir);
    st = mbt_file_list_wrap(ds, &l, (int)classes.n, (const char *const *)classes.items, desc);
    vec_free(&classes);
    return st;
}

/* The "folder" kind: dir/train and dir/test when dir/train exists, else dir itself is the training
 * split and there is no test split. */
mbt_status mbt_folder_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/train", dir);
    if (mbt_is_dir(path)) {
        if (split == MBT_SPLIT_TEST) snprintf(path, sizeof path, "%s/test", dir);
        if (!mbt_is_dir(path)) return MBT_FAIL(MBT_ERR_IO, "--data %s: has train/ but no test/ folder", dir);
        return mbt_dataset_open_image_folder(ds, path);
    }
    if (split == MBT_SPLIT_TEST)
        return MBT_FAIL(MBT_ERR_IO, "--data %s: an image folder without train/ and test/ subfolders has no test split",
                        dir);
    return mbt_dataset_open_image_folder(ds, dir);
}

/* ---- Tiny-ImageNet -------------------------------------------------------------------------------- */

/* The sorted class ids of wnids.txt (one per line). */
static mbt_status read_wnids(const char *path, str_vec *out) {
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file", path);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    char *save = NULL;
    mbt_status st = MBT_OK;
    for (char *tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save))
        if (!vec_push(out, tok)) {
            st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
    free(buf);
    if (st == MBT_OK && out->n == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no class ids", path);
    if (st == MBT_OK && out->n > 1) qsort(out->items, out->n, sizeof *out->items, cmp_str);
    for (size_t i = 1; st == MBT_OK && i < out->n; i++)
        if (!strcmp(out->items[i], out->items[i - 1]))
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: class id %s is listed twice", path, out->items[i]);
    return st;
}

static int find_class(const str_vec *wnids, const char *id) {
    char *const *hit = bsearch(&id, wnids->items, wnids->n, sizeof *wnids->items, cmp_str);
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
static mbt_status read_val_annotations(mbt_file_list *l, const char *root, const str_vec *wnids) {
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
    str_vec wnids = {0};
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
                else st = add_class(&l, path, (int32_t)c);
            }
        }
    }
    if (st != MBT_OK) {
        vec_free(&wnids);
        mbt_file_list_free(&l);
        return st;
    }
    char desc[4300];
    snprintf(desc, sizeof desc, "Tiny-ImageNet %s %s", split == MBT_SPLIT_TEST ? "val" : "train", root);
    st = mbt_file_list_wrap(ds, &l, (int)wnids.n, (const char *const *)wnids.items, desc);
    vec_free(&wnids);
    return st;
}
