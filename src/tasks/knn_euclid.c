/* ssl-sota's k-NN: blocked sgemm Euclidean keys, bounded-heap k nearest per query, majority vote. */
#include "tasks/knn_euclid.h"

#include <string.h>

#include "core/stop.h"
#include "ops/blas.h"
#include "tasks/knn_classify.h"

mbt_status mbt_knn_euclid_init(mbt_knn_euclid_workspace *ws, int block, int max_bank, int dim, int k, int num_classes,
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
    mbt_plan_floats(p, &ws->dot, (size_t)block * max_bank);
    mbt_plan_bytes(p, (void **)&ws->bank_sq, (size_t)max_bank * sizeof(double));
    mbt_plan_bytes(p, (void **)&ws->top_key, (size_t)block * k * sizeof(double));
    mbt_plan_bytes(p, (void **)&ws->top_idx, (size_t)block * k * sizeof(int32_t));
    mbt_plan_bytes(p, (void **)&ws->votes, (size_t)block * num_classes * sizeof(int32_t));
    mbt_status s = mbt_plan_commit(p);
    if (s != MBT_OK) {
        mbt_plan_free(p);
        return MBT_FAIL(s, "knn: cannot allocate %.1f MB of scratch for blocks of %d queries against %d bank rows",
                        4.0 * block * max_bank / 1e6, block, max_bank);
    }
    return MBT_OK;
}

void mbt_knn_euclid_free(mbt_knn_euclid_workspace *ws) {
    mbt_plan_free(&ws->plan);
    memset(ws, 0, sizeof *ws);
}

/* Heap order: a is "worse" (farther) than b; at an equal key the higher bank index is worse. The root
 * holds the worst neighbour kept. */
static inline int farther(double ka, int32_t ia, double kb, int32_t ib) { return ka > kb || (ka == kb && ia > ib); }

static void sift_down(double *key, int32_t *ix, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && farther(key[l], ix[l], key[m], ix[m])) m = l;
        if (r < n && farther(key[r], ix[r], key[m], ix[m])) m = r;
        if (m == i) return;
        double tk = key[i];
        key[i] = key[m];
        key[m] = tk;
        int32_t ti = ix[i];
        ix[i] = ix[m];
        ix[m] = ti;
        i = m;
    }
}

/* The k nearest of one query (keys bank_sq[j] + dot[j]; ties: lower index), unordered, into key/ix. */
static void select_nearest(const float *dot, const double *bank_sq, int n, int k, double *key, int32_t *ix) {
    for (int j = 0; j < k; j++) {
        key[j] = bank_sq[j] + (double)dot[j];
        ix[j] = j;
    }
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(key, ix, k, i);
    for (int j = k; j < n; j++) {
        double kj = bank_sq[j] + (double)dot[j];
        if (kj < key[0]) { /* later indices lose ties: only a strictly nearer row enters */
            key[0] = kj;
            ix[0] = j;
            sift_down(key, ix, k, 0);
        }
    }
}

mbt_status mbt_knn_euclid_classify(mbt_knn_euclid_workspace *ws, const float *bank, const int32_t *bank_labels,
                                   int bank_size, const float *queries, const int32_t *query_labels, int n_queries,
                                   int64_t *hits, int32_t *pred) {
    MBT_CHECK_ARG(ws && ws->plan.committed, "knn: workspace not initialised");
    MBT_CHECK_ARG(bank && bank_labels && (queries || n_queries == 0), "knn: bank, labels and queries are required");
    MBT_CHECK_ARG(!hits || query_labels || n_queries == 0, "knn: hits need query_labels");
    MBT_CHECK_ARG(n_queries >= 0, "knn: negative query count %d", n_queries);
    const int N = bank_size, D = ws->dim, k = ws->k, C = ws->num_classes;
    if (N < k || N > ws->max_bank)
        return MBT_FAIL(MBT_ERR_SHAPE, "knn: bank of %d rows, expected between k=%d and the planned %d", N, k,
                        ws->max_bank);
    for (int i = 0; i < N; i++)
        if (bank_labels[i] < 0 || bank_labels[i] >= C)
            return MBT_FAIL(MBT_ERR_ARG, "knn: bank label %d of row %d outside [0, %d)", (int)bank_labels[i], i, C);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) s += (double)bank[(size_t)i * D + j] * bank[(size_t)i * D + j];
        ws->bank_sq[i] = s;
    }
    int64_t hit = 0;
    for (int q0 = 0; q0 < n_queries; q0 += ws->block) {
        MBT_TRY(mbt_stop_check("the k-NN classification"));
        const int bq = n_queries - q0 < ws->block ? n_queries - q0 : ws->block;
        MBT_TRY(mbt_sgemm(MBT_DEVICE_CPU, 0, 1, bq, N, D, -2.0f, queries + (size_t)q0 * D, D, bank, D, 0.0f, ws->dot,
                          N));
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : hit)
        for (int r = 0; r < bq; r++) {
            double *key = ws->top_key + (size_t)r * k;
            int32_t *ix = ws->top_idx + (size_t)r * k;
            int32_t *votes = ws->votes + (size_t)r * C;
            select_nearest(ws->dot + (size_t)r * N, ws->bank_sq, N, k, key, ix);
            memset(votes, 0, (size_t)C * sizeof(int32_t));
            for (int j = 0; j < k; j++) votes[bank_labels[ix[j]]]++;
            int best = 0; /* the first maximum: the smallest label among equal counts */
            for (int c = 1; c < C; c++)
                if (votes[c] > votes[best]) best = c;
            if (pred) pred[q0 + r] = best;
            if (query_labels) hit += best == query_labels[q0 + r];
        }
    }
    if (hits) *hits = hit;
    return MBT_OK;
}
