/* Weighted k-NN classification over precomputed features (SPEC section 5; the reference's test()):
 * sim = queries @ bank^T (cosine similarity for L2-normalised features), the k most similar bank rows,
 * weights exp(sim / T), class score = sum of the weights of the neighbours of that class, prediction =
 * classes by descending score; top-1 / top-5 hits against the query labels.
 *
 * Queries are processed in blocks of at most `block` rows: one sgemm per block into a [block, N] buffer
 * (never [M, N]), then a bounded-heap selection of the top k per row (no full sort).
 *
 * Ties (exact equality only): between bank rows of equal similarity at the k-th place the lower bank index
 * is kept; between classes of equal score the lower class index ranks first. The latter is what
 * torch.argsort(descending=True) gives on the CPU for up to 16 classes (insertion sort, stable); for more
 * classes PyTorch's order among equal scores is unspecified (introsort), so only predictions among tied
 * scores (in practice classes with no neighbour at all) can differ from it. */
#ifndef MBT_KNN_CLASSIFY_H
#define MBT_KNN_CLASSIFY_H

#include <stdint.h>

#include "core/plan.h"
#include "core/status.h"
#include "core/tensor.h"

/* Ranked predictions stored per query (top-5 accuracy needs 5). */
#define MBT_KNN_TOPN 5

typedef struct {
    int block, max_bank, dim, k, num_classes;
    mbt_plan plan;
    float *sim;       /* [block, max_bank] similarities of one block of queries */
    float *top_sim;   /* [block, k] selected similarities */
    int32_t *top_idx; /* [block, k] their bank rows */
    double *scores;   /* [block, num_classes] */
} mbt_knn_workspace;

typedef struct {
    int64_t top1, top5; /* queries whose label is the first prediction / among the first 5 */
    int64_t total;      /* queries counted */
} mbt_knn_counts;

/* Plans the scratch for blocks of up to `block` queries against banks of up to max_bank rows of dim
 * features, k neighbours (1 <= k <= max_bank) and num_classes classes. Memory: about
 * 4 * block * max_bank bytes (block 256 against 50000 rows: 51 MB). device must be CPU. */
mbt_status mbt_knn_workspace_init(mbt_knn_workspace *ws, int block, int max_bank, int dim, int k, int num_classes,
                                  mbt_device device);
/* The checks of a k-NN workspace's shape, shared by both k-NN rules (tasks/knn_euclid.h): the CPU only,
 * block, bank, dim, classes >= 1 and 1 <= k <= bank; MBT_ERR_UNSUPPORTED / MBT_ERR_ARG naming the values. */
mbt_status mbt_knn_check_shape(int block, int max_bank, int dim, int k, int num_classes, mbt_device device);
void mbt_knn_workspace_free(mbt_knn_workspace *ws);

/* Classifies n_queries rows of queries [n_queries, dim] against bank [bank_size, dim] with bank_labels
 * [bank_size] in [0, num_classes), k <= bank_size <= max_bank, temperature > 0.
 * counts (optional): overwritten with the hits against query_labels [n_queries] (required with counts).
 * pred (optional): [n_queries, MBT_KNN_TOPN] ranked classes, -1 past num_classes. */
mbt_status mbt_knn_classify(mbt_knn_workspace *ws, const float *bank, const int32_t *bank_labels, int bank_size,
                            const float *queries, const int32_t *query_labels, int n_queries, float temperature,
                            mbt_knn_counts *counts, int32_t *pred);

#endif
