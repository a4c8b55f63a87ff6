/* The linear classifier of the evaluation protocols: nn.Linear + cross-entropy + torch Adam or SGD. */
#include "tasks/linear_probe.h"

#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "core/stop.h"
#include "ops/linear.h"
#include "tasks/evaluate_data.h"

static mbt_status head_init(mbt_linear_head *h, int in, int classes, int max_batch, mbt_head_optimizer opt) {
    memset(h, 0, sizeof *h);
    MBT_CHECK_ARG(in >= 1 && classes >= 1 && max_batch >= 1, "linear head: in %d, classes %d, batch %d", in, classes,
                  max_batch);
    h->in = in;
    h->classes = classes;
    h->max_batch = max_batch;
    h->optimizer = opt;
    size_t n = (size_t)classes * in + (size_t)classes;
    mbt_plan_init(&h->plan, MBT_DEVICE_CPU);
    mbt_plan_floats(&h->plan, &h->params, n);
    mbt_plan_floats(&h->plan, &h->grads, n);
    mbt_plan_floats(&h->plan, &h->logits, (size_t)max_batch * classes);
    mbt_plan_floats(&h->plan, &h->dlogits, (size_t)max_batch * classes);
    mbt_plan_floats(&h->plan, &h->xb, (size_t)max_batch * in);
    mbt_plan_bytes(&h->plan, (void **)&h->yb, (size_t)max_batch * sizeof(int32_t));
    if (opt == MBT_HEAD_SGD) mbt_sgd_plan(&h->sgd, &h->plan, n);
    else mbt_adam_plan(&h->adam, &h->plan, n);
    mbt_status st = mbt_plan_commit(&h->plan);
    if (st != MBT_OK) {
        mbt_plan_free(&h->plan);
        return MBT_FAIL(st, "linear head: cannot allocate %d x %d parameters and batches of %d", classes, in, max_batch);
    }
    h->w = h->params;
    h->b = h->params + (size_t)classes * in;
    return MBT_OK;
}

mbt_status mbt_linear_head_init(mbt_linear_head *h, int in, int classes, int max_batch, double weight_decay) {
    MBT_TRY(head_init(h, in, classes, max_batch, MBT_HEAD_ADAM));
    h->adam_cfg = mbt_adam_defaults();
    h->adam_cfg.weight_decay = weight_decay;
    return MBT_OK;
}

mbt_status mbt_linear_head_init_sgd(mbt_linear_head *h, int in, int classes, int max_batch, double momentum,
                                    double weight_decay) {
    MBT_CHECK_ARG(momentum >= 0 && weight_decay >= 0, "linear head: SGD momentum %g, weight decay %g", momentum,
                  weight_decay);
    MBT_TRY(head_init(h, in, classes, max_batch, MBT_HEAD_SGD));
    h->sgd_cfg.momentum = momentum;
    h->sgd_cfg.weight_decay = weight_decay;
    return MBT_OK;
}

void mbt_linear_head_free(mbt_linear_head *h) {
    mbt_plan_free(&h->plan);
    memset(h, 0, sizeof *h);
}

static void clear_optimizer(mbt_linear_head *h) {
    if (h->optimizer == MBT_HEAD_SGD) {
        memset(h->sgd.buf, 0, h->sgd.n * sizeof(float));
        h->sgd.step = 0;
        return;
    }
    memset(h->adam.m, 0, h->adam.n * sizeof(float));
    memset(h->adam.v, 0, h->adam.n * sizeof(float));
    h->adam.step = 0;
}

void mbt_linear_head_reset(mbt_linear_head *h, uint64_t seed) {
    /* kaiming_uniform_(a=sqrt(5)) on [classes, in] gives bound sqrt(6 / ((1 + 5) * in)) = 1/sqrt(in); the
     * bias bound is 1/sqrt(fan_in) too */
    double bound = 1.0 / sqrt((double)h->in);
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_EVAL_HEAD, 0, 0, 0));
    size_t n = (size_t)h->classes * h->in + (size_t)h->classes;
    for (size_t i = 0; i < n; i++) h->params[i] = (float)((2.0 * mbt_rng_uniform_double(&rng) - 1.0) * bound);
    clear_optimizer(h);
}

void mbt_linear_head_reset_normal(mbt_linear_head *h, uint64_t seed, double std) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_EVAL_HEAD, 0, 0, 0));
    for (size_t i = 0; i < (size_t)h->classes * h->in; i++) h->w[i] = (float)(std * mbt_rng_normal(&rng));
    memset(h->b, 0, (size_t)h->classes * sizeof *h->b);
    clear_optimizer(h);
}

void mbt_linear_head_set(mbt_linear_head *h, const float *w, const float *b) {
    memcpy(h->w, w, (size_t)h->classes * h->in * sizeof(float));
    memcpy(h->b, b, (size_t)h->classes * sizeof(float));
    clear_optimizer(h);
}

double mbt_class_row_stats(const float *logits, int classes, int label, int *top1, int *top5) {
    double mx = -INFINITY;
    for (int c = 0; c < classes; c++)
        if (logits[c] > mx) mx = logits[c];
    double sum = 0;
    for (int c = 0; c < classes; c++) sum += exp((double)logits[c] - mx);
    float v = logits[label];
    int rank = 0;
    for (int c = 0; c < classes; c++) rank += logits[c] > v || (logits[c] == v && c < label);
    int ok = isfinite(v);
    *top1 = ok && rank == 0;
    *top5 = ok && rank < 5;
    return mx + log(sum) - (double)v;
}

/* Logits and the loss terms; dlogits = (softmax - onehot) / n when want_grad. */
static mbt_status forward_loss(mbt_linear_head *h, const float *x, const int32_t *labels, int n, int want_grad,
                               mbt_class_counts *counts, double *mean_loss) {
    MBT_CHECK_ARG(n >= 1 && n <= h->max_batch, "linear head: batch of %d rows (1 to %d)", n, h->max_batch);
    int C = h->classes;
    for (int i = 0; i < n; i++)
        MBT_CHECK_ARG(labels[i] >= 0 && labels[i] < C, "linear head: label %d of row %d outside 0..%d", labels[i], i,
                      C - 1);
    MBT_TRY(mbt_linear_forward(MBT_DEVICE_CPU, n, h->in, C, x, h->w, h->b, h->logits));
    double total = 0;
    int64_t t1 = 0, t5 = 0;
    for (int i = 0; i < n; i++) {
        const float *l = h->logits + (size_t)i * C;
        int a, b;
        double li = mbt_class_row_stats(l, C, labels[i], &a, &b);
        total += li;
        t1 += a;
        t5 += b;
        if (want_grad) {
            double lse = li + (double)l[labels[i]]; /* log-sum-exp of the row */
            float *d = h->dlogits + (size_t)i * C;
            for (int c = 0; c < C; c++) d[c] = (float)((exp((double)l[c] - lse) - (c == labels[i])) / n);
        }
    }
    if (!isfinite(total)) return MBT_FAIL(MBT_ERR_NUMERIC, "linear head: the loss is %g (features not finite?)", total);
    if (counts) {
        counts->loss_sum += total;
        counts->top1 += t1;
        counts->top5 += t5;
        counts->total += n;
    }
    if (mean_loss) *mean_loss = total / n;
    return MBT_OK;
}

mbt_status mbt_linear_head_train_step(mbt_linear_head *h, const float *x, const int32_t *labels, int n, double lr,
                                      mbt_class_counts *counts, double *loss) {
    MBT_TRY(forward_loss(h, x, labels, n, 1, counts, loss));
    size_t np = (size_t)h->classes * h->in + (size_t)h->classes;
    memset(h->grads, 0, np * sizeof(float));
    MBT_TRY(mbt_linear_backward(MBT_DEVICE_CPU, n, h->in, h->classes, x, h->w, h->dlogits, NULL, h->grads,
                                h->grads + (size_t)h->classes * h->in));
    if (h->optimizer == MBT_HEAD_SGD) {
        h->sgd_cfg.lr = lr;
        return mbt_sgd_step(&h->sgd, &h->sgd_cfg, h->params, h->grads);
    }
    h->adam_cfg.lr = lr;
    return mbt_adam_step(&h->adam, &h->adam_cfg, h->params, h->grads);
}

mbt_status mbt_linear_head_train_epoch(mbt_linear_head *h, const float *x, const int32_t *labels, const int32_t *order,
                                       int64_t n, int batch, int drop_last, double lr, mbt_class_counts *counts,
                                       double *losses, const char *stop_phase) {
    MBT_CHECK_ARG(batch >= 1 && batch <= h->max_batch, "linear head: batch of %d rows (1 to %d)", batch, h->max_batch);
    MBT_CHECK_ARG(n >= 0, "linear head: %lld rows", (long long)n);
    int64_t end = drop_last ? n - n % batch : n;
    for (int64_t s = 0, step = 0; s < end; s += batch, step++) {
        if (stop_phase) MBT_TRY(mbt_stop_check(stop_phase));
        int m = end - s < batch ? (int)(end - s) : batch;
        for (int i = 0; i < m; i++) {
            int64_t r = order[s + i];
            memcpy(h->xb + (size_t)i * h->in, x + (size_t)r * h->in, (size_t)h->in * sizeof(float));
            h->yb[i] = labels[r];
        }
        MBT_TRY(mbt_linear_head_train_step(h, h->xb, h->yb, m, lr, counts, losses ? losses + step : NULL));
    }
    return MBT_OK;
}

mbt_status mbt_linear_head_evaluate(mbt_linear_head *h, const float *x, const int32_t *labels, int n,
                                    mbt_class_counts *counts) {
    return forward_loss(h, x, labels, n, 0, counts, NULL);
}
