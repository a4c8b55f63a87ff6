/* The transfer protocol's pieces (tasks/transfer.h, linear_probe.h): the classifier trained with
 * torch.optim.SGD(momentum 0.9) and MultiStepLR against torch on fixed features
 * (tests/fixtures/transfer_data.bin, tools/make_transfer_fixtures.py): every step's loss, each epoch's
 * learning rate, loss sum and hits, the parameters after the first step and at the end, the test pass;
 * the default configuration's schedule against the schedule library's mbt_sched_transfer; the target
 * names; the training batches without augmentation (each image's evaluation transform, every image once
 * per epoch, independent of the worker count). */
#include "test_data_util.h" /* first: it sets _GNU_SOURCE */

#include <math.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "fixture.h"
#include "optim/schedule.h"
#include "tasks/evaluate_data.h"
#include "tasks/transfer.h"

#define RTOL 2e-4
#define ATOL 2e-5

static const double *get(const fixture_file *f, const char *key, size_t *numel) {
    char name[64];
    snprintf(name, sizeof name, "sgd.%s", key);
    const fixture_array *a = fixture_get(f, name);
    if (!a) {
        CHECK_MSG(0, "fixture array %s missing", name);
        return NULL;
    }
    if (numel) *numel = a->numel;
    return a->data;
}

static void check_params(const char *what, const mbt_linear_head *h, const double *want, size_t n) {
    long worst = 0;
    double v = check_max_violation(h->params, want, (long)n, RTOL, ATOL, &worst);
    CHECK_MSG(v <= 1, "%s: parameter %ld is %.8g, torch %.8g", what, worst, h->params[worst], want[worst]);
}

static float *to_float(const double *v, size_t n) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

static void sgd_against_torch(const fixture_file *f) {
    const double *p = get(f, "params", NULL);
    size_t nx, nxt, np;
    const double *x = get(f, "x", &nx), *y = get(f, "y", NULL), *xt = get(f, "xt", &nxt), *yt = get(f, "yt", NULL);
    const double *w0 = get(f, "w0", NULL), *b0 = get(f, "b0", NULL), *losses = get(f, "losses", NULL);
    const double *lrs = get(f, "lrs", NULL), *epochs = get(f, "epochs", NULL), *first = get(f, "after_first", &np);
    const double *final = get(f, "final", NULL), *test = get(f, "test", NULL);
    if (!p || !x || !y || !xt || !yt || !w0 || !b0 || !losses || !lrs || !epochs || !first || !final || !test) return;
    int d = (int)p[0], C = (int)p[1], n = (int)p[2], nt = (int)p[3], batch = (int)p[4], E = (int)p[5];
    CHECK(nx == (size_t)n * d && nxt == (size_t)nt * d && np == (size_t)C * d + C);
    mbt_probe_schedule sched = {.kind = MBT_PROBE_SCHED_MULTISTEP, .lr = p[6], .gamma = 0.1, .n_milestones = 2};
    sched.milestones[0] = (int)p[8];
    sched.milestones[1] = (int)p[9];
    float *xf = to_float(x, nx), *xtf = to_float(xt, nxt), *wf = to_float(w0, (size_t)C * d), *bf = to_float(b0, C);
    int32_t *yl = malloc((size_t)n * sizeof *yl), *ytl = malloc((size_t)nt * sizeof *ytl);
    for (int i = 0; i < n; i++) yl[i] = (int32_t)y[i];
    for (int i = 0; i < nt; i++) ytl[i] = (int32_t)yt[i];
    mbt_linear_head h;
    if (!CHECK_OK(mbt_linear_head_init_sgd(&h, d, C, batch, p[7], 0))) return;
    mbt_linear_head_set(&h, wf, bf);
    int step = 0;
    for (int e = 1; e <= E; e++) {
        double lr = mbt_probe_schedule_lr(&sched, e, E);
        CHECK_MSG(fabs(lr - lrs[e - 1]) <= 1e-12 * lrs[e - 1], "epoch %d: lr %.17g, torch %.17g", e, lr, lrs[e - 1]);
        mbt_class_counts cnt = {0};
        for (int s = 0; s < n; s += batch, step++) {
            int m = n - s < batch ? n - s : batch;
            double loss;
            if (!CHECK_OK(mbt_linear_head_train_step(&h, xf + (size_t)s * d, yl + s, m, lr, &cnt, &loss))) break;
            CHECK_CLOSE(loss, losses[step], RTOL, ATOL);
            if (step == 0) check_params("after the first step", &h, first, np);
        }
        CHECK_CLOSE(cnt.loss_sum, epochs[3 * (e - 1)], RTOL, ATOL * n);
        CHECK_MSG(cnt.top1 == (int64_t)epochs[3 * (e - 1) + 1] && cnt.top5 == (int64_t)epochs[3 * (e - 1) + 2],
                  "epoch %d: hits %lld / %lld, torch %g / %g", e, (long long)cnt.top1, (long long)cnt.top5,
                  epochs[3 * (e - 1) + 1], epochs[3 * (e - 1) + 2]);
    }
    check_params("after the last epoch", &h, final, np);
    mbt_class_counts tc = {0};
    for (int s = 0; s < nt; s += batch) {
        int m = nt - s < batch ? nt - s : batch;
        CHECK_OK(mbt_linear_head_evaluate(&h, xtf + (size_t)s * d, ytl + s, m, &tc));
    }
    CHECK_CLOSE(tc.loss_sum, test[0], RTOL, ATOL * nt);
    CHECK(tc.top1 == (int64_t)test[1] && tc.top5 == (int64_t)test[2]);
    mbt_linear_head_free(&h);
    CHECK(mbt_linear_head_init_sgd(&h, d, C, batch, -0.1, 0) == MBT_ERR_ARG);
    free(xf);
    free(xtf);
    free(wf);
    free(bf);
    free(yl);
    free(ytl);
}

static void defaults_and_names(void) {
    mbt_transfer_config c;
    mbt_transfer_defaults(&c);
    CHECK(c.epochs == 100 && c.batch_size == 128 && c.momentum == 0.9 && c.weight_decay == 0 && c.bn == MBT_PROBE_BN_TRAIN);
    mbt_probe_schedule s = {.kind = MBT_PROBE_SCHED_MULTISTEP, .lr = c.lr, .gamma = c.gamma, .n_milestones = c.n_milestones};
    memcpy(s.milestones, c.milestones, sizeof s.milestones);
    int bad = 0;
    for (int e = 1; e <= c.epochs; e++) bad += mbt_probe_schedule_lr(&s, e, c.epochs) != mbt_sched_transfer(e);
    CHECK_MSG(bad == 0, "the default schedule differs from mbt_sched_transfer in %d epochs", bad);
    /* the linear probe's schedule, as configured by mbt_linear_probe_run */
    mbt_probe_schedule lin = {.kind = MBT_PROBE_SCHED_EXP_DECAY, .lr = 1e-2, .lr_end = 1e-6};
    bad = 0;
    for (int e = 1; e <= 200; e++) bad += mbt_probe_schedule_lr(&lin, e, 200) != mbt_sched_linear_probe(e, 200);
    CHECK_MSG(bad == 0, "the exponential decay differs from mbt_sched_linear_probe in %d epochs", bad);
    /* names: mixbt's and the reference's */
    static const char *const pairs[][2] = {{"cu_birds", "cub200"}, {"vgg_flower", "flowers102"}, {"traffic_sign", "gtsrb"},
                                           {"mnist", "mnist"},     {"aircraft", "aircraft"},      {"folder", "folder"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const mbt_dataset_kind *t = mbt_transfer_target_find(pairs[i][0]);
        CHECK_MSG(t && !strcmp(t->name, pairs[i][1]), "target %s", pairs[i][0]);
    }
    CHECK(mbt_transfer_target_find("cifar10") == NULL && mbt_transfer_target_find(NULL) == NULL);
    float mean[3], std[3];
    const mbt_dataset_kind *g = mbt_transfer_target_find("gtsrb");
    CHECK(mbt_transfer_norm_find("traffic_sign", mean, std) && g && !memcmp(mean, g->mean, sizeof mean));
    CHECK(mbt_transfer_norm_find("cifar100", mean, std) && mean[0] == 0.5f && std[2] == 0.5f);
    CHECK(!mbt_transfer_norm_find("svhn", mean, std));
    /* every kind marked for transfer is a target under its names, the others are not */
    for (int i = 0; i < mbt_dataset_kind_count(); i++) {
        const mbt_dataset_kind *k = mbt_dataset_kind_at(i);
        int target = (k->uses & MBT_KIND_TRANSFER) != 0;
        CHECK_MSG((mbt_transfer_target_find(k->name) == k) == target, "kind %s", k->name);
        if (k->alias) CHECK_MSG((mbt_transfer_target_find(k->alias) == k) == target, "alias %s", k->alias);
    }
}

/* The transfer protocol's training batches: the evaluation transform of each image (no augmentation),
 * each image once per epoch in a shuffled order, the same with 1 and 3 workers. */
static void plain_batches(const char *tmp) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/idx", tmp);
    mkdir(dir, 0777);
    int n = 11, rows = 6, cols = 5;
    size_t ilen = 16 + (size_t)n * rows * cols;
    uint8_t *img = malloc(ilen), lab[8 + 11] = {0, 0, 8, 1, 0, 0, 0, 11};
    uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0, 11, 0, 0, 0, 6, 0, 0, 0, 5};
    memcpy(img, head, 16);
    for (size_t p = 16; p < ilen; p++) img[p] = (uint8_t)(p * 37 % 251);
    for (int i = 0; i < n; i++) lab[8 + i] = (uint8_t)(i % 10);
    write_bytes(dir, "train-images-idx3-ubyte", img, ilen);
    write_bytes(dir, "train-labels-idx1-ubyte", lab, sizeof lab);
    write_bytes(dir, "t10k-images-idx3-ubyte", img, ilen);
    write_bytes(dir, "t10k-labels-idx1-ubyte", lab, sizeof lab);
    free(img);
    mbt_eval_data d;
    mbt_eval_data_config c = {"mnist", dir, 0, 0, 0, 1, 1};
    if (!CHECK_OK(mbt_eval_data_open(&d, &c))) return;
    const mbt_dataset_kind *t = mbt_transfer_target_find("mnist");
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_resize(12, t->mean, t->std, &r));
    CHECK_OK(mbt_eval_data_set_recipe(&d, &r));
    /* each image's evaluation transform, computed alone */
    size_t per = (size_t)3 * 12 * 12;
    float *want = malloc((size_t)n * per * sizeof(float));
    mbt_dataset_reader rd = {0};
    mbt_image im = {0};
    mbt_augment_scratch s = {0};
    for (int i = 0; i < n; i++) {
        CHECK_OK(mbt_dataset_image(d.part[MBT_EVAL_TRAIN], i, &rd, &im));
        CHECK_OK(mbt_augment_eval(&d.recipe, &im, &s, want + (size_t)i * per));
    }
    mbt_view_batches *v[2] = {NULL, NULL};
    CHECK_OK(mbt_view_batches_create(&v[0], d.part[MBT_EVAL_TRAIN], &d.recipe, 4, 1, 5));
    CHECK_OK(mbt_view_batches_create(&v[1], d.part[MBT_EVAL_TRAIN], &d.recipe, 4, 3, 5));
    for (int k = 0; k < 2 && v[0] && v[1]; k++) mbt_view_batches_set_augment(v[k], 0);
    int orders_differ = 0, first_order[11];
    for (int e = 1; e <= 2 && v[0] && v[1]; e++) {
        int seen[11] = {0}, pos = 0, bad = 0;
        CHECK_OK(mbt_view_batches_start(v[0], (uint32_t)e));
        CHECK_OK(mbt_view_batches_start(v[1], (uint32_t)e));
        for (;;) {
            const float *x[2];
            const int32_t *y[2];
            int m[2];
            CHECK_OK(mbt_view_batches_next(v[0], &x[0], &y[0], &m[0]));
            CHECK_OK(mbt_view_batches_next(v[1], &x[1], &y[1], &m[1]));
            CHECK(m[0] == m[1]);
            if (m[0] == 0) break;
            bad += memcmp(x[0], x[1], (size_t)m[0] * per * sizeof(float)) != 0;
            for (int j = 0; j < m[0]; j++, pos++) {
                /* which image is it? the one whose evaluation transform it equals */
                int which = -1;
                for (int i = 0; i < n; i++)
                    if (!memcmp(x[0] + (size_t)j * per, want + (size_t)i * per, per * sizeof(float))) which = i;
                CHECK_MSG(which >= 0, "epoch %d: batch entry %d is no image's evaluation transform", e, pos);
                if (which < 0) continue;
                seen[which]++;
                bad += y[0][j] != which % 10;
                if (e == 1) first_order[pos] = which;
                else orders_differ |= first_order[pos] != which;
            }
        }
        for (int i = 0; i < n; i++) bad += seen[i] != 1;
        CHECK_MSG(bad == 0 && pos == n, "epoch %d: %d images, %d problems (order, labels, workers)", e, pos, bad);
    }
    CHECK_MSG(orders_differ, "epochs 1 and 2 have the same order");
    mbt_view_batches_destroy(v[0]);
    mbt_view_batches_destroy(v[1]);
    mbt_image_free(&im);
    mbt_augment_scratch_free(&s);
    mbt_dataset_reader_free(&rd);
    free(want);
    mbt_eval_data_close(&d);
}

int main(void) {
    fixture_file fx;
    char tmp[4096];
    if (fixture_load(&fx, "transfer_data.bin") != 0 || tmp_folder(tmp, sizeof tmp, "transfer_head") != 0) {
        CHECK(0);
        return check_report("test_transfer_head");
    }
    sgd_against_torch(&fx);
    defaults_and_names();
    plain_batches(tmp);
    fixture_free(&fx);
    rm_tree(tmp);
    return check_report("test_transfer_head");
}
