/* Adam (torch.optim.Adam, single-tensor path) over a flat parameter vector, OpenMP over elements. */
#include "optim/adam.h"

#include <math.h>
#include <string.h>

mbt_adam_config mbt_adam_defaults(void) {
    return (mbt_adam_config){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0};
}

void mbt_adam_plan(mbt_adam_state *st, mbt_plan *plan, size_t n) {
    memset(st, 0, sizeof *st);
    st->n = n;
    mbt_plan_floats(plan, &st->m, n);
    mbt_plan_floats(plan, &st->v, n);
}

void mbt_adam_bind(mbt_adam_state *st, size_t n, float *m, float *v, int64_t step) {
    st->n = n;
    st->m = m;
    st->v = v;
    st->step = step;
}

mbt_status mbt_adam_step(mbt_adam_state *st, const mbt_adam_config *cfg, float *param, const float *grad) {
    MBT_CHECK_ARG(st && cfg && param && grad, "adam: state, config, param and grad are required");
    MBT_CHECK_ARG(st->n == 0 || (st->m && st->v), "adam: moment buffers not allocated (plan not committed?)");
    MBT_CHECK_ARG(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1 && cfg->eps >= 0,
                  "adam: invalid betas (%g, %g) or eps %g", cfg->beta1, cfg->beta2, cfg->eps);
    const int64_t t = ++st->step;
    /* Scalars as torch computes them in Python (double), used as float by the element-wise kernels. */
    const double bc1 = 1.0 - pow(cfg->beta1, (double)t);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)t);
    const float step_size = (float)(cfg->lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2, ob1 = (float)(1.0 - cfg->beta1);
    const float ob2 = (float)(1.0 - cfg->beta2), wd = (float)cfg->weight_decay, eps = (float)cfg->eps;
    float *restrict p = param, *restrict m = st->m, *restrict v = st->v;
    const float *restrict g0 = grad;
    const long n = (long)st->n;
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (long i = 0; i < n; i++) {
        const float g = wd != 0.0f ? g0[i] + wd * p[i] : g0[i];
        m[i] = m[i] * b1 + g * ob1;
        v[i] = v[i] * b2 + ob2 * g * g;
        const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] + (-step_size) * m[i] / denom;
    }
    return MBT_OK;
}
