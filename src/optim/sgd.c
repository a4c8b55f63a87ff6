/* SGD with momentum (torch.optim.SGD, dampening 0, no Nesterov) over a flat parameter vector, on the CPU
 * or (sgd_cuda.cu) the GPU. */
#include "optim/sgd.h"

#include <string.h>

#include "ops/dispatch.h"
#include "optim/optim_cuda.h"

void mbt_sgd_plan(mbt_sgd_state *st, mbt_plan *plan, size_t n) {
    memset(st, 0, sizeof *st);
    st->n = n;
    st->device = plan->device;
    mbt_plan_floats(plan, &st->buf, n);
}

void mbt_sgd_bind(mbt_sgd_state *st, size_t n, float *buf, int64_t step) {
    st->n = n;
    st->buf = buf;
    st->step = step;
    st->device = MBT_DEVICE_CPU;
}

static mbt_status update_cpu(long n, float lr, float mom, float wd, int first, float *restrict p,
                             float *restrict buf, const float *restrict g0) {
    if (mom == 0.0f) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (long i = 0; i < n; i++) p[i] = p[i] + (-lr) * (wd != 0.0f ? g0[i] + wd * p[i] : g0[i]);
    } else {
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (long i = 0; i < n; i++) {
            const float d = wd != 0.0f ? g0[i] + wd * p[i] : g0[i];
            buf[i] = first ? d : buf[i] * mom + d;
            p[i] = p[i] + (-lr) * buf[i];
        }
    }
    return MBT_OK;
}

static mbt_status update(const mbt_sgd_state *st, float lr, float mom, float wd, int first, float *param,
                         const float *grad) {
    MBT_DISPATCH("sgd", st->device, update_cpu((long)st->n, lr, mom, wd, first, param, st->buf, grad),
                 mbt_sgd_update_cuda(st->n, lr, mom, wd, first, param, st->buf, grad));
}

mbt_status mbt_sgd_step(mbt_sgd_state *st, const mbt_sgd_config *cfg, float *param, const float *grad) {
    MBT_CHECK_ARG(st && cfg && param && grad, "sgd: state, config, param and grad are required");
    MBT_CHECK_ARG(cfg->momentum == 0.0 || st->n == 0 || st->buf,
                  "sgd: momentum %g needs a buffer (plan not committed?)", cfg->momentum);
    const float lr = (float)cfg->lr, mom = (float)cfg->momentum, wd = (float)cfg->weight_decay;
    const int first = st->step == 0;
    MBT_TRY(update(st, lr, mom, wd, first, param, grad));
    st->step++;
    return MBT_OK;
}
