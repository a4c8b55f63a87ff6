/* Adam (torch.optim.Adam, single-tensor path) over a flat parameter vector: OpenMP over elements on the
 * CPU, adam_cuda.cu on the GPU. */
#include "optim/adam.h"

#include <math.h>
#include <string.h>

#include "ops/dispatch.h"
#include "optim/optim_cuda.h"

mbt_adam_config mbt_adam_defaults(void) {
    return (mbt_adam_config){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0};
}

void mbt_adam_plan(mbt_adam_state *st, mbt_plan *plan, size_t n) {
    memset(st, 0, sizeof *st);
    st->n = n;
    st->device = plan->device;
    mbt_plan_floats(plan, &st->m, n);
    mbt_plan_floats(plan, &st->v, n);
}

void mbt_adam_bind(mbt_adam_state *st, size_t n, float *m, float *v, int64_t step) {
    st->n = n;
    st->m = m;
    st->v = v;
    st->step = step;
    st->device = MBT_DEVICE_CPU;
}

static mbt_status update_cpu(long n, const mbt_adam_coeffs *k, float *restrict p, float *restrict m,
                             float *restrict v, const float *restrict g0) {
    const float step_size = k->step_size, bc2_sqrt = k->bc2_sqrt, b1 = k->b1, b2 = k->b2, ob1 = k->ob1;
    const float ob2 = k->ob2, wd = k->wd, eps = k->eps;
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

static mbt_status update(const mbt_adam_state *st, const mbt_adam_coeffs *k, float *param, const float *grad) {
    MBT_DISPATCH("adam", st->device, update_cpu((long)st->n, k, param, st->m, st->v, grad),
                 mbt_adam_update_cuda(st->n, k, param, st->m, st->v, grad));
}

mbt_status mbt_adam_step(mbt_adam_state *st, const mbt_adam_config *cfg, float *param, const float *grad) {
    MBT_CHECK_ARG(st && cfg && param && grad, "adam: state, config, param and grad are required");
    MBT_CHECK_ARG(st->n == 0 || (st->m && st->v), "adam: moment buffers not allocated (plan not committed?)");
    MBT_CHECK_ARG(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1 && cfg->eps >= 0,
                  "adam: invalid betas (%g, %g) or eps %g", cfg->beta1, cfg->beta2, cfg->eps);
    const int64_t t = st->step + 1;
    /* Scalars as torch computes them in Python (double), used as float by the element-wise kernels. */
    const double bc1 = 1.0 - pow(cfg->beta1, (double)t);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)t);
    const mbt_adam_coeffs k = {.step_size = (float)(cfg->lr / bc1), .bc2_sqrt = (float)sqrt(bc2),
                               .b1 = (float)cfg->beta1, .b2 = (float)cfg->beta2, .ob1 = (float)(1.0 - cfg->beta1),
                               .ob2 = (float)(1.0 - cfg->beta2), .wd = (float)cfg->weight_decay,
                               .eps = (float)cfg->eps};
    MBT_TRY(update(st, &k, param, grad));
    st->step = t;
    return MBT_OK;
}
