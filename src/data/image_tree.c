/* Listing image folders in torchvision's order (see image_tree.h). */
#include "data/image_tree.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/dataset_impl.h"

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

int mbt_tree_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int mbt_tree_push(mbt_str_vec *v, const char *s) {
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

void mbt_tree_free(mbt_str_vec *v) {
    for (size_t i = 0; i < v->n; i++) free(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

/* The names in dir that are directories (want_dirs) or image files, sorted. */
mbt_status mbt_tree_list(const char *dir, int want_dirs, mbt_str_vec *out) {
    DIR *d = opendir(dir);
    if (!d) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open the folder", dir);
    struct dirent *e;
    char path[4096];
    mbt_status st = MBT_OK;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int keep = want_dirs ? mbt_is_dir(path) : (is_image_name(e->d_name) && mbt_is_file(path));
        if (keep && !mbt_tree_push(out, e->d_name)) {
            st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
    }
    closedir(d);
    if (st == MBT_OK && out->n > 1) qsort(out->items, out->n, sizeof *out->items, mbt_tree_cmp_str);
    return st;
}

/* All subfolders of dir (itself included), recursively, as full paths. */
static mbt_status walk_dirs(const char *dir, mbt_str_vec *dirs, int depth) {
    if (depth > 32) return MBT_FAIL(MBT_ERR_IO, "%s: folders nested too deeply (a link cycle?)", dir);
    if (!mbt_tree_push(dirs, dir)) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", dir);
    mbt_str_vec subs = {0};
    mbt_status st = mbt_tree_list(dir, 1, &subs);
    char path[4096];
    for (size_t i = 0; st == MBT_OK && i < subs.n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs.items[i]);
        st = walk_dirs(path, dirs, depth + 1);
    }
    mbt_tree_free(&subs);
    return st;
}

/* Adds the images under class_dir with label, in torchvision's order (sorted os.walk: folders by path,
 * files by name); an error if there is none. */
mbt_status mbt_tree_add_class(mbt_file_list *l, const char *class_dir, int32_t label) {
    mbt_str_vec dirs = {0};
    mbt_status st = walk_dirs(class_dir, &dirs, 0);
    if (st == MBT_OK) qsort(dirs.items, dirs.n, sizeof *dirs.items, mbt_tree_cmp_str);
    int64_t before = l->count;
    for (size_t d = 0; st == MBT_OK && d < dirs.n; d++) {
        mbt_str_vec files = {0};
        st = mbt_tree_list(dirs.items[d], 0, &files);
        for (size_t f = 0; st == MBT_OK && f < files.n; f++)
            st = mbt_file_list_add(l, dirs.items[d], files.items[f], label, NULL);
        mbt_tree_free(&files);
    }
    mbt_tree_free(&dirs);
    if (st == MBT_OK && l->count == before)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: empty class folder (no .jpg, .jpeg or .png files)", class_dir);
    return st;
}

