/* ssl-sota's linear evaluation (eval/sgd.py) over features in memory, on the linear probe's classifier. */
#include "tasks/eval_sslsota.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/evaluate_data.h"
#include "tasks/linear_probe.h"

int mbt_sslsota_normalisation(const char *dataset, float mean[3], float std[3]) {
    if (!dataset || strcmp(dataset, "cifar100") != 0) return 0;
    const float m[3] = {0.5071f, 0.4867f, 0.4408f}, sd[3] = {0.2675f, 0.2565f, 0.2761f};
    memcpy(mean, m, sizeof m);
    memcpy(std, sd, sizeof sd);
    return 1;
}

void mbt_sslsota_linear_defaults(mbt_sslsota_linear_config *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 500;
    c->batch_size = 1000;
    c->lr = 1e-2;
    c->lr_end = 1e-6;
    c->weight_decay = 5e-6;
}

mbt_status mbt_sslsota_linear_eval(const mbt_sslsota_linear_config *c, const float *train_x, const int32_t *train_y,
                                   int64_t n_train, const float *test_x, const int32_t *test_y, int64_t n_test, int dim,
                                   int num_classes, mbt_sslsota_linear_result *res) {
    memset(res, 0, sizeof *res);
    MBT_CHECK_ARG(c->epochs >= 1 && c->batch_size >= 1, "sslsota linear: epochs %d, batch %d", c->epochs,
                  c->batch_size);
    MBT_CHECK_ARG(c->lr > 0 && c->lr_end > 0, "sslsota linear: lr %g -> %g must be positive", c->lr, c->lr_end);
    MBT_CHECK_ARG(n_train >= c->batch_size && n_train <= INT32_MAX,
                  "sslsota linear: %lld training rows make no full batch of %d", (long long)n_train, c->batch_size);
    MBT_CHECK_ARG(n_test >= 1 && train_x && train_y && test_x && test_y, "sslsota linear: no test rows or no data");
    mbt_linear_head h;
    MBT_TRY(mbt_linear_head_init(&h, dim, num_classes, c->batch_size, c->weight_decay));
    mbt_linear_head_reset(&h, c->seed);
    int32_t *order = malloc((size_t)n_train * sizeof(int32_t));
    mbt_status st = order ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "sslsota linear: out of memory");
    const mbt_probe_schedule sched = {.kind = MBT_PROBE_SCHED_EXP_DECAY, .lr = c->lr, .lr_end = c->lr_end};
    mbt_class_counts tr = {0};
    for (int e = 1; st == MBT_OK && e <= c->epochs; e++) {
        mbt_rng rng;
        mbt_rng_init(&rng, c->seed, mbt_rng_stream_id(MBT_RNG_TAG_EVAL_ORDER, (uint64_t)e, 0, 0));
        mbt_rng_permutation(&rng, order, (int)n_train);
        memset(&tr, 0, sizeof tr);
        st = mbt_linear_head_train_epoch(&h, train_x, train_y, order, n_train, c->batch_size, 1,
                                         mbt_probe_schedule_lr(&sched, e, c->epochs), &tr, NULL,
                                         "the ssl-sota linear evaluation");
    }
    mbt_class_counts te = {0};
    for (int64_t s = 0; st == MBT_OK && s < n_test; s += c->batch_size) {
        int m = n_test - s < c->batch_size ? (int)(n_test - s) : c->batch_size;
        st = mbt_linear_head_evaluate(&h, test_x + (size_t)s * dim, test_y + s, m, &te);
    }
    if (st == MBT_OK) {
        res->top1 = 100.0 * (double)te.top1 / (double)te.total;
        res->top5 = 100.0 * (double)te.top5 / (double)te.total;
        res->test_loss = te.loss_sum / (double)te.total;
        res->last_train_loss = tr.loss_sum / (double)tr.total;
        res->train_used = tr.total;
    }
    free(order);
    mbt_linear_head_free(&h);
    return st;
}
