/* The transfer targets' readers on small copies of the official layouts the test writes (file names,
 * label and split files, imagelabels.mat through libmatio, idx files plain and gzipped, PPM class
 * folders, bounding boxes): split sizes, labels, order, pixels, and one-line errors naming the file.
 * The reference's 80/20 splits (Flowers-102, GTSRB) and numpy's RandomState(42) against numpy itself,
 * and the transfer transform against torchvision (tests/fixtures/transfer_data.bin, written by
 * tools/make_transfer_fixtures.py). Images under the official .jpg names hold PNG data (the decoder
 * goes by the signature): the pixels carry each image's id exactly. */
#include "test_data_util.h" /* first: it sets _GNU_SOURCE */

#include <archive.h>
#include <archive_entry.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/numpy_random.h"
#include "fixture.h"
#include "test_data_image_write.h"

#ifdef MIXBT_HAVE_MATIO
#include <matio.h>
#endif

/* ---- helpers ------------------------------------------------------------------------------------- */

/* Writes dir/rel as a w x h RGB PNG whose pixel (x, y) is (id % 256, id / 256, x + 16 y). */
static void write_id_image(const char *dir, const char *rel, int id, int w, int h) {
    char path[8192];
    write_bytes(dir, rel, "", 0); /* the folders */
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(id % 256);
            p[1] = (uint8_t)(id / 256);
            p[2] = (uint8_t)(x + 16 * y);
        }
    CHECK(write_png(path, px, w, h, 3) == 0);
    free(px);
}

/* The id an image written by write_id_image carries (-1 if it cannot be read or is not uniform). */
static int read_id(const mbt_dataset *ds, int64_t i, int *w, int *h) {
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    int id = -1;
    if (CHECK_OK(mbt_dataset_image(ds, i, &rd, &img))) {
        id = img.data[0] + 256 * img.data[1];
        for (int p = 0; p < img.width * img.height; p++)
            if (img.data[3 * p] + 256 * img.data[3 * p + 1] != id) id = -1;
        if (w) *w = img.width;
        if (h) *h = img.height;
    }
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    return id;
}

static void write_text(const char *dir, const char *rel, const char *text) { write_bytes(dir, rel, text, strlen(text)); }

static mbt_dataset *open_ok(const char *kind, const char *dir, mbt_split split) {
    mbt_dataset *ds = NULL;
    if (!CHECK_OK(mbt_dataset_open(&ds, kind, dir, split))) return NULL;
    return ds;
}

/* ---- numpy's RandomState ------------------------------------------------------------------------- */

static void numpy_random(const fixture_file *fx) {
    mbt_np_random r;
    mbt_np_random_seed(&r, 42);
    const fixture_array *key = fixture_get(fx, "seeded_key");
    int bad = 0;
    for (int i = 0; key && i < MBT_NP_MT_N; i++) bad += r.mt[i] != (uint32_t)key->data[i];
    CHECK_MSG(key && key->numel == MBT_NP_MT_N && bad == 0, "RandomState(42) key: %d of 624 words differ", bad);
    const fixture_array *u = fixture_get(fx, "u32");
    bad = 0;
    for (size_t i = 0; u && i < u->numel; i++) bad += mbt_np_random_u32(&r) != (uint32_t)u->data[i];
    CHECK_MSG(u && u->numel == 1300 && bad == 0, "first 1300 outputs: %d differ", bad);

    static const int sizes[] = {2, 3, 5, 17, 100, 1000, 5000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        char name[32];
        snprintf(name, sizeof name, "shuffle_%d", sizes[k]);
        const fixture_array *want = fixture_get(fx, name);
        int n = sizes[k];
        int64_t *x = malloc((size_t)n * sizeof *x);
        for (int i = 0; i < n; i++) x[i] = i;
        mbt_np_random_seed(&r, 42);
        mbt_np_random_shuffle(&r, x, n);
        bad = 0;
        for (int i = 0; want && i < n; i++) bad += x[i] != (int64_t)want->data[i];
        CHECK_MSG(want && (int)want->numel == n && bad == 0, "shuffle of arange(%d): %d positions differ from numpy", n, bad);
        free(x);
    }
    /* the number of draws: shuffles of 1..40 items in turn, then 4 outputs */
    mbt_np_random_seed(&r, 42);
    int64_t buf[40];
    for (int n = 1; n <= 40; n++) {
        for (int i = 0; i < n; i++) buf[i] = i;
        mbt_np_random_shuffle(&r, buf, n);
    }
    const fixture_array *after = fixture_get(fx, "after_shuffles");
    bad = 0;
    for (int i = 0; after && i < 4; i++) bad += mbt_np_random_u32(&r) != (uint32_t)after->data[i];
    CHECK_MSG(after && bad == 0, "outputs after 40 shuffles differ from numpy (%d of 4)", bad);
    /* random_interval(0) draws nothing; intervals stay in range */
    mbt_np_random_seed(&r, 42);
    CHECK(mbt_np_random_interval(&r, 0) == 0);
    CHECK(u && mbt_np_random_u32(&r) == (uint32_t)u->data[0]);
    for (int i = 0; i < 1000; i++) CHECK(mbt_np_random_interval(&r, 6) <= 6);
    CHECK(mbt_np_random_interval(&r, 0x1ffffffffull) <= 0x1ffffffffull);
    /* int(0.8 * n): 7 -> 5 + 2, 10 -> 8 + 2, 1 -> 0 + 1 */
    int64_t out[10];
    mbt_np_random_seed(&r, 42);
    CHECK(mbt_np_holdout_split(&r, 7, 1, out) == 5);
    CHECK(mbt_np_holdout_split(&r, 10, 0, out) == 2);
    CHECK(mbt_np_holdout_split(&r, 1, 1, out) == 0);
    CHECK(mbt_np_holdout_split(&r, 1, 0, out) == 1 && out[0] == 0);
}

/* ---- the transfer transform against torchvision -------------------------------------------------- */

static void pixel_image(mbt_image *img, int w, int h, int channels) {
    CHECK_OK(mbt_image_reserve(img, w, h));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                img->data[((size_t)y * w + x) * 3 + c] = (uint8_t)((x * 37 + y * 11 + (channels == 1 ? 0 : c) * 101 +
                                                                    (x * y) % 13) % 256);
}

static void transform(const fixture_file *fx) {
    static const struct {
        const char *name;
        int w, h, channels;
        float mean[3], std[3];
    } cases[] = {
        {"resize_gray", 28, 28, 1, {0.170f, 0.170f, 0.170f}, {0.320f, 0.320f, 0.320f}},
        {"resize_rgb", 45, 23, 3, {0.533f, 0.474f, 0.426f}, {0.261f, 0.250f, 0.259f}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        mbt_augment_recipe r;
        CHECK_OK(mbt_augment_recipe_resize(32, cases[k].mean, cases[k].std, &r));
        mbt_image img = {0};
        mbt_augment_scratch s = {0};
        pixel_image(&img, cases[k].w, cases[k].h, cases[k].channels);
        float out[3 * 32 * 32];
        CHECK_OK(mbt_augment_eval(&r, &img, &s, out));
        const fixture_array *want = fixture_get(fx, cases[k].name);
        long worst = -1;
        double v = want && want->numel == 3 * 32 * 32 ? check_max_violation(out, want->data, 3 * 32 * 32, 0, 1e-5, &worst)
                                                       : 1e9;
        CHECK_MSG(v <= 1, "%s: Resize((32, 32)) + Normalize differs from torchvision (%.3g of the tolerance at %ld)",
                  cases[k].name, v, worst);
        mbt_image_free(&img);
        mbt_augment_scratch_free(&s);
    }
    mbt_augment_recipe r;
    const float mean[3] = {0.5f, 0.5f, 0.5f}, bad_std[3] = {0.5f, 0.0f, 0.5f};
    CHECK(mbt_augment_recipe_resize(32, mean, bad_std, &r) == MBT_ERR_ARG);
    CHECK(mbt_augment_recipe_resize(0, mean, mean, &r) == MBT_ERR_ARG);
}

/* ---- MNIST / Fashion-MNIST idx ------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An idx3 image file of n images rows x cols (pixel p of image i = (i * 16 + p) % 256) and its idx1
 * labels ((3 * i + 1) % 10), as byte buffers. */
static void make_idx(int n, int rows, int cols, uint8_t **img, size_t *ilen, uint8_t **lab, size_t *llen) {
    *ilen = 16 + (size_t)n * rows * cols;
    *llen = 8 + (size_t)n;
    *img = malloc(*ilen);
    *lab = malloc(*llen);
    put_be32(*img, 0x803);
    put_be32(*img + 4, (uint32_t)n);
    put_be32(*img + 8, (uint32_t)rows);
    put_be32(*img + 12, (uint32_t)cols);
    for (size_t p = 0; p < (size_t)n * rows * cols; p++) (*img)[16 + p] = (uint8_t)((p / (rows * cols)) * 16 + p % (rows * cols));
    put_be32(*lab, 0x801);
    put_be32(*lab + 4, (uint32_t)n);
    for (int i = 0; i < n; i++) (*lab)[8 + i] = (uint8_t)((3 * i + 1) % 10);
}

/* Writes data gzip-compressed to dir/rel (libarchive's raw format with the gzip filter). */
static void write_gz(const char *dir, const char *rel, const void *data, size_t n) {
    char path[8192];
    write_bytes(dir, rel, "", 0);
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int ok = archive_write_add_filter_gzip(a) == ARCHIVE_OK && archive_write_set_format_raw(a) == ARCHIVE_OK &&
             archive_write_open_filename(a, path) == ARCHIVE_OK;
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)n);
    ok = ok && archive_write_header(a, e) == ARCHIVE_OK && archive_write_data(a, data, n) == (la_ssize_t)n;
    ok = ok && archive_write_close(a) == ARCHIVE_OK;
    CHECK_MSG(ok, "cannot write %s: %s", path, archive_error_string(a));
    archive_entry_free(e);
    archive_write_free(a);
}

static void expect_idx(const char *kind, const char *dir, mbt_split split, int n, int rows, int cols, const char *name0) {
    mbt_dataset *ds = open_ok(kind, dir, split);
    if (!ds) return;
    CHECK(mbt_dataset_count(ds) == n && mbt_dataset_num_classes(ds) == 10 && mbt_dataset_in_memory(ds));
    CHECK_MSG(!strcmp(mbt_dataset_class_name(ds, 0), name0), "class 0 of %s: %s", kind, mbt_dataset_class_name(ds, 0));
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    int bad = 0;
    for (int i = 0; i < n; i++) {
        bad += mbt_dataset_label(ds, i) != (3 * i + 1) % 10;
        if (!CHECK_OK(mbt_dataset_image(ds, i, &rd, &img))) break;
        bad += img.width != cols || img.height != rows;
        for (int p = 0; p < rows * cols && img.width == cols; p++)
            for (int c = 0; c < 3; c++) bad += img.data[3 * p + c] != (uint8_t)(i * 16 + p);
    }
    CHECK_MSG(bad == 0, "%s %s: %d labels or pixels differ", kind, dir, bad);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    mbt_dataset_destroy(ds);
}

static void mnist(const char *tmp) {
    char dir[4200], sub[4300];
    uint8_t *img, *lab;
    size_t ilen, llen;
    /* MNIST, plain files in the folder itself: 7 training images of 4 rows x 5 columns, 3 test images */
    snprintf(dir, sizeof dir, "%s/mnist", tmp);
    mkdir(dir, 0777);
    make_idx(7, 4, 5, &img, &ilen, &lab, &llen);
    write_bytes(dir, "train-images-idx3-ubyte", img, ilen);
    write_bytes(dir, "train-labels-idx1-ubyte", lab, llen);
    free(img);
    free(lab);
    make_idx(3, 4, 5, &img, &ilen, &lab, &llen);
    write_bytes(dir, "t10k-images-idx3-ubyte", img, ilen);
    write_bytes(dir, "t10k-labels-idx1-ubyte", lab, llen);
    free(img);
    free(lab);
    expect_idx("mnist", dir, MBT_SPLIT_TRAIN, 7, 4, 5, "0 - zero");
    expect_idx("mnist", dir, MBT_SPLIT_TEST, 3, 4, 5, "0 - zero");

    /* Fashion-MNIST, the published .gz files under torchvision's FashionMNIST/raw */
    snprintf(dir, sizeof dir, "%s/fashion", tmp);
    mkdir(dir, 0777);
    make_idx(6, 3, 2, &img, &ilen, &lab, &llen);
    write_gz(dir, "FashionMNIST/raw/train-images-idx3-ubyte.gz", img, ilen);
    write_gz(dir, "FashionMNIST/raw/train-labels-idx1-ubyte.gz", lab, llen);
    write_gz(dir, "FashionMNIST/raw/t10k-images-idx3-ubyte.gz", img, ilen);
    write_gz(dir, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", lab, llen);
    expect_idx("fashionmnist", dir, MBT_SPLIT_TRAIN, 6, 3, 2, "T-shirt/top");
    expect_idx("fashionmnist", dir, MBT_SPLIT_TEST, 6, 3, 2, "T-shirt/top");
    mbt_dataset *ds = NULL;

    /* errors, each naming the file */
    snprintf(sub, sizeof sub, "%s/FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", dir);
    write_bytes(dir, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", "\x1f\x8b\x08\x00garbage", 12);
    expect_error(mbt_dataset_open(&ds, "fashionmnist", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, sub, NULL);
    uint8_t *bad = malloc(llen);
    memcpy(bad, lab, llen);
    bad[8 + 2] = 10;
    write_gz(dir, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", bad, llen);
    expect_error(mbt_dataset_open(&ds, "fashionmnist", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "bad label 10 of image 2", sub);
    write_gz(dir, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", lab, llen - 1);
    expect_error(mbt_dataset_open(&ds, "fashionmnist", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "wrong size", sub);
    bad[3] = 0x03; /* the images' magic on a label file */
    bad[8 + 2] = 1;
    write_gz(dir, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", bad, llen);
    expect_error(mbt_dataset_open(&ds, "fashionmnist", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "not an idx1 label file", sub);
    free(bad);
    write_gz(dir, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", lab, llen);
    write_gz(dir, "FashionMNIST/raw/t10k-images-idx3-ubyte.gz", img, ilen - 3);
    snprintf(sub, sizeof sub, "%s/FashionMNIST/raw/t10k-images-idx3-ubyte.gz", dir);
    expect_error(mbt_dataset_open(&ds, "fashionmnist", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, "wrong size", sub);
    free(img);
    free(lab);
    snprintf(dir, sizeof dir, "%s/mnist", tmp);
    mkdir(dir, 0777);
    snprintf(sub, sizeof sub, "%s/t10k-labels-idx1-ubyte", dir);
    CHECK(remove(sub) == 0);
    expect_error(mbt_dataset_open(&ds, "mnist", dir, MBT_SPLIT_TEST), MBT_ERR_IO, sub, "missing file");
    CHECK(ds == NULL);

    /* the real Fashion-MNIST when Debian's dataset-fashion-mnist is installed (not needed by the tests) */
    const char *deb = "/usr/share/datasets/fashion-mnist";
    snprintf(sub, sizeof sub, "%s/t10k-labels-idx1-ubyte.gz", deb);
    if (access(sub, R_OK) != 0) {
        printf("note: %s not installed; the check of the real files is skipped\n", deb);
        return;
    }
    for (int part = 0; part < 2; part++) {
        mbt_dataset *f = open_ok("fashionmnist", deb, part ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN);
        if (!f) continue;
        int64_t count[10] = {0};
        for (int64_t i = 0; i < mbt_dataset_count(f); i++) count[mbt_dataset_label(f, i)]++;
        int even = 1;
        for (int c = 0; c < 10; c++) even &= count[c] == (part ? 1000 : 6000);
        CHECK_MSG(mbt_dataset_count(f) == (part ? 10000 : 60000) && even, "Fashion-MNIST %s: %lld images, class 0: %lld",
                  part ? "test" : "train", (long long)mbt_dataset_count(f), (long long)count[0]);
        mbt_dataset_destroy(f);
    }
}

/* ---- DTD ----------------------------------------------------------------------------------------- */

/* Checks the ids (image contents) and labels of a dataset against want_ids / want_labels. */
static void expect_list(const mbt_dataset *ds, const char *what, const int *ids, const int *labels, int n) {
    CHECK_MSG(mbt_dataset_count(ds) == n, "%s: %lld images, expected %d", what, (long long)mbt_dataset_count(ds), n);
    int bad = 0;
    for (int i = 0; i < n && i < mbt_dataset_count(ds); i++) {
        int id = read_id(ds, i, NULL, NULL);
        if (id != ids[i] || mbt_dataset_label(ds, i) != labels[i]) {
            if (bad++ < 3)
                fprintf(stderr, "%s: image %d is id %d label %d, expected id %d label %d\n", what, i, id,
                        mbt_dataset_label(ds, i), ids[i], labels[i]);
        }
    }
    CHECK_MSG(bad == 0, "%s: %d images differ", what, bad);
}

static void dtd(const char *tmp) {
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/dtd_root", tmp);
    mkdir(dir, 0777);
    /* the archive's layout: dtd/images/<category>/..., dtd/labels/{train,val,test}1.txt (CRLF in one) */
    write_text(dir, "dtd/labels/train1.txt", "zigzagged/zigzagged_0001.jpg\r\nbanded/banded_0001.jpg\r\n");
    write_text(dir, "dtd/labels/val1.txt", "blotchy/blotchy_0001.jpg\nbanded/banded_0002.jpg\n\n");
    write_text(dir, "dtd/labels/test1.txt", "blotchy/blotchy_0002.jpg\nzigzagged/zigzagged_0002.jpg\nbanded/banded_0003.jpg");
    write_text(dir, "dtd/labels/train2.txt", "banded/banded_0003.jpg\n"); /* other splits are not read */
    static const char *const files[] = {"zigzagged/zigzagged_0001.jpg", "banded/banded_0001.jpg", "blotchy/blotchy_0001.jpg",
                                        "banded/banded_0002.jpg",       "blotchy/blotchy_0002.jpg", "zigzagged/zigzagged_0002.jpg",
                                        "banded/banded_0003.jpg"};
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "dtd/images/%s", files[i]);
        write_id_image(dir, path, 100 + i, 3 + i, 4);
    }
    mbt_dataset *tr = open_ok("dtd", dir, MBT_SPLIT_TRAIN), *te = open_ok("dtd", dir, MBT_SPLIT_TEST);
    if (tr && te) {
        /* classes sorted: banded 0, blotchy 1, zigzagged 2; training = train1 then val1 */
        const int tr_ids[] = {100, 101, 102, 103}, tr_lab[] = {2, 0, 1, 0};
        const int te_ids[] = {104, 105, 106}, te_lab[] = {1, 2, 0};
        expect_list(tr, "DTD train+val", tr_ids, tr_lab, 4);
        expect_list(te, "DTD test", te_ids, te_lab, 3);
        CHECK(mbt_dataset_num_classes(tr) == 3 && mbt_dataset_num_classes(te) == 3);
        CHECK(!strcmp(mbt_dataset_class_name(tr, 1), "blotchy") && !strcmp(mbt_dataset_class_name(te, 2), "zigzagged"));
    }
    mbt_dataset_destroy(tr);
    mbt_dataset_destroy(te);
    /* the folder itself may be the archive's dtd/ */
    snprintf(path, sizeof path, "%s/dtd", dir);
    mbt_dataset *d2 = open_ok("dtd", path, MBT_SPLIT_TEST);
    CHECK(d2 && mbt_dataset_count(d2) == 3);
    mbt_dataset_destroy(d2);
    /* errors */
    mbt_dataset *ds = NULL;
    write_text(dir, "dtd/labels/val1.txt", "blotchy/blotchy_0001.jpg\nbanded_0002.jpg\n");
    snprintf(path, sizeof path, "%s/dtd/labels/val1.txt", dir);
    expect_error(mbt_dataset_open(&ds, "dtd", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, "line 2");
    write_text(dir, "dtd/labels/val1.txt", "blotchy/blotchy_0001.jpg\n");
    snprintf(path, sizeof path, "%s/dtd/labels/test1.txt", dir);
    CHECK(remove(path) == 0);
    expect_error(mbt_dataset_open(&ds, "dtd", dir, MBT_SPLIT_TEST), MBT_ERR_IO, path, "missing file");
    /* a listed image that is missing fails when read, naming it */
    write_text(dir, "dtd/labels/val1.txt", "blotchy/blotchy_0009.jpg\n");
    write_text(dir, "dtd/labels/test1.txt", "banded/banded_0003.jpg\n");
    if ((ds = open_ok("dtd", dir, MBT_SPLIT_TRAIN))) {
        mbt_dataset_reader rd = {0};
        mbt_image img = {0};
        expect_error(mbt_dataset_image(ds, 2, &rd, &img), MBT_ERR_IO, "blotchy_0009.jpg", NULL);
        mbt_dataset_reader_free(&rd);
        mbt_dataset_destroy(ds);
    }
}

/* ---- CUB-200-2011 -------------------------------------------------------------------------------- */

static void cub(const char *tmp) {
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/cub", tmp);
    mkdir(dir, 0777);
    write_text(dir, "CUB_200_2011/classes.txt", "1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n3 003.Sooty_Albatross\n");
    write_text(dir, "CUB_200_2011/images.txt",
               "1 001.Black_footed_Albatross/A_0001.jpg\n2 001.Black_footed_Albatross/A_0002.jpg\n"
               "3 002.Laysan_Albatross/L_0001.jpg\n4 002.Laysan_Albatross/L_0002.jpg\n"
               "5 003.Sooty_Albatross/S_0001.jpg\n6 003.Sooty_Albatross/S_0002.jpg\n");
    /* the label and split files in another order than images.txt: matched by id */
    write_text(dir, "CUB_200_2011/image_class_labels.txt", "6 3\n5 3\n1 1\n2 1\n4 2\n3 2\n");
    write_text(dir, "CUB_200_2011/train_test_split.txt", "1 1\n2 0\n3 0\n4 1\n5 1\n6 0\n");
    static const char *const files[] = {"001.Black_footed_Albatross/A_0001.jpg", "001.Black_footed_Albatross/A_0002.jpg",
                                        "002.Laysan_Albatross/L_0001.jpg",       "002.Laysan_Albatross/L_0002.jpg",
                                        "003.Sooty_Albatross/S_0001.jpg",        "003.Sooty_Albatross/S_0002.jpg"};
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "CUB_200_2011/images/%s", files[i]);
        write_id_image(dir, path, 200 + i, 5, 3 + i);
    }
    mbt_dataset *tr = open_ok("cub200", dir, MBT_SPLIT_TRAIN), *te = open_ok("cub200", dir, MBT_SPLIT_TEST);
    if (tr && te) {
        const int tr_ids[] = {200, 203, 204}, tr_lab[] = {0, 1, 2};
        const int te_ids[] = {201, 202, 205}, te_lab[] = {0, 1, 2};
        expect_list(tr, "CUB train", tr_ids, tr_lab, 3);
        expect_list(te, "CUB test", te_ids, te_lab, 3);
        CHECK(mbt_dataset_num_classes(tr) == 3 && !strcmp(mbt_dataset_class_name(tr, 2), "003.Sooty_Albatross"));
    }
    mbt_dataset_destroy(tr);
    mbt_dataset_destroy(te);
    /* without classes.txt the classes are 1..the largest label */
    snprintf(path, sizeof path, "%s/CUB_200_2011/classes.txt", dir);
    CHECK(remove(path) == 0);
    snprintf(path, sizeof path, "%s/CUB_200_2011", dir);
    mbt_dataset *ds = open_ok("cub200", path, MBT_SPLIT_TEST);
    CHECK(ds && mbt_dataset_num_classes(ds) == 3 && !strcmp(mbt_dataset_class_name(ds, 0), "1"));
    mbt_dataset_destroy(ds);
    ds = NULL;
    /* errors */
    write_text(dir, "CUB_200_2011/image_class_labels.txt", "6 3\n5 3\n1 1\n2 1\n3 2\n");
    snprintf(path, sizeof path, "%s/CUB_200_2011/image_class_labels.txt", dir);
    expect_error(mbt_dataset_open(&ds, "cub200", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, "no label for image id 4");
    write_text(dir, "CUB_200_2011/image_class_labels.txt", "6 3\n5 3\n1 1\n2 x\n4 2\n3 2\n");
    expect_error(mbt_dataset_open(&ds, "cub200", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, "bad label 'x'");
    write_text(dir, "CUB_200_2011/image_class_labels.txt", "6 3\n5 3\n1 1\n2 1\n4 2\n3 2\n");
    write_text(dir, "CUB_200_2011/train_test_split.txt", "1 1\n2 0\n3 2\n4 1\n5 1\n6 0\n");
    snprintf(path, sizeof path, "%s/CUB_200_2011/train_test_split.txt", dir);
    expect_error(mbt_dataset_open(&ds, "cub200", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, "line 3");
    CHECK(remove(path) == 0);
    expect_error(mbt_dataset_open(&ds, "cub200", dir, MBT_SPLIT_TRAIN), MBT_ERR_IO, path, "missing file");
}

/* ---- Flowers-102 --------------------------------------------------------------------------------- */

#ifdef MIXBT_HAVE_MATIO
/* Writes a MAT-file (version 5) holding `name` = the row vector v of n doubles (as_uint8: stored as uint8). */
static void write_mat(const char *path, const char *name, const double *v, int n, int as_uint8) {
    mat_t *mat = Mat_CreateVer(path, NULL, MAT_FT_MAT5);
    CHECK_MSG(mat != NULL, "cannot create %s", path);
    if (!mat) return;
    size_t dims[2] = {1, (size_t)n};
    uint8_t *u8 = malloc((size_t)n);
    for (int i = 0; i < n; i++) u8[i] = (uint8_t)v[i];
    matvar_t *var = as_uint8 ? Mat_VarCreate(name, MAT_C_UINT8, MAT_T_UINT8, 2, dims, u8, 0)
                             : Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, (void *)v, 0);
    CHECK(var && Mat_VarWrite(mat, var, MAT_COMPRESSION_NONE) == 0);
    Mat_VarFree(var);
    Mat_Close(mat);
    free(u8);
}
#endif

static void flowers(const char *tmp, const fixture_file *fx) {
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/flowers", tmp);
    mkdir(dir, 0777);
    const fixture_array *labels = fixture_get(fx, "flowers_labels");
    if (!labels) return;
    int n = (int)labels->numel;
    snprintf(path, sizeof path, "%s/imagelabels.mat", dir);
    write_bytes(dir, "jpg/.keep", "", 0);
#ifdef MIXBT_HAVE_MATIO
    write_mat(path, "labels", labels->data, n, 0);
    for (int k = 1; k <= n; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "jpg/image_%05d.jpg", k);
        write_id_image(dir, rel, 300 + k, 4, 4);
    }
    for (int layout = 0; layout < 2; layout++) {
        for (int part = 0; part < 2; part++) {
            const char *split = part ? "test" : "train";
            char name[64];
            snprintf(name, sizeof name, "flowers_%s", split);
            const fixture_array *img = fixture_get(fx, name);
            snprintf(name, sizeof name, "flowers_%s_labels", split);
            const fixture_array *lab = fixture_get(fx, name);
            if (!img || !lab) continue;
            int m = (int)img->numel, *ids = malloc((size_t)m * sizeof *ids), *want = malloc((size_t)m * sizeof *want);
            for (int i = 0; i < m; i++) {
                ids[i] = 300 + (int)img->data[i];
                want[i] = (int)lab->data[i];
            }
            mbt_dataset *ds = open_ok("flowers102", dir, part ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN);
            if (ds) {
                char what[96];
                snprintf(what, sizeof what, "Flowers-102 %s (%s)", split, layout ? "images beside the .mat" : "jpg/");
                expect_list(ds, what, ids, want, m);
                CHECK(mbt_dataset_num_classes(ds) == 6 && !strcmp(mbt_dataset_class_name(ds, 5), "6"));
            }
            mbt_dataset_destroy(ds);
            free(ids);
            free(want);
        }
        /* the reference's own layout: jpg/ renamed, the images beside imagelabels.mat */
        char from[4400], to[4400];
        for (int k = 1; k <= n && layout == 0; k++) {
            snprintf(from, sizeof from, "%s/jpg/image_%05d.jpg", dir, k);
            snprintf(to, sizeof to, "%s/image_%05d.jpg", dir, k);
            CHECK(rename(from, to) == 0);
        }
        snprintf(from, sizeof from, "%s/jpg/.keep", dir);
        remove(from);
        snprintf(from, sizeof from, "%s/jpg", dir);
        CHECK(layout == 1 || rmdir(from) == 0);
    }
    /* labels stored as uint8 read the same */
    write_mat(path, "labels", labels->data, n, 1);
    mbt_dataset *ds = open_ok("flowers102", dir, MBT_SPLIT_TRAIN);
    const fixture_array *tr = fixture_get(fx, "flowers_train");
    CHECK(ds && tr && mbt_dataset_count(ds) == (int64_t)tr->numel && read_id(ds, 0, NULL, NULL) == 300 + (int)tr->data[0]);
    mbt_dataset_destroy(ds);
    ds = NULL;
    /* errors */
    write_mat(path, "imlabels", labels->data, n, 0);
    expect_error(mbt_dataset_open(&ds, "flowers102", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, "no variable 'labels'");
    double zero[3] = {1, 0, 2};
    write_mat(path, "labels", zero, 3, 0);
    expect_error(mbt_dataset_open(&ds, "flowers102", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, "bad label 0 of image 2");
    /* a labels variable larger than any Flowers-102 file: refused from its declared size, before libmatio reads it */
    double *big = calloc(1000001, sizeof *big);
    write_mat(path, "labels", big, 1000001, 1);
    free(big);
    expect_error(mbt_dataset_open(&ds, "flowers102", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path,
                 "'labels' declares more than 1000000 entries");
    write_text(dir, "imagelabels.mat", "not a MAT-file");
    expect_error(mbt_dataset_open(&ds, "flowers102", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path, NULL);
    CHECK(remove(path) == 0);
    expect_error(mbt_dataset_open(&ds, "flowers102", dir, MBT_SPLIT_TRAIN), MBT_ERR_IO, path, "missing file");
#else
    mbt_dataset *ds = NULL;
    write_text(dir, "imagelabels.mat", "MATLAB 5.0 MAT-file");
    expect_error(mbt_dataset_open(&ds, "flowers102", dir, MBT_SPLIT_TRAIN), MBT_ERR_UNSUPPORTED, path, "libmatio");
    printf("note: built without libmatio; only its error is checked\n");
#endif
}

/* ---- GTSRB --------------------------------------------------------------------------------------- */

/* Writes dir/rel as a binary PPM (header given up to the samples) with write_id_image's pixels. */
static void write_id_ppm(const char *dir, const char *rel, int id, int w, int h, const char *header) {
    char head[128];
    if (!header) {
        snprintf(head, sizeof head, "P6\n%d %d\n255\n", w, h);
        header = head;
    }
    size_t hn = strlen(header), n = hn + (size_t)w * h * 3;
    uint8_t *buf = malloc(n);
    memcpy(buf, header, hn);
    for (int p = 0; p < w * h; p++) {
        buf[hn + 3 * p] = (uint8_t)(id % 256);
        buf[hn + 3 * p + 1] = (uint8_t)(id / 256);
        buf[hn + 3 * p + 2] = (uint8_t)p;
    }
    write_bytes(dir, rel, buf, n);
    free(buf);
}

static void expect_gtsrb(const char *dir, const fixture_file *fx, int part) {
    const fixture_array *want = fixture_get(fx, part ? "gtsrb_test" : "gtsrb_train");
    if (!want) return;
    int m = (int)want->dims[0], *ids = malloc((size_t)m * sizeof *ids), *lab = malloc((size_t)m * sizeof *lab);
    for (int i = 0; i < m; i++) {
        lab[i] = (int)want->data[2 * i];
        ids[i] = 1000 + 20 * lab[i] + (int)want->data[2 * i + 1];
    }
    mbt_dataset *ds = open_ok("gtsrb", dir, part ? MBT_SPLIT_TEST : MBT_SPLIT_TRAIN);
    if (ds) {
        expect_list(ds, part ? "GTSRB test" : "GTSRB train", ids, lab, m);
        CHECK(mbt_dataset_num_classes(ds) == 43);
    }
    mbt_dataset_destroy(ds);
    free(ids);
    free(lab);
}

static void gtsrb(const char *tmp, const fixture_file *fx) {
    char dir[4200], rel[128], path[4400];
    snprintf(dir, sizeof dir, "%s/gtsrb", tmp);
    mkdir(dir, 0777);
    const fixture_array *sizes = fixture_get(fx, "gtsrb_sizes");
    if (!sizes || sizes->numel != 43) {
        CHECK(0);
        return;
    }
    /* FullIJCNN2013.zip: folders 00 .. 42 of NNNNN.ppm; files created in reverse name order, and other
     * files beside them (a hidden .ppm, a .csv) that are not images of the set */
    for (int c = 0; c < 43; c++) {
        snprintf(rel, sizeof rel, "FullIJCNN2013/%02d/.keep", c);
        write_bytes(dir, rel, "", 0);
        for (int k = (int)sizes->data[c] - 1; k >= 0; k--) {
            snprintf(rel, sizeof rel, "FullIJCNN2013/%02d/%05d.ppm", c, k);
            write_id_ppm(dir, rel, 1000 + 20 * c + k, 3 + k % 3, 2, k == 1 ? "P6 # a comment\n3 2\n# another\n255\n" : NULL);
        }
    }
    write_bytes(dir, "FullIJCNN2013/05/.hidden.ppm", "x", 1);
    write_text(dir, "FullIJCNN2013/05/GT-00005.csv", "Filename;ClassId\n");
    write_id_ppm(dir, "FullIJCNN2013/00000.ppm", 9999, 4, 4, NULL); /* a full scene beside the class folders */
    expect_gtsrb(dir, fx, 0);
    expect_gtsrb(dir, fx, 1);
    /* the GTSRB training archive's layout: Final_Training/Images/00000 .. 00042 */
    snprintf(path, sizeof path, "%s/wide", tmp);
    mkdir(path, 0777);
    for (int c = 0; c < 43; c++)
        for (int k = 0; k < 5; k++) {
            snprintf(rel, sizeof rel, "GTSRB/Final_Training/Images/%05d/%05d_%05d.ppm", c, k / 2, k);
            write_id_ppm(path, rel, 1000 + 20 * c + k, 2, 2, NULL);
        }
    mbt_dataset *tr = open_ok("gtsrb", path, MBT_SPLIT_TRAIN), *te = open_ok("gtsrb", path, MBT_SPLIT_TEST);
    CHECK(tr && te && mbt_dataset_count(tr) == 43 * 4 && mbt_dataset_count(te) == 43);
    CHECK(tr && mbt_dataset_label(tr, 4) == 1 && !strcmp(mbt_dataset_class_name(tr, 42), "00042"));
    mbt_dataset_destroy(tr);
    mbt_dataset_destroy(te);
    /* errors: a missing class folder; PPM files that are not 8-bit P6 */
    mbt_dataset *ds = NULL;
    char moved[4400];
    snprintf(path, sizeof path, "%s/FullIJCNN2013/17", dir);
    snprintf(moved, sizeof moved, "%s/FullIJCNN2013/17x", dir);
    CHECK(rename(path, moved) == 0);
    expect_error(mbt_dataset_open(&ds, "gtsrb", dir, MBT_SPLIT_TRAIN), MBT_ERR_IO, path, "missing class folder");
    CHECK(rename(moved, path) == 0);
    expect_error(mbt_dataset_open(&ds, "gtsrb", tmp, MBT_SPLIT_TRAIN), MBT_ERR_IO, "no GTSRB class folders", NULL);
    write_text(dir, "FullIJCNN2013/00/00000.ppm", "P6\n2 2\n65535\n0123456789012345678901234");
    write_text(dir, "FullIJCNN2013/00/00001.ppm", "P6\n4 4\n255\n0123");
    write_text(dir, "FullIJCNN2013/00/00002.ppm", "P3\n1 1\n255\n1 2 3\n");
    if ((ds = open_ok("gtsrb", dir, MBT_SPLIT_TRAIN))) {
        mbt_dataset_reader rd = {0};
        mbt_image img = {0};
        /* class 0's training images are the first of the set; find each file's position */
        const char *expect[3][2] = {{"00000.ppm", "maxval 65535"}, {"00001.ppm", "truncated PPM"}, {"00002.ppm", "not a JPEG or PNG"}};
        int seen = 0;
        for (int64_t i = 0; i < mbt_dataset_count(ds) && mbt_dataset_label(ds, i) == 0; i++) {
            mbt_status st = mbt_dataset_image(ds, i, &rd, &img);
            const char *m = mbt_error_message();
            for (int e = 0; e < 3; e++)
                if (st != MBT_OK && strstr(m, expect[e][0])) {
                    expect_error(st, MBT_ERR_FORMAT, expect[e][0], expect[e][1]);
                    seen++;
                }
        }
        CHECK_MSG(seen >= 2, "only %d of the bad PPM files were in class 0's training part", seen);
        mbt_image_free(&img);
        mbt_dataset_reader_free(&rd);
        mbt_dataset_destroy(ds);
    }
}

/* ---- FGVC-Aircraft ------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int id, x0, y0, x1, y1;
} box_case;

/* Checks image i: the crop (x0, y0, x1, y1) of write_id_image's 6 x 5 image of `id`, black outside it. */
static void expect_crop(const mbt_dataset *ds, int64_t i, const box_case *b, int label) {
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    CHECK_MSG(mbt_dataset_label(ds, i) == label, "aircraft image %lld (%s): label %d, expected %d", (long long)i, b->name,
              mbt_dataset_label(ds, i), label);
    if (CHECK_OK(mbt_dataset_image(ds, i, &rd, &img))) {
        int w = b->x1 - b->x0, h = b->y1 - b->y0, bad = 0;
        CHECK_MSG(img.width == w && img.height == h, "%s: crop %dx%d, expected %dx%d", b->name, img.width, img.height, w, h);
        for (int y = 0; y < h && img.width == w && img.height == h; y++)
            for (int x = 0; x < w; x++) {
                int sx = b->x0 + x, sy = b->y0 + y, in = sx >= 0 && sx < 6 && sy >= 0 && sy < 5;
                const uint8_t *p = img.data + ((size_t)y * w + x) * 3;
                bad += p[0] != (in ? b->id % 256 : 0) || p[1] != (in ? b->id / 256 : 0) || p[2] != (in ? sx + 16 * sy : 0);
            }
        CHECK_MSG(bad == 0, "%s: %d pixels of the crop differ", b->name, bad);
    }
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
}

static void aircraft(const char *tmp) {
    char dir[4200], rel[128], path[4400];
    snprintf(dir, sizeof dir, "%s/aircraft", tmp);
    mkdir(dir, 0777);
    static const box_case boxes[] = {
        {"0034309", 400, 1, 1, 4, 3}, {"0041979", 401, 0, 0, 6, 5}, {"0037511", 402, 4, 3, 8, 6}, /* past the corner */
        {"0056978", 403, 2, 0, 3, 5}, {"0062765", 404, 0, 0, 2, 2}, {"0034958", 405, 5, 4, 6, 5},
    };
    char box_text[1024] = "";
    for (int i = 0; i < 6; i++) {
        snprintf(rel, sizeof rel, "fgvc-aircraft-2013b/data/images/%s.jpg", boxes[i].name);
        write_id_image(dir, rel, boxes[i].id, 6, 5);
        char line[96];
        snprintf(line, sizeof line, "%s %d %d %d %d\n", boxes[i].name, boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1);
        strcat(box_text, line);
    }
    write_text(dir, "fgvc-aircraft-2013b/data/images_box.txt", box_text);
    /* variants hold spaces; a name listed twice keeps its last variant (the reference's dict) */
    write_text(dir, "fgvc-aircraft-2013b/data/images_variant_trainval.txt",
               "0056978 Cessna 172\n0034309 Boeing 707-320\n0041979 A300B4\n0037511 Boeing 707-320\n0034309 A300B4\n");
    write_text(dir, "fgvc-aircraft-2013b/data/images_variant_test.txt", "0062765 Boeing 707-320\n0034958 Cessna 172\n");
    mbt_dataset *tr = open_ok("aircraft", dir, MBT_SPLIT_TRAIN), *te = open_ok("aircraft", dir, MBT_SPLIT_TEST);
    if (tr && te) {
        /* classes A300B4 0, Boeing 707-320 1, Cessna 172 2; by class, names sorted within */
        CHECK(mbt_dataset_count(tr) == 4 && mbt_dataset_count(te) == 2);
        CHECK(mbt_dataset_num_classes(tr) == 3 && !strcmp(mbt_dataset_class_name(tr, 1), "Boeing 707-320"));
        expect_crop(tr, 0, &boxes[0], 0);
        expect_crop(tr, 1, &boxes[1], 0);
        expect_crop(tr, 2, &boxes[2], 1);
        expect_crop(tr, 3, &boxes[3], 2);
        expect_crop(te, 0, &boxes[4], 1);
        expect_crop(te, 1, &boxes[5], 2);
    }
    mbt_dataset_destroy(tr);
    mbt_dataset_destroy(te);
    /* errors */
    mbt_dataset *ds = NULL;
    snprintf(path, sizeof path, "%s/fgvc-aircraft-2013b/data/images_box.txt", dir);
    write_text(dir, "fgvc-aircraft-2013b/data/images_box.txt", "0062765 0 0 2 2\n");
    expect_error(mbt_dataset_open(&ds, "aircraft", dir, MBT_SPLIT_TRAIN), MBT_ERR_FORMAT, path,
                 "no bounding box for image 0034309");
    write_text(dir, "fgvc-aircraft-2013b/data/images_box.txt", "0062765 0 0 2\n0034958 5 4 6 5\n");
    expect_error(mbt_dataset_open(&ds, "aircraft", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, path, "bad box '0 0 2'");
    write_text(dir, "fgvc-aircraft-2013b/data/images_box.txt", "0062765 3 0 2 2\n0034958 5 4 6 5\n");
    expect_error(mbt_dataset_open(&ds, "aircraft", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, path, "empty box");
    write_text(dir, "fgvc-aircraft-2013b/data/images_variant_test.txt", "0062765\n");
    snprintf(path, sizeof path, "%s/fgvc-aircraft-2013b/data/images_variant_test.txt", dir);
    expect_error(mbt_dataset_open(&ds, "aircraft", dir, MBT_SPLIT_TEST), MBT_ERR_FORMAT, path, "line 1");
    CHECK(remove(path) == 0);
    expect_error(mbt_dataset_open(&ds, "aircraft", dir, MBT_SPLIT_TRAIN), MBT_ERR_IO, path, "missing file");
}

int main(void) {
    char tmp[4096];
    fixture_file fx;
    if (tmp_folder(tmp, sizeof tmp, "transfer") != 0 || fixture_load(&fx, "transfer_data.bin") != 0) {
        CHECK(0);
        return check_report("test_transfer_data");
    }
    numpy_random(&fx);
    transform(&fx);
    mnist(tmp);
    dtd(tmp);
    cub(tmp);
    flowers(tmp, &fx);
    gtsrb(tmp, &fx);
    aircraft(tmp);
    fixture_free(&fx);
    rm_tree(tmp);
    return check_report("test_transfer_data");
}
