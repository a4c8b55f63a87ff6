/* ssl-sota's k-NN classifier (wgcban/mix-bt ssl-sota/eval/knn.py, SPEC section 7 "Evaluation") over
 * precomputed features, as they are (not normalised): Euclidean distance (torch.cdist), the k nearest
 * bank rows, majority vote of their labels, ties of the vote to the smallest label (the original's
 * labels.unique(return_counts=True) is sorted and argmax returns the first maximum), top-1 accuracy.
 *
 * Distances: one sgemm per block of at most `block` query rows gives -2 q.b into a [block, N] buffer
 * (never [M, N]); the ranking key of bank row j is ||b_j||^2 - 2 q.b_j in double (||q||^2 is the same
 * for every j of a row and is left out: adding it in float would only merge near-equal keys). This is the
 * expansion torch.cdist itself uses whenever either side has more than 25 rows
 * (use_mm_for_euclid_dist_if_necessary), so the original's own order among bank rows whose squared
 * distances differ by less than the rounding of that expansion (a few ulps of ||q||^2 + ||b||^2) already
 * depends on its GEMM; there, and only there, mixbt and the original can pick a different neighbour.
 * Exact ties of the key at the k-th place: the lower bank index is kept (torch.topk does not specify it).
 *
 * The pretraining monitor of the baseline methods plans one workspace (mbt_knn_euclid_init) and calls
 * mbt_knn_euclid_classify at every evaluation; nothing is allocated per call. */
#ifndef MBT_KNN_EUCLID_H
#define MBT_KNN_EUCLID_H

#include <stdint.h>

#include "core/plan.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct {
    int block, max_bank, dim, k, num_classes;
    mbt_plan plan;
    float *dot;       /* [block, max_bank] -2 q.b of one block of queries */
    double *bank_sq;  /* [max_bank] squared norms of the bank rows */
    double *top_key;  /* [block, k] selected keys */
    int32_t *top_idx; /* [block, k] their bank rows */
    int32_t *votes;   /* [block, num_classes] */
} mbt_knn_euclid_workspace;

/* Plans the scratch for blocks of up to `block` queries against banks of up to max_bank rows of dim
 * features, 1 <= k <= max_bank neighbours and num_classes classes: about 4 * block * max_bank bytes
 * (block 256 against 50000 rows: 51 MB). device must be CPU (the features come to the host). */
mbt_status mbt_knn_euclid_init(mbt_knn_euclid_workspace *ws, int block, int max_bank, int dim, int k, int num_classes,
                               mbt_device device);
void mbt_knn_euclid_free(mbt_knn_euclid_workspace *ws);

/* Classifies n_queries rows of queries [n_queries, dim] against bank [bank_size, dim] with bank_labels
 * [bank_size] in [0, num_classes), k <= bank_size <= max_bank.
 * hits (optional): the number of queries whose prediction equals query_labels [n_queries] (required with
 * hits); top-1 accuracy = hits / n_queries. pred (optional): [n_queries] predicted classes. */
mbt_status mbt_knn_euclid_classify(mbt_knn_euclid_workspace *ws, const float *bank, const int32_t *bank_labels,
                                   int bank_size, const float *queries, const int32_t *query_labels, int n_queries,
                                   int64_t *hits, int32_t *pred);

#endif
