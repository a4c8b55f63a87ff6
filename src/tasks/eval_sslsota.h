/* ssl-sota's evaluation of the baseline methods over features in memory (wgcban/mix-bt
 * ssl-sota/methods/base.py get_acc / get_acc_knn; SPEC section 7 "Evaluation"): what the pretraining
 * monitor of SimCLR / BYOL / W-MSE calls, and what `mixbt knn|linear --protocol sslsota` compute.
 *
 * The features are the original's eval/get_data.py ones: raw (unnormalised) backbone features with
 * evaluation-mode BN (mbt_feature_extractor with MBT_FEAT_RAW), of the training split with the
 * evaluation transform (the "clf" loader: batch 1000, drop_last, which drops nothing on the full
 * CIFAR-10/100, STL-10 and Tiny-ImageNet splits) and of the test split.
 *
 * How the monitor uses it:
 *   every eval_every epochs (train.py: get_acc_knn)
 *       k-NN top-1 = mbt_knn_euclid_classify(ws, train feats, labels, n, test feats, labels, m, &hits, NULL)
 *       with one mbt_knn_euclid_workspace planned at the start (tasks/knn_euclid.h; k = cfg.knn = 5);
 *   at the end (train.py: get_acc) the same k-NN, then mbt_sslsota_linear_eval below. */
#ifndef MBT_EVAL_SSLSOTA_H
#define MBT_EVAL_SSLSOTA_H

#include <stdint.h>

#include "core/status.h"

/* k of cfg.knn */
#define MBT_SSLSOTA_KNN_K 5

/* ssl-sota's evaluation normalisation where it differs from the reference recipe of the dataset (mixbt's
 * name): cifar100 (datasets/cifar100.py: mean (0.5071, 0.4867, 0.4408), std (0.2675, 0.2565, 0.2761);
 * the reference recipe has CIFAR-10's). Returns 1 and fills mean/std, else 0 (cifar10, stl10,
 * tiny_imagenet: the same evaluation transform as the reference recipe). */
int mbt_sslsota_normalisation(const char *dataset, float mean[3], float std[3]);

typedef struct {
    int epochs;          /* 500 */
    int batch_size;      /* 1000: each epoch, a new random order cut into full batches (the rest unused) */
    double lr, lr_end;   /* 1e-2 decayed by ExponentialLR, stepped after each epoch, to 1e-6 after the last */
    double weight_decay; /* 5e-6, Adam's L2 */
    uint64_t seed;       /* the classifier's initialisation and the epochs' orders (Philox) */
} mbt_sslsota_linear_config;

void mbt_sslsota_linear_defaults(mbt_sslsota_linear_config *c);

typedef struct {
    double top1, top5;        /* percent, of the final classifier on the test features */
    double test_loss;         /* its mean cross-entropy there (not reported by the original) */
    double last_train_loss;   /* mean over the last epoch's steps */
    int64_t train_used;       /* training rows per epoch: n_train rounded down to a multiple of the batch */
} mbt_sslsota_linear_result;

/* eval/sgd.py: Linear(dim, num_classes) (nn.Linear's initialisation law), cross-entropy, torch Adam with
 * L2 weight decay, `epochs` epochs of shuffled full batches, then top-1 / top-5 on the test rows.
 * train_x [n_train, dim], test_x [n_test, dim] (host memory); labels in [0, num_classes). Allocates the
 * classifier for the call (run once, at the end of a pretraining). n_train >= batch_size. */
mbt_status mbt_sslsota_linear_eval(const mbt_sslsota_linear_config *c, const float *train_x, const int32_t *train_y,
                                   int64_t n_train, const float *test_x, const int32_t *test_y, int64_t n_test, int dim,
                                   int num_classes, mbt_sslsota_linear_result *result);

#endif
