/* End-to-end tests of the standalone k-NN evaluation and the embeddings (tasks/evaluate.h, tasks/embed.h)
 * against an independent path: images read from the dataset and transformed one by one, features from
 * mbt_model_forward_eval of a model loaded by the pretraining's checkpoint reader, a brute-force weighted
 * k-NN in double. Checked: ranked predictions and hit counts for several k / T / subset settings (k
 * clamped to the bank), the
 * .npy files of mbt_embed_run row by row (order, values, labels), and errors. */
#include "test_data_util.h" /* first: it defines _GNU_SOURCE */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "tasks/train_checkpoint.h"
#include "tasks/embed.h"
#include "tasks/evaluate.h"

static char dir[256], data[300], ckpt[300];

static uint32_t hash32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    return x ^ (x >> 16);
}

/* CIFAR-10 binary folder: 5 files of 6 training records, 9 test records; labels and pixels from a hash,
 * pixels smooth-ish (a per-image colour plus a gradient plus noise) so that features vary. */
static void write_data(void) {
    unsigned char rec[3073];
    mkdir(data, 0777);
    for (int f = 0; f <= 5; f++) {
        int n = f < 5 ? 6 : 9;
        char name[64];
        unsigned char *buf = malloc((size_t)n * 3073);
        for (int r = 0; r < n; r++) {
            uint32_t id = (uint32_t)(f * 16 + r);
            rec[0] = (unsigned char)(hash32(id * 7 + 1) % 10);
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 1024; p++) {
                    int v = (int)(hash32(id * 3 + c) % 160) + (p % 32) * (int)(hash32(id + 99) % 3) +
                            (int)(hash32(id * 5000 + c * 1024 + p) % 24);
                    rec[1 + c * 1024 + p] = (unsigned char)(v > 255 ? 255 : v);
                }
            memcpy(buf + (size_t)r * 3073, rec, 3073);
        }
        if (f < 5) snprintf(name, sizeof name, "cifar/data_batch_%d.bin", f + 1);
        else snprintf(name, sizeof name, "cifar/test_batch.bin");
        write_bytes(dir, name, buf, (size_t)n * 3073);
        free(buf);
    }
}

/* A randomly initialised ResNet-18 (PyTorch's init, running statistics 0 / 1) saved as `mixbt pretrain`
 * saves it. */
static void write_checkpoint(void) {
    mbt_model_config cfg = mbt_model_config_small(MBT_ARCH_RESNET18, 32, 24);
    mbt_model *m = NULL;
    CHECK_OK(mbt_model_create(&m, &cfg, 2, 1, 0, MBT_DEVICE_CPU));
    if (!m) return;
    CHECK_OK(mbt_model_init_params(m, 11));
    CHECK_OK(mbt_checkpoint_save(ckpt, m, NULL, NULL, "{\"dataset\": \"cifar10\", \"arch\": \"resnet18\", \"feature_dim\": 24}"));
    mbt_model_destroy(m);
}

/* Reference features [n, dim] and labels of the first `limit` images of a split (0: all). */
static int reference_features(mbt_split split, int limit, int head, float **feat, int32_t **labels) {
    mbt_dataset *ds = NULL;
    CHECK_OK(mbt_dataset_open(&ds, "cifar10", data, split));
    if (!ds) return 0;
    int n = (int)mbt_dataset_count(ds);
    if (limit > 0 && limit < n) n = limit;
    mbt_model_config cfg = mbt_model_config_small(MBT_ARCH_RESNET18, 32, 24);
    mbt_model *m = NULL;
    CHECK_OK(mbt_model_create(&m, &cfg, n, 1, 0, MBT_DEVICE_CPU));
    CHECK_OK(mbt_checkpoint_load(ckpt, m, NULL, NULL, NULL));
    mbt_augment_recipe rc;
    CHECK_OK(mbt_augment_recipe_get("cifar", 32, &rc));
    int dim = head ? 24 : 512;
    *feat = malloc(sizeof(float) * n * dim);
    *labels = malloc(sizeof(int32_t) * n);
    float *x = malloc(sizeof(float) * n * 3 * 32 * 32);
    mbt_dataset_reader rd = {0};
    mbt_image img = {0};
    mbt_augment_scratch sc = {0};
    for (int i = 0; i < n; i++) {
        CHECK_OK(mbt_dataset_image(ds, i, &rd, &img));
        CHECK_OK(mbt_augment_eval(&rc, &img, &sc, x + (size_t)i * 3 * 32 * 32));
        (*labels)[i] = mbt_dataset_label(ds, i);
    }
    CHECK_OK(mbt_model_forward_eval(m, n, x, head ? NULL : *feat, head ? *feat : NULL));
    free(x);
    mbt_augment_scratch_free(&sc);
    mbt_image_free(&img);
    mbt_dataset_reader_free(&rd);
    mbt_model_destroy(m);
    mbt_dataset_destroy(ds);
    return n;
}

/* Brute force: double similarities, full ordering (ties to the lower index), votes exp(sim / T), classes
 * by descending score (ties to the lower class). */
static void brute_knn(const float *bank, const int32_t *bl, int nb, const float *q, const int32_t *ql, int nq, int k,
                      double T, int64_t *top1, int64_t *top5, int32_t *pred) {
    *top1 = *top5 = 0;
    double *sim = malloc(sizeof(double) * nb);
    int *used = malloc(sizeof(int) * nb);
    for (int i = 0; i < nq; i++) {
        for (int j = 0; j < nb; j++) {
            double s = 0;
            for (int d = 0; d < 512; d++) s += (double)q[i * 512 + d] * bank[j * 512 + d];
            sim[j] = (float)s;
            used[j] = 0;
        }
        double score[10] = {0};
        for (int t = 0; t < k; t++) {
            int best = -1;
            for (int j = 0; j < nb; j++)
                if (!used[j] && (best < 0 || sim[j] > sim[best])) best = j;
            used[best] = 1;
            score[bl[best]] += exp(sim[best] / T);
        }
        int rank = 0;
        for (int c = 0; c < 10; c++) rank += score[c] > score[ql[i]] || (score[c] == score[ql[i]] && c < ql[i]);
        for (int p = 0; p < 5; p++) { /* the class of rank p */
            int who = -1;
            for (int c = 0; c < 10 && who < 0; c++) {
                int rc = 0;
                for (int e = 0; e < 10; e++) rc += score[e] > score[c] || (score[e] == score[c] && e < c);
                if (rc == p) who = c;
            }
            pred[i * 5 + p] = who;
        }
        *top1 += rank == 0;
        *top5 += rank < 5;
    }
    free(sim);
    free(used);
}

static float *bank, *test;
static int32_t *bl, *tl;
static int nb, nt;

static void test_knn(void) {
    struct {
        int k, subset, test_subset, batch;
        double T;
    } cases[] = {{1, 0, 0, 256, 0.5}, {200, 0, 0, 7, 0.5}, {20, 20, 6, 5, 0.02}};
    int distinct = 0;
    int64_t last1 = -1;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mbt_knn_eval_config cfg;
        mbt_knn_eval_defaults(&cfg);
        cfg.src.checkpoint = ckpt;
        cfg.src.data_dir = data;
        cfg.k = cases[c].k;
        cfg.temperature = cases[c].T;
        cfg.src.subset = cases[c].subset;
        cfg.src.test_subset = cases[c].test_subset;
        cfg.batch_size = cases[c].batch;
        cfg.src.workers = 1 + (int)(c % 2);
        mbt_knn_eval_result r;
        int32_t got[9 * 5], want[9 * 5];
        memset(got, 0xff, sizeof got);
        CHECK_OK(mbt_knn_eval_run(&cfg, NULL, NULL, got, &r));
        int b = cases[c].subset ? cases[c].subset : nb, t = cases[c].test_subset ? cases[c].test_subset : nt;
        int k = cases[c].k < b ? cases[c].k : b;
        int64_t h1, h5;
        brute_knn(bank, bl, b, test, tl, t, k, cases[c].T, &h1, &h5, want);
        CHECK_MSG(memcmp(got, want, (size_t)t * 5 * sizeof(int32_t)) == 0, "case %zu: ranked predictions differ", c);
        CHECK_MSG(r.bank == b && r.test == t && r.k == k && r.num_classes == 10, "case %zu: bank %lld test %lld k %d", c,
                  (long long)r.bank, (long long)r.test, r.k);
        CHECK_MSG(fabs(r.top1 - 100.0 * h1 / t) < 1e-9 && fabs(r.top5 - 100.0 * h5 / t) < 1e-9,
                  "case %zu (k %d, T %g): top-1 %.2f top-5 %.2f, brute force %.2f %.2f", c, k, cases[c].T, r.top1, r.top5,
                  100.0 * h1 / t, 100.0 * h5 / t);
        distinct += h1 != last1;
        last1 = h1;
    }
    CHECK_MSG(distinct >= 2, "the cases should not all give the same top-1 (%d distinct)", distinct);
}

static float *read_npy(const char *path, size_t expect_bytes) {
    FILE *fp = fopen(path, "rb");
    CHECK_MSG(fp != NULL, "cannot open %s", path);
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    CHECK_MSG(n == (long)(128 + expect_bytes), "%s: %ld bytes, expected 128 + %zu", path, n, expect_bytes);
    float *buf = malloc(expect_bytes ? expect_bytes : 1);
    fseek(fp, 128, SEEK_SET);
    CHECK(fread(buf, 1, expect_bytes, fp) == expect_bytes);
    fclose(fp);
    return buf;
}

static void test_embed(void) {
    for (int head = 0; head < 2; head++) {
        float *ref = test;
        int32_t *lab = tl;
        int n = head ? reference_features(MBT_SPLIT_TRAIN, 13, 1, &ref, &lab) : nt;
        int dim = head ? 24 : 512;
        char out[400], labels[420];
        snprintf(out, sizeof out, "%s/%s.npy", dir, head ? "head" : "feat");
        mbt_embed_config c;
        mbt_embed_defaults(&c);
        c.src.checkpoint = ckpt;
        c.src.data_dir = data;
        c.test_split = !head;
        c.src.subset = head ? 13 : 0;
        c.head = head;
        c.out = out;
        c.batch_size = 4;
        mbt_embed_result r;
        CHECK_OK(mbt_embed_run(&c, NULL, NULL, &r));
        CHECK(r.rows == n && r.dim == dim);
        float *got = read_npy(out, (size_t)n * dim * sizeof(float));
        CHECK_OK(mbt_embed_labels_path(out, labels, sizeof labels));
        CHECK(!strcmp(labels, r.labels_path));
        int64_t *gl = (int64_t *)read_npy(labels, (size_t)n * sizeof(int64_t));
        double worst = 0;
        int bad_labels = 0;
        for (int i = 0; got && gl && i < n; i++) {
            for (int d = 0; d < dim; d++) worst = fmax(worst, fabs(got[i * dim + d] - ref[i * dim + d]));
            bad_labels += gl[i] != lab[i];
        }
        CHECK_MSG(worst < 1e-5 && bad_labels == 0, "embed%s: features differ by %g, %d labels differ",
                  head ? " --head" : "", worst, bad_labels);
        free(got);
        free(gl);
        if (head) {
            free(ref);
            free(lab);
        }
    }
    /* errors leave nothing behind */
    mbt_embed_config c;
    mbt_embed_defaults(&c);
    c.src.checkpoint = ckpt;
    c.src.data_dir = data;
    char out[400];
    snprintf(out, sizeof out, "%s/x.bin", dir);
    c.out = out;
    mbt_embed_result r;
    expect_error(mbt_embed_run(&c, NULL, NULL, &r), MBT_ERR_ARG, "FILE.npy", NULL);
    snprintf(out, sizeof out, "%s/wrong.npy", dir);
    c.src.arch = "resnet50";
    c.batch_size = 2;
    expect_error(mbt_embed_run(&c, NULL, NULL, &r), MBT_ERR_FORMAT, "does not fit a resnet50", NULL);
    CHECK(access(out, F_OK) != 0);
    mbt_knn_eval_config k;
    mbt_knn_eval_defaults(&k);
    k.src.checkpoint = ckpt;
    k.src.data_dir = data;
    k.dataset = "stl10";
    mbt_knn_eval_result kr;
    CHECK(mbt_knn_eval_run(&k, NULL, NULL, NULL, &kr) != MBT_OK);
    CHECK_MSG(strstr(mbt_error_message(), data) != NULL, "message '%s' does not name %s", mbt_error_message(), data);
}

int main(void) {
    if (tmp_folder(dir, sizeof dir, "evalknn")) return 1;
    snprintf(data, sizeof data, "%s/cifar", dir);
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", dir);
    write_data();
    write_checkpoint();
    nb = reference_features(MBT_SPLIT_TRAIN, 0, 0, &bank, &bl);
    nt = reference_features(MBT_SPLIT_TEST, 0, 0, &test, &tl);
    CHECK(nb == 30 && nt == 9);
    if (nb == 30 && nt == 9) {
        test_knn();
        test_embed();
    }
    free(bank);
    free(test);
    free(bl);
    free(tl);
    rm_tree(dir);
    return check_report("test_eval_knn");
}
