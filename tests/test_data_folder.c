/* Image-file datasets from trees the test writes with libpng and libjpeg: an ImageFolder (sorted class
 * folders, files found recursively in torchvision's order, .jpg/.jpeg/.png in any case, other files
 * ignored, grayscale converted to RGB) and the official Tiny-ImageNet layout (wnids.txt, train/<wnid>/
 * images/, val/images + val_annotations.txt, or val/ in class folders) and ImageNet-1k's (train/<wnid>/,
 * val/ flat with LOC_val_solution.csv, or in class folders); counts, labels, order, pixels, spread views,
 * and the errors (empty class folder, undecodable image, unknown class id, missing files). */
#include "test_data_util.h"

#include "data/dataset.h"
#include "test_data_image_write.h"

/* A solid w x h image whose colour encodes id. */
static void colour_of(int id, uint8_t rgb[3]) {
    rgb[0] = (uint8_t)(20 + id * 40 % 200);
    rgb[1] = (uint8_t)(200 - id * 30 % 180);
    rgb[2] = (uint8_t)(60 + id * 17 % 150);
}

static void make_image(const char *dir, const char *rel, int id, int w, int h, int gray) {
    char path[4096];
    write_bytes(dir, rel, "", 0); /* creates the folders */
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    uint8_t rgb[3], *px = malloc((size_t)w * h * 3);
    colour_of(id, rgb);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) px[(gray ? 1 : 3) * i + (gray ? 0 : c)] = gray ? rgb[0] : rgb[c];
    const char *dot = strrchr(rel, '.');
    int png = dot && (dot[1] == 'p' || dot[1] == 'P');
    CHECK((png ? write_png : write_jpeg)(path, px, w, h, gray ? 1 : 3) == 0);
    free(px);
}

/* Checks that image i has size w x h and is the solid colour of id (JPEG: within 3). */
static void expect_image(mbt_dataset *ds, int64_t i, int id, int w, int h, int gray, int exact) {
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    if (CHECK_OK(mbt_dataset_image(ds, i, &rd, &img))) {
        CHECK_MSG(img.width == w && img.height == h, "image %lld: %dx%d, expected %dx%d", (long long)i, img.width,
                  img.height, w, h);
        uint8_t rgb[3];
        colour_of(id, rgb);
        if (gray) rgb[1] = rgb[2] = rgb[0];
        int worst = 0;
        for (int k = 0; k < img.width * img.height * 3; k++) {
            int d = abs((int)img.data[k] - rgb[k % 3]);
            if (d > worst) worst = d;
        }
        CHECK_MSG(worst <= (exact ? 0 : 3), "image %lld (id %d): off by %d", (long long)i, id, worst);
    }
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
}

static void image_folder(const char *dir) {
    /* classes: ant (0), cat (1), dog (2); torchvision order within cat: "B.png" < "a.PNG" < "z.JPEG"
     * (byte order), then the subfolder cat/sub */
    make_image(dir, "f/train/cat/a.PNG", 11, 5, 4, 0);
    make_image(dir, "f/train/cat/B.png", 10, 6, 3, 1);
    make_image(dir, "f/train/cat/z.JPEG", 12, 16, 16, 0);
    make_image(dir, "f/train/cat/sub/c.JPG", 13, 8, 8, 1);
    write_bytes(dir, "f/train/cat/notes.txt", "x", 1);
    make_image(dir, "f/train/dog/d.jpeg", 20, 9, 7, 0);
    make_image(dir, "f/train/ant/e.png", 30, 3, 3, 0);
    make_image(dir, "f/test/ant/t.png", 40, 2, 2, 0);
    make_image(dir, "f/test/cat/t.png", 41, 2, 2, 0);
    char root[4200];
    snprintf(root, sizeof root, "%s/f", dir);
    mbt_dataset *ds;
    if (CHECK_OK(mbt_dataset_open(&ds, "folder", root, MBT_SPLIT_TRAIN))) {
        CHECK(mbt_dataset_count(ds) == 6);
        CHECK(mbt_dataset_num_classes(ds) == 3);
        CHECK(mbt_dataset_in_memory(ds) == 0);
        const char *names[3] = {"ant", "cat", "dog"};
        for (int c = 0; c < 3; c++) {
            const char *n = mbt_dataset_class_name(ds, c);
            CHECK_MSG(n && !strcmp(n, names[c]), "class %d is %s, expected %s", c, n ? n : "NULL", names[c]);
        }
        const int labels[6] = {0, 1, 1, 1, 1, 2};
        for (int i = 0; i < 6; i++) CHECK_MSG(mbt_dataset_label(ds, i) == labels[i], "label %d", i);
        expect_image(ds, 0, 30, 3, 3, 0, 1);
        expect_image(ds, 1, 10, 6, 3, 1, 1);
        expect_image(ds, 2, 11, 5, 4, 0, 1);
        expect_image(ds, 3, 12, 16, 16, 0, 0);
        expect_image(ds, 4, 13, 8, 8, 1, 0);
        expect_image(ds, 5, 20, 9, 7, 0, 0);
        mbt_dataset *v;
        if (CHECK_OK(mbt_dataset_view_spread(&v, ds, 3))) { /* images 0, 2, 4 */
            CHECK(mbt_dataset_count(v) == 3);
            CHECK(mbt_dataset_label(v, 0) == 0 && mbt_dataset_label(v, 1) == 1 && mbt_dataset_label(v, 2) == 1);
            expect_image(v, 2, 13, 8, 8, 1, 0);
            mbt_dataset *vv; /* a first-N view of a spread view */
            if (CHECK_OK(mbt_dataset_view(&vv, v, 2))) {
                CHECK(mbt_dataset_count(vv) == 2);
                expect_image(vv, 1, 11, 5, 4, 0, 1);
                mbt_dataset_destroy(vv);
            }
            mbt_dataset_destroy(v);
        }
        mbt_dataset_destroy(ds);
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "folder", root, MBT_SPLIT_TEST))) {
        CHECK(mbt_dataset_count(ds) == 2 && mbt_dataset_num_classes(ds) == 2);
        expect_image(ds, 1, 41, 2, 2, 0, 1);
        mbt_dataset_destroy(ds);
    }
    /* one folder for training only */
    char train[4300];
    snprintf(train, sizeof train, "%s/train", root);
    if (CHECK_OK(mbt_dataset_open(&ds, "folder", train, MBT_SPLIT_TRAIN))) {
        CHECK(mbt_dataset_count(ds) == 6);
        mbt_dataset_destroy(ds);
    }
    expect_error(mbt_dataset_open(&ds, "folder", train, MBT_SPLIT_TEST), MBT_ERR_IO, train, "no test split");

    /* errors: an undecodable image is reported when read, naming the file; an empty class folder */
    write_bytes(dir, "f/train/dog/zz_broken.png", "\x89PNG\r\n\x1a\nnot really", 18);
    if (CHECK_OK(mbt_dataset_open(&ds, "folder", root, MBT_SPLIT_TRAIN))) {
        mbt_dataset_reader rd = {0};
        mbt_image img = {0};
        expect_error(mbt_dataset_image(ds, 6, &rd, &img), MBT_ERR_FORMAT, "zz_broken.png", "cannot decode");
        expect_error(mbt_dataset_image(ds, 7, &rd, &img), MBT_ERR_ARG, "image 7", "out of range");
        mbt_image_free(&img);
        mbt_dataset_reader_free(&rd);
        mbt_dataset_destroy(ds);
    }
    write_bytes(dir, "f/train/empty/readme.txt", "x", 1);
    expect_error(mbt_dataset_open(&ds, "folder", root, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, "train/empty", "empty class folder");
    char none[4300];
    snprintf(none, sizeof none, "%s/f/train/empty", dir);
    expect_error(mbt_dataset_open_image_folder(&ds, none), MBT_ERR_FORMAT, none, "no class subfolders");
}

static void tiny_imagenet(const char *dir) {
    write_bytes(dir, "t/tiny-imagenet-200/wnids.txt", "n02\nn01\r\nn03\n", 13);
    make_image(dir, "t/tiny-imagenet-200/train/n01/images/n01_1.JPEG", 1, 64, 64, 0);
    make_image(dir, "t/tiny-imagenet-200/train/n01/images/n01_0.JPEG", 0, 64, 64, 1);
    write_bytes(dir, "t/tiny-imagenet-200/train/n01/n01_boxes.txt", "n01_0.JPEG\t0\t0\t1\t1\n", 20);
    make_image(dir, "t/tiny-imagenet-200/train/n02/images/n02_0.JPEG", 2, 64, 64, 0);
    make_image(dir, "t/tiny-imagenet-200/train/n03/images/n03_0.JPEG", 3, 64, 64, 0);
    make_image(dir, "t/tiny-imagenet-200/val/images/val_0.JPEG", 4, 64, 64, 0);
    make_image(dir, "t/tiny-imagenet-200/val/images/val_1.JPEG", 5, 64, 64, 0);
    make_image(dir, "t/tiny-imagenet-200/val/images/val_2.JPEG", 6, 64, 64, 0);
    const char *ann = "val_0.JPEG\tn03\t0\t0\t63\t63\nval_1.JPEG\tn01\t1\t2\t3\t4\nval_2.JPEG\tn01\t0\t0\t5\t5\n";
    write_bytes(dir, "t/tiny-imagenet-200/val/val_annotations.txt", ann, strlen(ann));
    char root[4200], inner[4300];
    snprintf(root, sizeof root, "%s/t", dir);
    snprintf(inner, sizeof inner, "%s/t/tiny-imagenet-200", dir);
    mbt_dataset *ds;
    if (CHECK_OK(mbt_dataset_open(&ds, "tiny_imagenet", root, MBT_SPLIT_TRAIN))) {
        CHECK(mbt_dataset_count(ds) == 4 && mbt_dataset_num_classes(ds) == 3);
        CHECK(mbt_dataset_in_memory(ds) == 0);
        const char *n0 = mbt_dataset_class_name(ds, 0), *n2 = mbt_dataset_class_name(ds, 2);
        CHECK_MSG(n0 && n2 && !strcmp(n0, "n01") && !strcmp(n2, "n03"), "wnids %s, %s", n0 ? n0 : "NULL",
                  n2 ? n2 : "NULL");
        const int labels[4] = {0, 0, 1, 2}, ids[4] = {0, 1, 2, 3};
        for (int i = 0; i < 4; i++) {
            CHECK(mbt_dataset_label(ds, i) == labels[i]);
            expect_image(ds, i, ids[i], 64, 64, i == 0, 0);
        }
        mbt_dataset_destroy(ds);
    }
    if (CHECK_OK(mbt_dataset_open(&ds, "tiny_imagenet", inner, MBT_SPLIT_TEST))) {
        /* by class, then name: val_1 (n01), val_2 (n01), val_0 (n03) */
        CHECK(mbt_dataset_count(ds) == 3);
        const int labels[3] = {0, 0, 2}, ids[3] = {5, 6, 4};
        for (int i = 0; i < 3; i++) {
            CHECK(mbt_dataset_label(ds, i) == labels[i]);
            expect_image(ds, i, ids[i], 64, 64, 0, 0);
        }
        mbt_dataset_destroy(ds);
    }
    /* val re-organised into class folders (no val_annotations.txt) */
    write_bytes(dir, "t2/wnids.txt", "n01\nn02\n", 8);
    make_image(dir, "t2/train/n01/images/a.JPEG", 7, 64, 64, 0);
    make_image(dir, "t2/train/n02/images/b.JPEG", 8, 64, 64, 0);
    make_image(dir, "t2/val/n02/images/c.JPEG", 9, 64, 64, 0);
    make_image(dir, "t2/val/n01/d.png", 10, 64, 64, 0);
    snprintf(root, sizeof root, "%s/t2", dir);
    if (CHECK_OK(mbt_dataset_open(&ds, "tiny_imagenet", root, MBT_SPLIT_TEST))) {
        CHECK(mbt_dataset_count(ds) == 2 && mbt_dataset_label(ds, 0) == 0 && mbt_dataset_label(ds, 1) == 1);
        expect_image(ds, 0, 10, 64, 64, 0, 1);
        expect_image(ds, 1, 9, 64, 64, 0, 0);
        mbt_dataset_destroy(ds);
    }
    snprintf(root, sizeof root, "%s/t", dir);

    /* errors */
    const char *bad = "val_0.JPEG\tn09\t0\t0\t63\t63\n";
    write_bytes(dir, "t/tiny-imagenet-200/val/val_annotations.txt", bad, strlen(bad));
    expect_error(mbt_dataset_open(&ds, "tiny_imagenet", root, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "val_annotations.txt",
                 "bad label, class id 'n09'");
    write_bytes(dir, "t/tiny-imagenet-200/wnids.txt", "n01\nn02\nn03\nn04\n", 16);
    expect_error(mbt_dataset_open(&ds, "tiny_imagenet", root, MBT_SPLIT_TRAIN), MBT_ERR_IO, "train/n04",
                 "missing class folder");
    snprintf(inner, sizeof inner, "%s/t/tiny-imagenet-200/wnids.txt", dir);
    remove(inner);
    expect_error(mbt_dataset_open(&ds, "tiny_imagenet", root, MBT_SPLIT_TRAIN), MBT_ERR_IO, "wnids.txt", "missing file");
}

/* ImageNet-1k: JPEGs of varied sizes; the classes are train/'s folders, sorted. */
static void imagenet(const char *dir) {
    make_image(dir, "i/train/n02/n02_7.JPEG", 20, 40, 30, 0);
    make_image(dir, "i/train/n01/n01_2.JPEG", 21, 17, 23, 0);
    make_image(dir, "i/train/n01/n01_1.JPEG", 22, 9, 9, 1);
    make_image(dir, "i/val/ILSVRC2012_val_00000003.JPEG", 23, 12, 20, 0);
    make_image(dir, "i/val/ILSVRC2012_val_00000001.JPEG", 24, 33, 8, 0);
    make_image(dir, "i/val/ILSVRC2012_val_00000002.JPEG", 25, 16, 16, 0);
    const char *sol = "ImageId,PredictionString\r\n"
                      "ILSVRC2012_val_00000003,n01 1 2 3 4 n01 5 6 7 8\r\n"
                      "ILSVRC2012_val_00000001,n02 0 0 9 9\r\n"
                      "ILSVRC2012_val_00000002,n01 3 3 4 4\r\n";
    write_bytes(dir, "i/LOC_val_solution.csv", sol, strlen(sol));
    char root[4200];
    snprintf(root, sizeof root, "%s/i", dir);
    mbt_dataset *ds;
    if (CHECK_OK(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TRAIN))) {
        CHECK(mbt_dataset_count(ds) == 3 && mbt_dataset_num_classes(ds) == 2);
        const char *n1 = mbt_dataset_class_name(ds, 1);
        CHECK_MSG(n1 && !strcmp(n1, "n02"), "class 1 is %s", n1 ? n1 : "NULL");
        const int labels[3] = {0, 0, 1}, ids[3] = {22, 21, 20}, w[3] = {9, 17, 40}, h[3] = {9, 23, 30};
        for (int i = 0; i < 3; i++) {
            CHECK(mbt_dataset_label(ds, i) == labels[i]);
            expect_image(ds, i, ids[i], w[i], h[i], i == 0, 0);
        }
        mbt_dataset_destroy(ds);
    }
    /* flat val/: by class, then file name: 00000002 (n01), 00000003 (n01), 00000001 (n02) */
    if (CHECK_OK(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TEST))) {
        CHECK(mbt_dataset_count(ds) == 3 && mbt_dataset_num_classes(ds) == 2);
        const int labels[3] = {0, 0, 1}, ids[3] = {25, 23, 24}, w[3] = {16, 12, 33}, h[3] = {16, 20, 8};
        for (int i = 0; i < 3; i++) {
            CHECK_MSG(mbt_dataset_label(ds, i) == labels[i], "val %d: label %d", i, (int)mbt_dataset_label(ds, i));
            expect_image(ds, i, ids[i], w[i], h[i], 0, 0);
        }
        mbt_dataset_destroy(ds);
    }
    /* errors: a wnid without a train/ folder, an image listed but missing, no labels at all */
    const char *bad = "ImageId,PredictionString\nILSVRC2012_val_00000003,n07 1 2 3 4\n";
    write_bytes(dir, "i/LOC_val_solution.csv", bad, strlen(bad));
    expect_error(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "LOC_val_solution.csv",
                 "class id 'n07' has no folder in train/");
    const char *gone = "ImageId,PredictionString\nILSVRC2012_val_00000009,n01 1 2 3 4\n";
    write_bytes(dir, "i/LOC_val_solution.csv", gone, strlen(gone));
    expect_error(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TEST), MBT_ERR_IO, "ILSVRC2012_val_00000009.JPEG",
                 "missing");
    char path[4300];
    snprintf(path, sizeof path, "%s/i/LOC_val_solution.csv", dir);
    remove(path);
    expect_error(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TEST), MBT_ERR_IO, "/i/val", "no class folders");

    /* val/ in class folders, labelled by train/'s classes (a folder train/ lacks is refused) */
    make_image(dir, "i2/train/n01/a.JPEG", 30, 8, 8, 0);
    make_image(dir, "i2/train/n02/b.JPEG", 31, 8, 8, 0);
    make_image(dir, "i2/train/n03/c.JPEG", 32, 8, 8, 0);
    make_image(dir, "i2/val/n03/d.JPEG", 33, 10, 6, 0);
    make_image(dir, "i2/val/n01/e.JPEG", 34, 6, 10, 0);
    snprintf(root, sizeof root, "%s/i2", dir);
    if (CHECK_OK(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TEST))) {
        CHECK(mbt_dataset_count(ds) == 2 && mbt_dataset_num_classes(ds) == 3);
        CHECK(mbt_dataset_label(ds, 0) == 0 && mbt_dataset_label(ds, 1) == 2);
        expect_image(ds, 0, 34, 6, 10, 0, 0);
        expect_image(ds, 1, 33, 10, 6, 0, 0);
        mbt_dataset_destroy(ds);
    }
    make_image(dir, "i2/val/n09/f.JPEG", 35, 8, 8, 0);
    expect_error(mbt_dataset_open(&ds, "imagenet", root, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "val/n09",
                 "has no folder in train/");
    snprintf(path, sizeof path, "%s/none", dir);
    write_bytes(dir, "none/x.txt", "x", 1);
    expect_error(mbt_dataset_open(&ds, "imagenet", path, MBT_SPLIT_TRAIN), MBT_ERR_IO, "none", "no train/ folder");
}

int main(void) {
    char dir[4096];
    if (tmp_folder(dir, sizeof dir, "folder") != 0) {
        CHECK(0);
        return check_report("test_data_folder");
    }
    image_folder(dir);
    tiny_imagenet(dir);
    imagenet(dir);
    rm_tree(dir);
    return check_report("test_data_folder");
}
