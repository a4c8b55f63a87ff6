/* Tests of the linear probe's classifier (tasks/linear_probe.h): training steps of Linear + cross-entropy
 * + Adam (weight decay 5e-6, and 0.2 in one case) with the exponential schedule against torch
 * (tools/make_eval_fixtures.py), the test-set pass, nn.Linear's initialisation law, the ranking of tied
 * logits and the error paths. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "optim/schedule.h"
#include "tasks/linear_probe.h"

#define RTOL 2e-4
#define ATOL 2e-5

/* tools/make_eval_fixtures.py pattern(): splitmix64 finaliser of i * G + tag * H, top 53 bits in [-1, 1). */
static double pattern_at(uint64_t tag, uint64_t i) {
    uint64_t z = i * 0x9E3779B97F4A7C15ull + tag * 0xD1B54A32D192ED03ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* features(): float32(|centroid[label] + 0.6 * noise| * 1.5) */
static float *make_features(uint64_t tag, uint64_t cent_tag, int n, int d, const int32_t *labels) {
    float *x = malloc(sizeof(float) * n * d);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double c = pattern_at(cent_tag, (uint64_t)labels[i] * d + j);
            x[i * d + j] = (float)(fabs(c + 0.6 * pattern_at(tag, (uint64_t)i * d + j)) * 1.5);
        }
    return x;
}

static const double *get(const fixture_file *f, const char *cs, const char *key, size_t *numel) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", cs, key);
    const fixture_array *a = fixture_get(f, name);
    if (!a) {
        CHECK_MSG(0, "fixture array %s missing", name);
        return NULL;
    }
    if (numel) *numel = a->numel;
    return a->data;
}

static void check_params(const char *what, const mbt_linear_head *h, const double *want, size_t n) {
    long worst;
    double v = check_max_violation(h->params, want, (long)n, RTOL, ATOL, &worst);
    CHECK_MSG(v <= 1, "%s: parameter %ld is %.8g, torch %.8g", what, worst, h->params[worst], want[worst]);
}

static void run_case(const fixture_file *f, const char *cs) {
    const double *p = get(f, cs, "params", NULL);
    if (!p) return;
    int tag = (int)p[0], d = (int)p[1], C = (int)p[2], n = (int)p[3], nt = (int)p[4], batch = (int)p[5], E = (int)p[6];
    double wd = p[7];
    int32_t *y = malloc(sizeof(int32_t) * n), *yt = malloc(sizeof(int32_t) * nt);
    for (int i = 0; i < n; i++) y[i] = (i * 7 + 3) % C;
    for (int i = 0; i < nt; i++) yt[i] = (i * 5 + 1) % C;
    float *x = make_features((uint64_t)tag, (uint64_t)tag + 500, n, d, y);
    float *xt = make_features((uint64_t)tag + 1, (uint64_t)tag + 500, nt, d, yt);
    size_t nw, nb, nl, np;
    const double *w0 = get(f, cs, "w0", &nw), *b0 = get(f, cs, "b0", &nb), *losses = get(f, cs, "losses", &nl);
    const double *epochs = get(f, cs, "epochs", NULL), *lrs = get(f, cs, "lrs", NULL);
    const double *first = get(f, cs, "after_first", &np), *final = get(f, cs, "final", NULL), *test = get(f, cs, "test", NULL);
    if (!w0 || !b0 || !losses || !epochs || !lrs || !first || !final || !test) return;
    CHECK(nw == (size_t)C * d && nb == (size_t)C && np == (size_t)C * d + C);
    float *wf = malloc(sizeof(float) * nw), *bf = malloc(sizeof(float) * nb);
    for (size_t i = 0; i < nw; i++) wf[i] = (float)w0[i];
    for (size_t i = 0; i < nb; i++) bf[i] = (float)b0[i];

    mbt_linear_head h;
    CHECK_OK(mbt_linear_head_init(&h, d, C, batch, wd));
    mbt_linear_head_set(&h, wf, bf);
    size_t step = 0;
    for (int e = 1; e <= E; e++) {
        double lr = mbt_sched_linear_probe(e, E);
        CHECK_CLOSE(lr, lrs[e - 1], 1e-12, 0);
        mbt_class_counts cnt = {0};
        for (int s = 0; s < n; s += batch) {
            int m = n - s < batch ? n - s : batch;
            double loss = NAN;
            CHECK_OK(mbt_linear_head_train_step(&h, x + (size_t)s * d, y + s, m, lr, &cnt, &loss));
            if (step < nl) CHECK_MSG(fabs(loss - losses[step]) <= ATOL + RTOL * fabs(losses[step]),
                                     "%s step %zu: loss %.8f, torch %.8f", cs, step, loss, losses[step]);
            if (step == 0) check_params("after the first step", &h, first, np);
            step++;
        }
        CHECK_MSG(fabs(cnt.loss_sum - epochs[(e - 1) * 3]) <= ATOL * n + RTOL * fabs(epochs[(e - 1) * 3]),
                  "%s epoch %d: loss sum %.6f, torch %.6f", cs, e, cnt.loss_sum, epochs[(e - 1) * 3]);
        CHECK_MSG(cnt.top1 == (int64_t)epochs[(e - 1) * 3 + 1] && cnt.top5 == (int64_t)epochs[(e - 1) * 3 + 2],
                  "%s epoch %d: hits %lld/%lld, torch %.0f/%.0f", cs, e, (long long)cnt.top1, (long long)cnt.top5,
                  epochs[(e - 1) * 3 + 1], epochs[(e - 1) * 3 + 2]);
        CHECK(cnt.total == n);
    }
    CHECK(step == nl);
    check_params("at the end", &h, final, np);
    mbt_class_counts tc = {0};
    for (int s = 0; s < nt; s += batch) {
        int m = nt - s < batch ? nt - s : batch;
        CHECK_OK(mbt_linear_head_evaluate(&h, xt + (size_t)s * d, yt + s, m, &tc));
    }
    CHECK_MSG(fabs(tc.loss_sum - test[0]) <= ATOL * nt + RTOL * fabs(test[0]), "%s test loss sum %.6f, torch %.6f", cs,
              tc.loss_sum, test[0]);
    CHECK_MSG(tc.top1 == (int64_t)test[1] && tc.top5 == (int64_t)test[2], "%s test hits %lld/%lld, torch %.0f/%.0f",
              cs, (long long)tc.top1, (long long)tc.top5, test[1], test[2]);
    mbt_linear_head_free(&h);
    free(wf);
    free(bf);
    free(x);
    free(xt);
    free(y);
    free(yt);
}

/* nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias; deterministic per seed. */
static void test_init(void) {
    int in = 512, C = 10;
    mbt_linear_head a, b;
    CHECK_OK(mbt_linear_head_init(&a, in, C, 4, 0));
    CHECK_OK(mbt_linear_head_init(&b, in, C, 4, 0));
    mbt_linear_head_reset(&a, 7);
    mbt_linear_head_reset(&b, 7);
    size_t n = (size_t)C * in + C;
    CHECK(memcmp(a.params, b.params, n * sizeof(float)) == 0);
    mbt_linear_head_reset(&b, 8);
    CHECK(memcmp(a.params, b.params, n * sizeof(float)) != 0);
    double bound = 1 / sqrt((double)in), mean = 0, var = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        mean += a.params[i];
        var += (double)a.params[i] * a.params[i];
        if (fabs(a.params[i]) > mx) mx = fabs(a.params[i]);
    }
    mean /= n;
    var /= n;
    CHECK(mx <= bound && mx > 0.99 * bound);
    /* uniform variance bound^2 / 3; its estimate's standard error here is about 1% */
    CHECK_CLOSE(var, bound * bound / 3, 0.05, 0);
    CHECK(fabs(mean) < 4 * bound / sqrt(3.0 * n));
    float bias_max = 0;
    for (int c = 0; c < C; c++) bias_max = fmaxf(bias_max, fabsf(a.b[c]));
    CHECK(bias_max > 0 && bias_max <= bound);
    mbt_linear_head_free(&a);
    mbt_linear_head_free(&b);
}

/* evaluate_imagenet.py's: weight normal(0, 0.01), bias 0 (mbt_linear_head_reset_normal); deterministic. */
static void test_init_normal(void) {
    int in = 2048, C = 10;
    mbt_linear_head a, b;
    CHECK_OK(mbt_linear_head_init_sgd(&a, in, C, 4, 0.9, 0));
    CHECK_OK(mbt_linear_head_init_sgd(&b, in, C, 4, 0.9, 0));
    mbt_linear_head_reset_normal(&a, 3, 0.01);
    mbt_linear_head_reset_normal(&b, 3, 0.01);
    size_t n = (size_t)C * in;
    CHECK(memcmp(a.params, b.params, (n + C) * sizeof(float)) == 0);
    double mean = 0, var = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) mean += a.w[i];
    mean /= n;
    for (size_t i = 0; i < n; i++) {
        double d = a.w[i] - mean;
        var += d * d;
        m4 += d * d * d * d;
    }
    var /= n;
    m4 /= n;
    /* n = 20480 draws: the std's estimate has a standard error of 0.5%, the mean one of 0.007 std */
    CHECK_CLOSE(sqrt(var), 0.01, 0.03, 0);
    CHECK(fabs(mean) < 4 * 0.01 / sqrt((double)n));
    CHECK_CLOSE(m4 / (var * var), 3.0, 0.1, 0); /* a normal's kurtosis, not a uniform's 1.8 */
    float bias_max = 0;
    for (int c = 0; c < C; c++) bias_max = fmaxf(bias_max, fabsf(a.b[c]));
    CHECK(bias_max == 0);
    mbt_linear_head_free(&a);
    mbt_linear_head_free(&b);
}

static void test_row_stats(void) {
    int t1, t5;
    float l[7] = {1, 3, 3, 0, 2, 3, -1};
    /* ranking: 1, 2, 5 (tied 3s by index), 4, 0, 3, 6 */
    double ce = mbt_class_row_stats(l, 7, 1, &t1, &t5);
    CHECK(t1 == 1 && t5 == 1);
    double lse = 0;
    for (int c = 0; c < 7; c++) lse += exp(l[c]);
    CHECK_CLOSE(ce, log(lse) - 3, 1e-12, 1e-12);
    mbt_class_row_stats(l, 7, 2, &t1, &t5);
    CHECK(t1 == 0 && t5 == 1);
    mbt_class_row_stats(l, 7, 0, &t1, &t5);
    CHECK(t1 == 0 && t5 == 1); /* fifth */
    mbt_class_row_stats(l, 7, 3, &t1, &t5);
    CHECK(t1 == 0 && t5 == 0); /* sixth */
    float bad[3] = {NAN, NAN, NAN};
    mbt_class_row_stats(bad, 3, 0, &t1, &t5);
    CHECK(t1 == 0 && t5 == 0);
}

static void test_errors(void) {
    mbt_linear_head h;
    CHECK(mbt_linear_head_init(&h, 0, 3, 4, 0) == MBT_ERR_ARG);
    CHECK_OK(mbt_linear_head_init(&h, 2, 3, 4, 0));
    mbt_linear_head_reset(&h, 1);
    float x[10] = {0};
    int32_t y[5] = {0, 1, 2, 3, 0};
    CHECK(mbt_linear_head_train_step(&h, x, y, 4, 0.01, NULL, NULL) == MBT_ERR_ARG); /* label 3 of 3 classes */
    CHECK(strstr(mbt_error_message(), "label 3") != NULL);
    CHECK(mbt_linear_head_evaluate(&h, x, y, 5, NULL) == MBT_ERR_ARG); /* past max_batch */
    float inf[4] = {INFINITY, 0, 0, 0};
    CHECK(mbt_linear_head_train_step(&h, inf, y, 2, 0.01, NULL, NULL) == MBT_ERR_NUMERIC);
    mbt_linear_head_free(&h);
}

int main(void) {
    fixture_file f;
    if (fixture_load(&f, "eval_linear.bin") == 0) {
        run_case(&f, "c10");
        run_case(&f, "c3");
        run_case(&f, "wd");
        fixture_free(&f);
    } else {
        CHECK_MSG(0, "cannot load eval_linear.bin");
    }
    test_init();
    test_init_normal();
    test_row_stats();
    test_errors();
    return check_report("test_eval_linear");
}
