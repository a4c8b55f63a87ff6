/* The "folder" kind: torchvision-style ImageFolder trees of image files decoded on demand. */
#include <stdio.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"
#include "data/image_tree.h"

mbt_status mbt_dataset_open_image_folder(mbt_dataset **ds, const char *dir) {
    *ds = NULL;
    mbt_str_vec classes = {0};
    MBT_TRY(mbt_tree_list(dir, 1, &classes));
    if (classes.n == 0) {
        mbt_tree_free(&classes);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: no class subfolders (an image folder holds one folder per class)", dir);
    }
    mbt_file_list l = {0};
    mbt_status st = MBT_OK;
    char path[4096];
    for (size_t c = 0; st == MBT_OK && c < classes.n; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, classes.items[c]);
        st = mbt_tree_add_class(&l, path, (int32_t)c);
    }
    if (st != MBT_OK) {
        mbt_tree_free(&classes);
        mbt_file_list_free(&l);
        return st;
    }
    char desc[4200];
    snprintf(desc, sizeof desc, "image folder %s", dir);
    st = mbt_file_list_wrap(ds, &l, (int)classes.n, (const char *const *)classes.items, desc);
    mbt_tree_free(&classes);
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

