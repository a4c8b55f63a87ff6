/* Tests of the weighted k-NN classifier (tasks/knn_classify.h): against the reference's PyTorch k-NN on
 * synthetic clustered features (tools/make_knn_fixtures.py), against a plain brute-force implementation
 * (full sort in double) including exact ties, with several query block sizes, and the error paths. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "tasks/knn_classify.h"

/* tools/make_knn_fixtures.py pattern(): splitmix64 finaliser of i * G + tag * H, top 53 bits in [-1, 1). */
static double pattern_at(uint64_t tag, uint64_t i) {
    uint64_t z = i * 0x9E3779B97F4A7C15ull + tag * 0xD1B54A32D192ED03ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* normalize(centroid[label] + sigma * noise) rows, as the fixture script builds them. */
static float *make_features(uint64_t tag, int n, int d, const int32_t *labels, const double *cent, double sigma) {
    float *x = malloc(sizeof(float) * n * d);
    double *row = malloc(sizeof(double) * d);
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < d; j++) {
            row[j] = cent[labels[i] * d + j] + sigma * pattern_at(tag, (uint64_t)i * d + j);
            ss += row[j] * row[j];
        }
        double inv = 1.0 / sqrt(ss);
        for (int j = 0; j < d; j++) x[i * d + j] = (float)(row[j] * inv);
    }
    free(row);
    return x;
}

/* ---- brute force: double similarities, full sort, stable class ranking. */

typedef struct {
    double v;
    int i;
} ranked_t;

static int by_sim_desc(const void *a, const void *b) {
    const ranked_t *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->i - y->i;
}

/* pred [M, 5] and sorted scores [M, 6] (-1 past C). */
static void brute_force(const float *bank, const int32_t *bl, int N, const float *q, int M, int D, int C, int k,
                        double T, int32_t *pred, double *sc) {
    ranked_t *r = malloc(sizeof(ranked_t) * (N > C ? N : C));
    double *score = malloc(sizeof(double) * C);
    for (int m = 0; m < M; m++) {
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int j = 0; j < D; j++) s += (double)q[m * D + j] * bank[i * D + j];
            r[i] = (ranked_t){(float)s, i}; /* rounded as the float product is, so exact ties stay ties */
        }
        qsort(r, N, sizeof *r, by_sim_desc);
        for (int c = 0; c < C; c++) score[c] = 0;
        for (int t = 0; t < k; t++) score[bl[r[t].i]] += exp((double)(float)r[t].v / T);
        for (int c = 0; c < C; c++) r[c] = (ranked_t){score[c], c};
        qsort(r, C, sizeof *r, by_sim_desc);
        for (int t = 0; t < 5; t++) pred[m * 5 + t] = t < C ? r[t].i : -1;
        for (int t = 0; t < 6; t++) sc[m * 6 + t] = t < C ? r[t].v : -1;
    }
    free(r);
    free(score);
}

/* Compares ranked predictions where the reference's order is determined: the score at that rank differs
 * from its neighbours (relative 1e-5), or it is an exact tie that the documented rule settles (stable
 * order: C <= 16 for torch, always for the brute force). */
static void compare_preds(const char *ctx, const int32_t *got, const double *ref_pred, const int32_t *ref_pred_i,
                          const double *ref_sc, int M, int C, int ties_defined) {
    int bad = 0, first = -1, compared = 0;
    for (int m = 0; m < M; m++)
        for (int t = 0; t < 5; t++) {
            double expect = ref_pred ? ref_pred[m * 5 + t] : ref_pred_i[m * 5 + t];
            if (t >= C) {
                if (got[m * 5 + t] != -1) bad++;
                continue;
            }
            const double s = ref_sc[m * 6 + t], tol = 1e-5 * fabs(s);
            int tied_prev = t > 0 && fabs(ref_sc[m * 6 + t - 1] - s) <= tol;
            int tied_next = t + 1 < C && t + 1 < 6 && fabs(ref_sc[m * 6 + t + 1] - s) <= tol;
            int exact = (!tied_prev || ref_sc[m * 6 + t - 1] == s) && (!tied_next || ref_sc[m * 6 + t + 1] == s);
            if ((tied_prev || tied_next) && !(ties_defined && exact)) continue;
            compared++;
            if (got[m * 5 + t] != (int32_t)expect) {
                if (first < 0) first = m * 5 + t;
                bad++;
            }
        }
    CHECK_MSG(bad == 0, "%s: %d ranked predictions differ (first: query %d rank %d: %d, expected %g)", ctx, bad,
              first / 5, first % 5, first >= 0 ? got[first] : 0,
              first >= 0 ? (ref_pred ? ref_pred[first] : ref_pred_i[first]) : 0);
    /* The comparison is not vacuous: nearly all ranks are determined. */
    const int ranks = M * (C < 5 ? C : 5);
    CHECK_MSG(compared >= ranks * 9 / 10, "%s: only %d of %d ranks comparable", ctx, compared, ranks);
}

static void fixture_cases(void) {
    fixture_file f;
    if (fixture_load(&f, "knn_cases.bin")) {
        CHECK_MSG(0, "cannot load knn_cases.bin");
        return;
    }
    const int ncases = (int)fixture_scalar(&f, "ncases");
    for (int c = 0; c < ncases; c++) {
        char key[32];
        snprintf(key, sizeof key, "c%d_params", c);
        const double *pa = fixture_get(&f, key)->data;
        const int N = (int)pa[0], M = (int)pa[1], D = (int)pa[2], C = (int)pa[3], k = (int)pa[4];
        const double T = pa[5], sigma = pa[6];
        double *cent = malloc(sizeof(double) * C * D);
        for (int i = 0; i < C * D; i++) cent[i] = pattern_at(1000 + c, i);
        int32_t *bl = malloc(sizeof(int32_t) * N), *ql = malloc(sizeof(int32_t) * M);
        for (int i = 0; i < N; i++) bl[i] = (i * 7 + 3) % C;
        for (int j = 0; j < M; j++) ql[j] = (j * 5 + 1) % C;
        float *bank = make_features(2000 + c, N, D, bl, cent, sigma);
        float *q = make_features(3000 + c, M, D, ql, cent, sigma);
        int32_t *pred = malloc(sizeof(int32_t) * M * 5), *bpred = malloc(sizeof(int32_t) * M * 5);
        double *bsc = malloc(sizeof(double) * M * 6);
        snprintf(key, sizeof key, "c%d_top1", c);
        const double top1 = fixture_scalar(&f, key);
        snprintf(key, sizeof key, "c%d_top5", c);
        const double top5 = fixture_scalar(&f, key);
        snprintf(key, sizeof key, "c%d_pred", c);
        const fixture_array *tp = fixture_get(&f, key);
        snprintf(key, sizeof key, "c%d_scores", c);
        const fixture_array *ts = fixture_get(&f, key);
        brute_force(bank, bl, N, q, M, D, C, k, T, bpred, bsc);

        const int blocks[3] = {64, 7, M + 5};
        for (int b = 0; b < 3; b++) {
            mbt_knn_workspace ws;
            if (!CHECK_OK(mbt_knn_workspace_init(&ws, blocks[b], N + 13, D, k, C, MBT_DEVICE_CPU))) continue;
            mbt_knn_counts cnt;
            memset(pred, 0x7f, sizeof(int32_t) * M * 5);
            if (CHECK_OK(mbt_knn_classify(&ws, bank, bl, N, q, ql, M, (float)T, &cnt, pred))) {
                char ctx[96];
                snprintf(ctx, sizeof ctx, "case %d (C=%d k=%d T=%g) block %d", c, C, k, T, blocks[b]);
                CHECK_MSG(cnt.top1 == (int64_t)top1 && cnt.top5 == (int64_t)top5 && cnt.total == M,
                          "%s: top1 %lld top5 %lld of %lld, torch %g %g of %d", ctx, (long long)cnt.top1,
                          (long long)cnt.top5, (long long)cnt.total, top1, top5, M);
                compare_preds(ctx, pred, tp->data, NULL, ts->data, M, C, C <= 16);
                compare_preds(ctx, pred, NULL, bpred, bsc, M, C, 1);
            }
            /* Predictions without labels or counts. */
            int32_t *pred2 = malloc(sizeof(int32_t) * M * 5);
            CHECK_OK(mbt_knn_classify(&ws, bank, bl, N, q, NULL, M, (float)T, NULL, pred2));
            CHECK(memcmp(pred, pred2, sizeof(int32_t) * M * 5) == 0);
            free(pred2);
            mbt_knn_workspace_free(&ws);
        }
        free(cent), free(bl), free(ql), free(bank), free(q), free(pred), free(bpred), free(bsc);
    }
    fixture_free(&f);
}

/* Exact ties: a bank of few distinct vectors repeated under different labels, so that equal similarities
 * straddle the k-th place and equal class scores occur; the documented rules (lower bank index, lower
 * class index) must give exactly the brute force's stable orders. */
static void ties(void) {
    enum { N = 60, M = 12, D = 4, C = 7, K = 13 };
    static const float base[6][D] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0.6f, 0.8f, 0, 0},
                                     {0, 0, 1, 0}, {0, 0, 0.8f, 0.6f}, {0.5f, 0.5f, 0.5f, 0.5f}};
    float bank[N * D], q[M * D];
    int32_t bl[N], ql[M], pred[M * 5], bpred[M * 5];
    double bsc[M * 6];
    for (int i = 0; i < N; i++) {
        memcpy(bank + i * D, base[(i * 5) % 6], sizeof base[0]);
        bl[i] = (i * 3) % C;
    }
    for (int m = 0; m < M; m++) {
        memcpy(q + m * D, base[m % 6], sizeof base[0]);
        ql[m] = m % C;
    }
    brute_force(bank, bl, N, q, M, D, C, K, 0.5, bpred, bsc);
    mbt_knn_workspace ws;
    if (!CHECK_OK(mbt_knn_workspace_init(&ws, 5, N, D, K, C, MBT_DEVICE_CPU))) return;
    mbt_knn_counts cnt;
    CHECK_OK(mbt_knn_classify(&ws, bank, bl, N, q, ql, M, 0.5f, &cnt, pred));
    CHECK(memcmp(pred, bpred, sizeof pred) == 0);
    int64_t t1 = 0, t5 = 0;
    for (int m = 0; m < M; m++) {
        t1 += bpred[m * 5] == ql[m];
        int h = 0;
        for (int t = 0; t < 5; t++) h |= bpred[m * 5 + t] == ql[m];
        t5 += h;
    }
    CHECK(cnt.top1 == t1 && cnt.top5 == t5 && cnt.total == M);
    mbt_knn_workspace_free(&ws);
}

static void errors(void) {
    mbt_knn_workspace ws;
    float bank[3 * 2] = {1, 0, 0, 1, 1, 0}, q[2] = {1, 0};
    int32_t bl[3] = {0, 1, 2}, ql[1] = {0};
    mbt_knn_counts cnt;
    CHECK(mbt_knn_workspace_init(&ws, 4, 3, 2, 4, 3, MBT_DEVICE_CPU) == MBT_ERR_ARG); /* k > bank */
    CHECK(mbt_knn_workspace_init(&ws, 4, 3, 2, 2, 3, MBT_DEVICE_CUDA) == MBT_ERR_UNSUPPORTED);
    if (!CHECK_OK(mbt_knn_workspace_init(&ws, 4, 3, 2, 2, 3, MBT_DEVICE_CPU))) return;
    CHECK(mbt_knn_classify(&ws, bank, bl, 1, q, ql, 1, 0.5f, &cnt, NULL) == MBT_ERR_SHAPE); /* bank < k */
    CHECK(mbt_knn_classify(&ws, bank, bl, 4, q, ql, 1, 0.5f, &cnt, NULL) == MBT_ERR_SHAPE); /* > planned */
    CHECK(mbt_knn_classify(&ws, bank, bl, 3, q, ql, 1, 0.0f, &cnt, NULL) == MBT_ERR_ARG);
    CHECK(mbt_knn_classify(&ws, bank, bl, 3, q, NULL, 1, 0.5f, &cnt, NULL) == MBT_ERR_ARG);
    bl[1] = 3;
    CHECK(mbt_knn_classify(&ws, bank, bl, 3, q, ql, 1, 0.5f, &cnt, NULL) == MBT_ERR_ARG);
    CHECK(strstr(mbt_error_message(), "label 3 of row 1") != NULL);
    bl[1] = 1;
    CHECK_OK(mbt_knn_classify(&ws, bank, bl, 3, q, ql, 1, 0.5f, &cnt, NULL));
    CHECK(cnt.top1 == 1 && cnt.top5 == 1 && cnt.total == 1);
    CHECK_OK(mbt_knn_classify(&ws, bank, bl, 3, q, ql, 0, 0.5f, &cnt, NULL));
    CHECK(cnt.total == 0 && cnt.top1 == 0);
    mbt_knn_workspace_free(&ws);
}

int main(void) {
    fixture_cases();
    ties();
    errors();
    return check_report("test_knn");
}
