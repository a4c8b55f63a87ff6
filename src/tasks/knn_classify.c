/* Weighted k-NN classifier over features: blocked sgemm similarities, bounded-heap top-k per query,
 * exp(sim/T) class votes, ranked predictions and top-1/top-5 hit counts. */
#include "tasks/knn_classify.h"

#include <math.h>
#include <string.h>

#include "core/stop.h"
#include "ops/blas.h"

mbt_status mbt_knn_check_shape(int block, int max_bank, int dim, int k, int num_classes, mbt_device device) {
    if (device != MBT_DEVICE_CPU)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "knn: device %s is not supported (CPU only)", mbt_device_name(device));
    if (block < 1 || max_bank < 1 || dim < 1 || k < 1 || k > max_bank || num_classes < 1)
        return MBT_FAIL(MBT_ERR_ARG,
                        "knn: need block, bank, dim, classes >= 1 and 1 <= k <= bank; got block=%d bank=%d dim=%d "
                        "k=%d classes=%d",
                        block, max_bank, dim, k, num_classes);
    return MBT_OK;
}

mbt_status mbt_knn_workspace_init(mbt_knn_workspace *ws, int block, int max_bank, int dim, int k, int num_classes,
                                  mbt_device device) {
    memset(ws, 0, sizeof *ws);
    MBT_TRY(mbt_knn_check_shape(block, max_bank, dim, k, num_classes, device));
    ws->block = block;
    ws->max_bank = max_bank;
    ws->dim = dim;
    ws->k = k;
    ws->num_classes = num_classes;
    mbt_plan *p = &ws->plan;
    mbt_plan_init(p, device);
    mbt_plan_floats(p, &ws->sim, (size_t)block * max_bank);
    mbt_plan_floats(p, &ws->top_sim, (size_t)block * k);
    mbt_plan_bytes(p, (void **)&ws->top_idx, (size_t)block * k * sizeof(int32_t));
    mbt_plan_bytes(p, (void **)&ws->scores, (size_t)block * num_classes * sizeof(double));
    mbt_status s = mbt_plan_commit(p);
    if (s != MBT_OK) {
        mbt_plan_free(p);
        return MBT_FAIL(s, "knn: cannot allocate %.1f MB of scratch for blocks of %d queries against %d bank rows",
                        4.0 * block * max_bank / 1e6, block, max_bank);
    }
    return MBT_OK;
}

void mbt_knn_workspace_free(mbt_knn_workspace *ws) {
    mbt_plan_free(&ws->plan);
    memset(ws, 0, sizeof *ws);
}

/* Heap order: a is "worse" than b (lower similarity; on equal similarity the higher bank index). The heap
 * keeps the worst kept neighbour at the root. */
static inline int worse(float va, int32_t ia, float vb, int32_t ib) { return va < vb || (va == vb && ia > ib); }

static void sift_down(float *v, int32_t *ix, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(v[l], ix[l], v[m], ix[m])) m = l;
        if (r < n && worse(v[r], ix[r], v[m], ix[m])) m = r;
        if (m == i) return;
        float tv = v[i];
        v[i] = v[m];
        v[m] = tv;
        int32_t ti = ix[i];
        ix[i] = ix[m];
        ix[m] = ti;
        i = m;
    }
}

/* The k largest of row[0..n) (ties: lower index), unordered, into v/ix. */
static void select_top_k(const float *row, int n, int k, float *v, int32_t *ix) {
    for (int j = 0; j < k; j++) {
        v[j] = row[j];
        ix[j] = j;
    }
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(v, ix, k, i);
    for (int j = k; j < n; j++) {
        /* Later indices lose ties, so only a strictly larger similarity enters. */
        if (row[j] > v[0]) {
            v[0] = row[j];
            ix[0] = j;
            sift_down(v, ix, k, 0);
        }
    }
}

/* The first r classes by descending score (ties: lower class index) into out[0..r). */
static void rank_classes(const double *score, int C, int r, int32_t *out) {
    for (int t = 0; t < r; t++) {
        int best = -1;
        for (int c = 0; c < C; c++) {
            int taken = 0;
            for (int u = 0; u < t; u++) taken |= out[u] == c;
            if (!taken && (best < 0 || score[c] > score[best])) best = c;
        }
        out[t] = best;
    }
}

mbt_status mbt_knn_classify(mbt_knn_workspace *ws, const float *bank, const int32_t *bank_labels, int bank_size,
                            const float *queries, const int32_t *query_labels, int n_queries, float temperature,
                            mbt_knn_counts *counts, int32_t *pred) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "knn: workspace not initialised");
    MBT_CHECK_ARG(bank && bank_labels && (queries || n_queries == 0), "knn: bank, labels and queries are required");
    MBT_CHECK_ARG(!counts || query_labels || n_queries == 0, "knn: counts need query_labels");
    const int N = bank_size, D = ws->dim, k = ws->k, C = ws->num_classes;
    if (N < k || N > ws->max_bank)
        return MBT_FAIL(MBT_ERR_SHAPE, "knn: bank of %d rows, expected between k=%d and the planned %d", N, k,
                        ws->max_bank);
    MBT_CHECK_ARG(n_queries >= 0, "knn: negative query count %d", n_queries);
    MBT_CHECK_ARG(temperature > 0.0f && isfinite(temperature), "knn: temperature %g must be > 0", (double)temperature);
    for (int i = 0; i < N; i++)
        if (bank_labels[i] < 0 || bank_labels[i] >= C)
            return MBT_FAIL(MBT_ERR_ARG, "knn: bank label %d of row %d outside [0, %d)", (int)bank_labels[i], i, C);

    const int R = C < MBT_KNN_TOPN ? C : MBT_KNN_TOPN;
    int64_t top1 = 0, top5 = 0;
    for (int q0 = 0; q0 < n_queries; q0 += ws->block) {
        MBT_TRY(mbt_stop_check("the k-NN classification")); /* 10,000 queries x 50,000 take a minute */
        const int bq = n_queries - q0 < ws->block ? n_queries - q0 : ws->block;
        MBT_TRY(mbt_sgemm(MBT_DEVICE_CPU, 0, 1, bq, N, D, 1.0f, queries + (size_t)q0 * D, D, bank, D, 0.0f, ws->sim,
                          N));
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : top1, top5)
        for (int r = 0; r < bq; r++) {
            float *v = ws->top_sim + (size_t)r * k;
            int32_t *ix = ws->top_idx + (size_t)r * k;
            double *score = ws->scores + (size_t)r * C;
            select_top_k(ws->sim + (size_t)r * N, N, k, v, ix);
            for (int c = 0; c < C; c++) score[c] = 0.0;
            for (int j = 0; j < k; j++) score[bank_labels[ix[j]]] += (double)expf(v[j] / temperature);
            int32_t ranked[MBT_KNN_TOPN];
            rank_classes(score, C, R, ranked);
            if (pred) {
                int32_t *o = pred + (size_t)(q0 + r) * MBT_KNN_TOPN;
                for (int t = 0; t < MBT_KNN_TOPN; t++) o[t] = t < R ? ranked[t] : -1;
            }
            if (query_labels) {
                const int32_t y = query_labels[q0 + r];
                int hit5 = 0;
                for (int t = 0; t < R; t++) hit5 |= ranked[t] == y;
                top1 += ranked[0] == y;
                top5 += hit5;
            }
        }
    }
    if (counts) {
        counts->top1 = top1;
        counts->top5 = top5;
        counts->total = n_queries;
    }
    return MBT_OK;
}
