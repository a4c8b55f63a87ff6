/* Tests of ssl-sota's evaluation (tasks/knn_euclid.h, tasks/eval_sslsota.h, the drop_last epochs of
 * mbt_linear_head_train_epoch) against torch (tools/make_sslsota_eval_fixtures.py): the Euclidean
 * majority-vote k-NN for k = 1, 5, 20 with vote ties, near-ties of distance and exact duplicates, several
 * query block sizes; the eval/sgd.py classifier's steps over fixed orders of full batches, top-1 / top-5;
 * the library's linear evaluation end to end; error paths. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "tasks/eval_sslsota.h"
#include "tasks/knn_euclid.h"
#include "tasks/linear_probe.h"

/* Losses and parameters after Adam steps: float32 against float64 torch. The script checks float32 torch
 * stays within this band over the same steps (as tests/test_eval_linear.c's classifier). */
#define RTOL 2e-4
#define ATOL 2e-5

static const fixture_array *get(const fixture_file *f, const char *cs, const char *key) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", cs, key);
    const fixture_array *a = fixture_get(f, name);
    CHECK_MSG(a != NULL, "fixture array %s missing", name);
    return a;
}

static float *to_f32(const fixture_array *a) {
    float *x = malloc(sizeof(float) * (a->numel ? a->numel : 1));
    for (size_t i = 0; i < a->numel; i++) x[i] = (float)a->data[i];
    return x;
}

static int32_t *to_i32(const fixture_array *a) {
    int32_t *x = malloc(sizeof(int32_t) * (a->numel ? a->numel : 1));
    for (size_t i = 0; i < a->numel; i++) x[i] = (int32_t)a->data[i];
    return x;
}

/* ---- k-NN ---------------------------------------------------------------------------------------- */

static void knn_case(const fixture_file *f, const char *cs) {
    const fixture_array *bank_a = get(f, cs, "bank"), *test_a = get(f, cs, "test");
    if (!bank_a || !test_a) return;
    int N = (int)bank_a->dims[0], D = (int)bank_a->dims[1], M = (int)test_a->dims[0];
    int C = (int)get(f, cs, "classes")->data[0];
    float *bank = to_f32(bank_a), *test = to_f32(test_a);
    int32_t *bl = to_i32(get(f, cs, "bank_labels")), *tl = to_i32(get(f, cs, "test_labels"));
    int32_t *pred = malloc(sizeof(int32_t) * M);
    const int ks[3] = {1, 5, 20}, blocks[3] = {1, 7, 256};
    for (int ki = 0; ki < 3; ki++) {
        char key[32];
        snprintf(key, sizeof key, "k%d.pred", ks[ki]);
        const double *want = get(f, cs, key)->data;
        snprintf(key, sizeof key, "k%d.torch_pred", ks[ki]);
        const double *torch_pred = get(f, cs, key)->data;
        snprintf(key, sizeof key, "k%d.exact_tie", ks[ki]);
        const double *tie = get(f, cs, key)->data;
        snprintf(key, sizeof key, "k%d.acc", ks[ki]);
        double acc = get(f, cs, key)->data[0];
        for (int bi = 0; bi < 3; bi++) {
            mbt_knn_euclid_workspace ws;
            CHECK_OK(mbt_knn_euclid_init(&ws, blocks[bi], N, D, ks[ki], C, MBT_DEVICE_CPU));
            int64_t hits = -1;
            CHECK_OK(mbt_knn_euclid_classify(&ws, bank, bl, N, test, tl, M, &hits, pred));
            int bad = 0, bad_torch = 0, first = -1;
            for (int i = 0; i < M; i++) {
                if (pred[i] != (int32_t)want[i] && first < 0) first = i;
                bad += pred[i] != (int32_t)want[i];
                bad_torch += tie[i] == 0 && pred[i] != (int32_t)torch_pred[i];
            }
            CHECK_MSG(bad == 0, "%s k=%d block %d: %d predictions differ, first query %d: %d, expected %d", cs,
                      ks[ki], blocks[bi], bad, first, first >= 0 ? pred[first] : -1,
                      first >= 0 ? (int)want[first] : -1);
            CHECK_MSG(bad_torch == 0, "%s k=%d: %d predictions differ from torch's away from exact ties", cs, ks[ki],
                      bad_torch);
            CHECK_MSG(fabs((double)hits / M - acc) < 1e-12, "%s k=%d: top-1 %lld/%d, torch %.4f", cs, ks[ki],
                      (long long)hits, M, acc);
            mbt_knn_euclid_free(&ws);
        }
    }
    free(bank);
    free(test);
    free(bl);
    free(tl);
    free(pred);
}

/* A duplicate of bank row 0 at row 2 and an equally far row 1: with k = 1 and 2 the lower index wins. */
static void test_knn_exact_ties(void) {
    const float bank[4 * 2] = {1, 0, 0, 1, 1, 0, 5, 5};
    const int32_t bl[4] = {2, 1, 0, 0};
    const float q[2] = {0, 0};
    int32_t pred[1];
    mbt_knn_euclid_workspace ws;
    CHECK_OK(mbt_knn_euclid_init(&ws, 4, 4, 2, 1, 3, MBT_DEVICE_CPU));
    CHECK_OK(mbt_knn_euclid_classify(&ws, bank, bl, 4, q, NULL, 1, NULL, pred));
    CHECK_MSG(pred[0] == 2, "k=1 among three equal distances: class %d, expected 2 (bank row 0)", pred[0]);
    mbt_knn_euclid_free(&ws);
    /* k = 3: labels {2, 1, 0}, one vote each: the smallest label */
    CHECK_OK(mbt_knn_euclid_init(&ws, 4, 4, 2, 3, 3, MBT_DEVICE_CPU));
    CHECK_OK(mbt_knn_euclid_classify(&ws, bank, bl, 4, q, NULL, 1, NULL, pred));
    CHECK_MSG(pred[0] == 0, "k=3 vote 1-1-1: class %d, expected 0", pred[0]);
    mbt_knn_euclid_free(&ws);
}

static void test_knn_errors(void) {
    mbt_knn_euclid_workspace ws;
    CHECK(mbt_knn_euclid_init(&ws, 4, 3, 2, 4, 2, MBT_DEVICE_CPU) == MBT_ERR_ARG); /* k > bank */
    CHECK(mbt_knn_euclid_init(&ws, 4, 3, 2, 1, 2, MBT_DEVICE_CUDA) == MBT_ERR_UNSUPPORTED);
    CHECK_OK(mbt_knn_euclid_init(&ws, 4, 3, 2, 2, 2, MBT_DEVICE_CPU));
    const float bank[6] = {0, 0, 1, 1, 2, 2}, q[2] = {0, 0};
    const int32_t bad[3] = {0, 2, 1}, ok[3] = {0, 1, 1};
    CHECK(mbt_knn_euclid_classify(&ws, bank, bad, 3, q, NULL, 1, NULL, NULL) == MBT_ERR_ARG);
    CHECK(strstr(mbt_error_message(), "bank label 2 of row 1") != NULL);
    CHECK(mbt_knn_euclid_classify(&ws, bank, ok, 1, q, NULL, 1, NULL, NULL) == MBT_ERR_SHAPE); /* bank < k */
    int64_t hits;
    CHECK(mbt_knn_euclid_classify(&ws, bank, ok, 3, q, NULL, 1, &hits, NULL) == MBT_ERR_ARG); /* hits, no labels */
    mbt_knn_euclid_free(&ws);
}

/* ---- linear -------------------------------------------------------------------------------------- */

static void linear_case(const fixture_file *f, const char *cs) {
    const fixture_array *pa = get(f, cs, "params");
    if (!pa) return;
    const double *p = pa->data;
    int d = (int)p[0], C = (int)p[1], n = (int)p[2], nt = (int)p[3], batch = (int)p[4], E = (int)p[5];
    double wd = p[6];
    float *x = to_f32(get(f, cs, "x")), *xt = to_f32(get(f, cs, "xt"));
    float *w0 = to_f32(get(f, cs, "w0")), *b0 = to_f32(get(f, cs, "b0"));
    int32_t *y = to_i32(get(f, cs, "y")), *yt = to_i32(get(f, cs, "yt")), *perms = to_i32(get(f, cs, "perms"));
    const fixture_array *la = get(f, cs, "losses");
    const double *lrs = get(f, cs, "lrs")->data, *fin = get(f, cs, "final")->data, *test = get(f, cs, "test")->data;
    int steps = n / batch;
    CHECK((int)la->numel == steps * E);
    mbt_linear_head h;
    CHECK_OK(mbt_linear_head_init(&h, d, C, batch, wd));
    mbt_linear_head_set(&h, w0, b0);
    const mbt_probe_schedule sched = {.kind = MBT_PROBE_SCHED_EXP_DECAY, .lr = 1e-2, .lr_end = 1e-6};
    double *losses = malloc(sizeof(double) * steps);
    for (int e = 1; e <= E; e++) {
        double lr = mbt_probe_schedule_lr(&sched, e, E);
        CHECK_CLOSE(lr, lrs[e - 1], 1e-12, 0);
        mbt_class_counts cnt = {0};
        CHECK_OK(mbt_linear_head_train_epoch(&h, x, y, perms + (size_t)(e - 1) * n, n, batch, 1, lr, &cnt, losses,
                                             NULL));
        CHECK_MSG(cnt.total == (int64_t)steps * batch, "%s epoch %d: %lld rows trained, expected %d (full batches)", cs,
                  e, (long long)cnt.total, steps * batch);
        for (int s = 0; s < steps; s++) {
            double want = la->data[(e - 1) * steps + s];
            CHECK_MSG(fabs(losses[s] - want) <= ATOL + RTOL * fabs(want), "%s epoch %d step %d: loss %.8f, torch %.8f",
                      cs, e, s, losses[s], want);
        }
    }
    long worst;
    double v = check_max_violation(h.params, fin, (long)((size_t)C * d + C), RTOL, ATOL, &worst);
    CHECK_MSG(v <= 1, "%s: final parameter %ld is %.8g, torch %.8g", cs, worst, h.params[worst], fin[worst]);
    mbt_class_counts tc = {0};
    for (int s = 0; s < nt; s += batch)
        CHECK_OK(mbt_linear_head_evaluate(&h, xt + (size_t)s * d, yt + s, nt - s < batch ? nt - s : batch, &tc));
    CHECK_MSG(fabs(tc.loss_sum - test[0]) <= ATOL * nt + RTOL * fabs(test[0]), "%s: test loss sum %.6f, torch %.6f", cs,
              tc.loss_sum, test[0]);
    CHECK_MSG(tc.top1 == llround(test[1] * nt) && tc.top5 == llround(test[2] * nt),
              "%s: test top-1 %lld, top-5 %lld of %d; torch %.0f, %.0f", cs, (long long)tc.top1, (long long)tc.top5, nt,
              test[1] * nt, test[2] * nt);
    free(losses);
    mbt_linear_head_free(&h);
    free(x);
    free(xt);
    free(w0);
    free(b0);
    free(y);
    free(yt);
    free(perms);
}

/* The library's eval_sgd on separable clusters: learns them, the same result twice, only full batches. */
static void test_linear_eval(void) {
    enum { D = 6, C = 4, N = 70, NT = 40 };
    float x[N * D], xt[NT * D];
    int32_t y[N], yt[NT];
    for (int i = 0; i < N + NT; i++) {
        int c = i % C;
        float *row = i < N ? x + i * D : xt + (i - N) * D;
        for (int j = 0; j < D; j++) row[j] = (j == c ? 10.0f : 0.0f) + 0.3f * (float)sin(1.7 * i + 0.9 * j);
        if (i < N) y[i] = c;
        else yt[i - N] = c;
    }
    mbt_sslsota_linear_config c;
    mbt_sslsota_linear_defaults(&c);
    CHECK(c.epochs == 500 && c.batch_size == 1000 && c.weight_decay == 5e-6);
    c.epochs = 100;
    c.batch_size = 16;
    mbt_sslsota_linear_result a, b;
    CHECK_OK(mbt_sslsota_linear_eval(&c, x, y, N, xt, yt, NT, D, C, &a));
    CHECK_OK(mbt_sslsota_linear_eval(&c, x, y, N, xt, yt, NT, D, C, &b));
    CHECK_MSG(a.top1 == 100.0 && a.top5 == 100.0, "separable clusters: top-1 %.1f%%, top-5 %.1f%%", a.top1, a.top5);
    CHECK(a.train_used == 64);
    CHECK(a.top1 == b.top1 && a.test_loss == b.test_loss && a.last_train_loss == b.last_train_loss);
    c.batch_size = 71;
    CHECK(mbt_sslsota_linear_eval(&c, x, y, N, xt, yt, NT, D, C, &a) == MBT_ERR_ARG);
    CHECK(strstr(mbt_error_message(), "no full batch of 71") != NULL);
}

static void test_normalisation(void) {
    float m[3] = {0}, sd[3] = {0};
    CHECK(mbt_sslsota_normalisation("cifar100", m, sd) == 1);
    CHECK(m[0] == 0.5071f && m[2] == 0.4408f && sd[1] == 0.2565f && sd[2] == 0.2761f);
    CHECK(mbt_sslsota_normalisation("cifar10", m, sd) == 0 && mbt_sslsota_normalisation("stl10", m, sd) == 0);
}

int main(void) {
    fixture_file f;
    if (fixture_load(&f, "sslsota_knn.bin") == 0) {
        knn_case(&f, "clustered");
        knn_case(&f, "ties");
        fixture_free(&f);
    } else {
        CHECK_MSG(0, "cannot load sslsota_knn.bin");
    }
    if (fixture_load(&f, "sslsota_linear.bin") == 0) {
        linear_case(&f, "c7");
        linear_case(&f, "wd");
        fixture_free(&f);
    } else {
        CHECK_MSG(0, "cannot load sslsota_linear.bin");
    }
    test_knn_exact_ties();
    test_knn_errors();
    test_linear_eval();
    test_normalisation();
    return check_report("test_sslsota_eval");
}
