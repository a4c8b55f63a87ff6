/* Oxford Flowers-102 (102flowers.tgz + imagelabels.mat) with the reference's split
 * (transfer_datasets/vgg_flower.py): labels = imagelabels.mat's 'labels' row (classes 1..102, image k
 * is image_%05d.jpg of number k + 1); the classes are visited in the order their label first appears,
 * each class's images (in image order) shuffled by ONE np.random.RandomState(42) shared by all classes,
 * the first int(0.8 * n) of each class training images, the rest test images. The .mat file is read
 * with libmatio (MIXBT_HAVE_MATIO); builds without it report that they cannot read it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_impl.h"
#include "data/file_list.h"
#include "data/numpy_random.h"

#ifdef MIXBT_HAVE_MATIO
#include <matio.h>
#endif

#define MAX_LABELS 1000000 /* far above any labels file of this layout */

/* The labels row of path into a malloc'ed array (1-based classes). */
static mbt_status read_labels(const char *path, int32_t **out, int64_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!mbt_is_file(path)) return MBT_FAIL(MBT_ERR_IO, "%s: missing file (the labels of Flowers-102)", path);
#ifndef MIXBT_HAVE_MATIO
    return MBT_FAIL(MBT_ERR_UNSUPPORTED,
                    "%s: this mixbt was built without libmatio, so it cannot read MAT-files (install libmatio-dev and "
                    "rebuild)",
                    path);
#else
    mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
    if (!mat) return MBT_FAIL(MBT_ERR_FORMAT, "%s: not a MAT-file libmatio can read", path);
    /* the declared size first: libmatio allocates what a file declares (a 300-byte file may ask for a GB) */
    matvar_t *info = Mat_VarReadInfo(mat, "labels");
    size_t declared = info && info->rank == 2 ? info->dims[0] * info->dims[1] : 0;
    int too_big = info && info->rank == 2 && (declared > MAX_LABELS || info->dims[0] > MAX_LABELS ||
                                              info->dims[1] > MAX_LABELS);
    if (info) Mat_VarFree(info);
    if (too_big) {
        Mat_Close(mat);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: 'labels' declares more than %d entries (Flowers-102 has 8189)", path,
                        MAX_LABELS);
    }
    Mat_Rewind(mat);
    matvar_t *v = Mat_VarRead(mat, "labels");
    mbt_status st = MBT_OK;
    int64_t n = 0;
    if (!v) {
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no variable 'labels'", path);
    } else if (v->rank != 2 || (v->dims[0] != 1 && v->dims[1] != 1) || v->isComplex || !v->data) {
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: 'labels' is not a real row vector (rank %d)", path, v->rank);
    } else {
        n = (int64_t)(v->dims[0] * v->dims[1]);
        int32_t *lab = malloc((size_t)(n > 0 ? n : 1) * sizeof *lab);
        if (!lab) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
        for (int64_t i = 0; st == MBT_OK && i < n; i++) {
            double x;
            switch (v->class_type) {
            case MAT_C_DOUBLE: x = ((const double *)v->data)[i]; break;
            case MAT_C_SINGLE: x = ((const float *)v->data)[i]; break;
            case MAT_C_UINT8: x = ((const uint8_t *)v->data)[i]; break;
            case MAT_C_INT8: x = ((const int8_t *)v->data)[i]; break;
            case MAT_C_UINT16: x = ((const uint16_t *)v->data)[i]; break;
            case MAT_C_INT16: x = ((const int16_t *)v->data)[i]; break;
            case MAT_C_UINT32: x = ((const uint32_t *)v->data)[i]; break;
            case MAT_C_INT32: x = ((const int32_t *)v->data)[i]; break;
            case MAT_C_UINT64: x = (double)((const uint64_t *)v->data)[i]; break;
            case MAT_C_INT64: x = (double)((const int64_t *)v->data)[i]; break;
            default: x = NAN; st = MBT_FAIL(MBT_ERR_FORMAT, "%s: 'labels' is not numeric (class %d)", path, (int)v->class_type);
            }
            if (st == MBT_OK && !(x >= 1 && x <= 100000 && x == floor(x)))
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: bad label %g of image %lld (whole numbers from 1 expected)", path, x,
                              (long long)i + 1);
            if (st == MBT_OK) lab[i] = (int32_t)x;
        }
        if (st == MBT_OK && n == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: 'labels' is empty", path);
        if (st == MBT_OK) *out = lab;
        else free(lab);
    }
    if (v) Mat_VarFree(v);
    Mat_Close(mat);
    if (st == MBT_OK) *n_out = n;
    return st;
#endif
}

mbt_status mbt_flowers102_open(mbt_dataset **ds, const char *dir, mbt_split split) {
    *ds = NULL;
    char path[4200], images[4200];
    snprintf(path, sizeof path, "%s/imagelabels.mat", dir);
    int32_t *labels;
    int64_t n;
    MBT_TRY(read_labels(path, &labels, &n));
    /* the archive unpacks into jpg/; the reference renames it (images beside imagelabels.mat) */
    snprintf(images, sizeof images, "%s/jpg", dir);
    if (!mbt_is_dir(images)) snprintf(images, sizeof images, "%s", dir);
    int num_classes = 0;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] > num_classes) num_classes = labels[i];
    /* classes in order of first appearance, with their images in image order */
    int32_t *order = malloc((size_t)num_classes * sizeof *order);
    int64_t *count = calloc((size_t)num_classes, sizeof *count), *start = calloc((size_t)num_classes + 1, sizeof *start);
    int64_t *members = malloc((size_t)n * sizeof *members), *fill = calloc((size_t)num_classes, sizeof *fill);
    int64_t *pick = malloc((size_t)n * sizeof *pick);
    char **names = malloc((size_t)num_classes * sizeof *names);
    char *block = malloc((size_t)num_classes * 12);
    mbt_file_list l = {0};
    mbt_status st = MBT_OK;
    if (!order || !count || !start || !members || !fill || !pick || !names || !block)
        st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    int seen = 0;
    for (int64_t i = 0; st == MBT_OK && i < n; i++)
        if (count[labels[i] - 1]++ == 0) order[seen++] = labels[i] - 1;
    for (int c = 0; st == MBT_OK && c < num_classes; c++) start[c + 1] = start[c] + count[c];
    for (int64_t i = 0; st == MBT_OK && i < n; i++) members[start[labels[i] - 1] + fill[labels[i] - 1]++] = i;
    mbt_np_random rs;
    mbt_np_random_seed(&rs, 42);
    for (int k = 0; st == MBT_OK && k < seen; k++) {
        int c = order[k];
        int64_t m = mbt_np_holdout_split(&rs, count[c], split != MBT_SPLIT_TEST, pick);
        for (int64_t j = 0; st == MBT_OK && j < m; j++) {
            char name[32];
            snprintf(name, sizeof name, "image_%05lld.jpg", (long long)members[start[c] + pick[j]] + 1);
            st = mbt_file_list_add(&l, images, name, c, NULL);
        }
    }
    for (int c = 0; st == MBT_OK && c < num_classes; c++) {
        names[c] = block + (size_t)c * 12;
        snprintf(names[c], 12, "%d", c + 1);
    }
    if (st == MBT_OK && l.count == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: no images in the %s split", path,
                                                     split == MBT_SPLIT_TEST ? "test" : "training");
    if (st == MBT_OK) {
        char desc[4400];
        snprintf(desc, sizeof desc, "Flowers-102 %s (80/20 per class) %s", split == MBT_SPLIT_TEST ? "test" : "train", dir);
        st = mbt_file_list_wrap(ds, &l, num_classes, (const char *const *)names, desc);
    }
    mbt_file_list_free(&l);
    free(labels);
    free(order);
    free(count);
    free(start);
    free(members);
    free(fill);
    free(pick);
    free(names);
    free(block);
    return st;
}
