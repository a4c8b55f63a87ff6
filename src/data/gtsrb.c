/* German Traffic Sign Recognition (GTSRB), 43 classes of PPM crops in class folders, with the
 * reference's split (transfer_datasets/traffic_sign.py): classes 0..42 in turn, each folder's *.ppm
 * files shuffled by ONE np.random.RandomState(42) shared by all classes, the first int(0.8 * n)
 * training images, the rest test images. Layouts: the reference's, FullIJCNN2013.zip
 * (DIR/00 ... DIR/42, or DIR/FullIJCNN2013/00 ...), and the GTSRB training archive
 * (DIR/Final_Training/Images/00000 ... 00042, or under DIR/GTSRB/). The reference takes each folder's
 * files in glob()'s order, which is the file system's; mixbt sorts them by name, which is what glob
 * gives on most file systems for files written in name order, and the same split on every machine. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"
#include "data/numpy_random.h"

#define GTSRB_CLASSES 43

/* The class folder pattern: "%s/%02d" (FullIJCNN2013) or "%s/%05d" (Final_Training/Images). */
static int find_layout(const char *dir, char *root, size_t n, int *wide) {
    static const char *const short_roots[] = {"", "/FullIJCNN2013"};
    static const char *const wide_roots[] = {"/Final_Training/Images", "/GTSRB/Final_Training/Images"};
    char probe[4400];
    for (int k = 0; k < 2; k++) {
        snprintf(probe, sizeof probe, "%s%s/00", dir, short_roots[k]);
        if (mbt_is_dir(probe)) {
            snprintf(root, n, "%s%s", dir, short_roots[k]);
            *wide = 0;
            return 1;
        }
        snprintf(probe, sizeof probe, "%s%s/00000", dir, wide_roots[k]);
        if (mbt_is_dir(probe)) {
            snprintf(root, n, "%s%s", dir, wide_roots[k]);
            *wide = 1;
            return 1;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_ppm(const char *name) {
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".ppm"); /* glob("*.ppm"): case-sensitive, hidden files skipped */
}

/* The *.ppm file names of folder, sorted. */
static mbt_status list_ppm(const char *folder, mbt_str_set *names) {
    DIR *d = opendir(folder);
    if (!d) return MBT_FAIL(MBT_ERR_IO, "%s: missing class folder", folder);
    struct dirent *e;
    mbt_status st = MBT_OK;
    char path[4600];
    while (st == MBT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_ppm(e->d_name)) continue;
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        if (mbt_is_file(path)) st = mbt_str_set_add(names, e->d_name);
    }
    closedir(d);
    if (st == MBT_OK && names->n > 1) qsort(names->items, (size_t)names->n, sizeof *names->items, cmp_str);
    return st;
}

mbt_status mbt_gtsrb_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char root[4400], folder[4500];
    int wide;
    if (!find_layout(dir, root, sizeof root, &wide))
        return MBT_FAIL(MBT_ERR_IO,
                        "%s: no GTSRB class folders (expected %s/00 ... /42 of FullIJCNN2013.zip, or "
                        "Final_Training/Images/00000 ... /00042)",
                        dir, dir);
    mbt_file_list l = {0};
    mbt_status st = MBT_OK;
    mbt_np_random rs;
    mbt_np_random_seed(&rs, 42);
    int64_t *pick = NULL;
    char names[GTSRB_CLASSES][8];
    const char *name_ptr[GTSRB_CLASSES];
    for (int c = 0; c < GTSRB_CLASSES && st == MBT_OK; c++) {
        snprintf(folder, sizeof folder, wide ? "%s/%05d" : "%s/%02d", root, c);
        snprintf(names[c], sizeof names[c], wide ? "%05d" : "%02d", c);
        name_ptr[c] = names[c];
        mbt_str_set files = {0};
        st = list_ppm(folder, &files);
        if (st == MBT_OK && files.n > 0) {
            int64_t *p = realloc(pick, (size_t)files.n * sizeof *p);
            if (!p) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", folder);
            else pick = p;
        }
        if (st == MBT_OK) {
            int64_t m = mbt_np_holdout_split(&rs, files.n, split != MBT_SPLIT_TEST, pick);
            for (int64_t j = 0; j < m && st == MBT_OK; j++) st = mbt_file_list_add(&l, folder, files.items[pick[j]], c, NULL);
        }
        mbt_str_set_free(&files);
    }
    free(pick);
    if (st == MBT_OK && l.count == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no .ppm images in the class folders", root);
    if (st == MBT_OK) {
        char desc[4600];
        snprintf(desc, sizeof desc, "GTSRB %s (80/20 per class) %s", split == MBT_SPLIT_TEST ? "test" : "train", root);
        st = mbt_file_list_wrap(ds, &l, GTSRB_CLASSES, name_ptr, desc);
    }
    mbt_file_list_free(&l);
    return st;
}
