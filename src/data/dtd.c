/* The Describable Textures Dataset (dtd-r1.0.1.tar.gz) with the split of the reference
 * (transfer_datasets/dtd.py): training = labels/train1.txt + labels/val1.txt, test = labels/test1.txt;
 * each line is "<category>/<file>.jpg" under images/; labels index the sorted categories. */
#include <stdio.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"

/* The folder holding labels/ and images/: dir itself or dir/dtd (the archive's top folder). */
static void find_root(const char *dir, char *root, size_t n) {
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/labels/train1.txt", dir);
    if (mbt_is_file(probe)) {
        snprintf(root, n, "%s", dir);
        return;
    }
    snprintf(probe, sizeof probe, "%s/dtd/labels/train1.txt", dir);
    snprintf(root, n, mbt_is_file(probe) ? "%s/dtd" : "%s", dir);
}

/* Adds the categories named in a split file to the set; checks each line's shape. */
static mbt_status collect(const mbt_text_lines *t, const char *path, mbt_str_set *cats) {
    for (int64_t i = 0; i < t->count; i++) {
        const char *line = t->line[i];
        if (mbt_text_blank(line)) continue;
        const char *slash = strchr(line, '/');
        if (!slash || slash == line || !slash[1])
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld is '%s', expected <category>/<file>.jpg", path,
                            (long long)i + 1, line);
        char cat[512];
        size_t len = (size_t)(slash - line);
        if (len >= sizeof cat) return MBT_FAIL(MBT_ERR_FORMAT, "%s: line %lld: category name too long", path, (long long)i + 1);
        memcpy(cat, line, len);
        cat[len] = 0;
        MBT_TRY(mbt_str_set_add(cats, cat));
    }
    return MBT_OK;
}

mbt_status mbt_dtd_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char root[4096], path[3][4200], images[4200];
    find_root(dir, root, sizeof root);
    const char *names[3] = {"train1.txt", "val1.txt", "test1.txt"};
    mbt_text_lines t[3] = {{0}};
    mbt_str_set cats = {0};
    mbt_file_list l = {0};
    mbt_status st = MBT_OK;
    for (int k = 0; k < 3 && st == MBT_OK; k++) {
        snprintf(path[k], sizeof path[k], "%s/labels/%s", root, names[k]);
        st = mbt_text_lines_read(&t[k], path[k]);
        if (st == MBT_OK) st = collect(&t[k], path[k], &cats);
    }
    mbt_str_set_finish(&cats);
    /* classes: the sorted categories of split 1 (each of its files names all 47, so this is the list
     * the reference builds from each file alone) */
    snprintf(images, sizeof images, "%s/images", root);
    int first = split == MBT_SPLIT_TEST ? 2 : 0, last = split == MBT_SPLIT_TEST ? 2 : 1;
    for (int k = first; k <= last && st == MBT_OK; k++)
        for (int64_t i = 0; i < t[k].count && st == MBT_OK; i++) {
            const char *line = t[k].line[i];
            if (mbt_text_blank(line)) continue;
            char cat[512];
            size_t len = (size_t)(strchr(line, '/') - line);
            memcpy(cat, line, len);
            cat[len] = 0;
            st = mbt_file_list_add(&l, images, line, (int32_t)mbt_str_set_find(&cats, cat), NULL);
        }
    if (st == MBT_OK && l.count == 0)
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no images listed", split == MBT_SPLIT_TEST ? path[2] : path[0]);
    if (st == MBT_OK) {
        char desc[4300];
        snprintf(desc, sizeof desc, "DTD %s (split 1) %s", split == MBT_SPLIT_TEST ? "test" : "train+val", root);
        st = mbt_file_list_wrap(ds, &l, (int)cats.n, (const char *const *)cats.items, desc);
    }
    mbt_file_list_free(&l);
    mbt_str_set_free(&cats);
    for (int k = 0; k < 3; k++) mbt_text_lines_free(&t[k]);
    return st;
}
