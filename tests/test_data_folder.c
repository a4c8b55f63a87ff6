/* Image-file datasets from trees the test writes with libpng and libjpeg: an ImageFolder (sorted class
 * folders, files found recursively in torchvision's order, .jpg/.jpeg/.png in any case, other files
 * ignored, grayscale converted to RGB) and the official Tiny-ImageNet layout (wnids.txt, train/<wnid>/
 * images/, val/images + val_annotations.txt, or val/ in class folders); counts, labels, order, pixels,
 * spread views, and the errors (empty class folder, undecodable image, unknown class id, missing files). */
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

int main(void) {
    char dir[4096];
    if (tmp_folder(dir, sizeof dir, "folder") != 0) {
        CHECK(0);
        return check_report("test_data_folder");
    }
    image_folder(dir);
    tiny_imagenet(dir);
    rm_tree(dir);
    return check_report("test_data_folder");
}
