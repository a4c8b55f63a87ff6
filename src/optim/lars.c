/* LARS (Barlow Twins ImageNet recipe) over segments of a flat parameter vector, on the CPU or (lars_cuda.cu)
 * the GPU. */
#include "optim/lars.h"

#include <math.h>
#include <string.h>

#include "ops/dispatch.h"
#include "optim/optim_cuda.h"

mbt_lars_config mbt_lars_defaults(void) {
    return (mbt_lars_config){.lr_weights = 0.0, .lr_biases = 0.0, .weight_decay = 1e-6, .momentum = 0.9,
                             .eta = 1e-3};
}

void mbt_lars_plan(mbt_lars_state *st, mbt_plan *plan, size_t n) {
    memset(st, 0, sizeof *st);
    st->n = n;
    st->device = plan->device;
    mbt_plan_floats(plan, &st->mu, n);
    if (plan->device == MBT_DEVICE_CUDA)
        mbt_plan_bytes(plan, (void **)&st->scratch, 2 * MBT_LARS_NORM_PARTS * sizeof(double));
}

void mbt_lars_bind(mbt_lars_state *st, size_t n, float *mu, int64_t step) {
    st->n = n;
    st->mu = mu;
    st->step = step;
    st->device = MBT_DEVICE_CPU;
    st->scratch = NULL;
}

/* Elements per segment below which a segment is done by one thread. */
#define PAR_MIN 32768

static void update_segment(const mbt_lars_config *cfg, const mbt_lars_segment *s, float *restrict p,
                           const float *restrict g, float *restrict mu) {
    const long n = (long)s->length;
    const float mom = (float)cfg->momentum;
    if (s->is_vector) {
        const float lr = (float)cfg->lr_biases;
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (long i = 0; i < n; i++) {
            mu[i] = mu[i] * mom + g[i];
            p[i] = p[i] + (-lr) * mu[i];
        }
        return;
    }
    const float wd = (float)cfg->weight_decay, lr = (float)cfg->lr_weights;
    double pn2 = 0.0, un2 = 0.0;
#pragma omp parallel for simd reduction(+ : pn2, un2) schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) {
        const float d = g[i] + wd * p[i];
        pn2 += (double)p[i] * p[i];
        un2 += (double)d * d;
    }
    const double pn = sqrt(pn2), un = sqrt(un2);
    const float q = pn > 0.0 && un > 0.0 ? (float)(cfg->eta * pn / un) : 1.0f;
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) {
        const float d = (g[i] + wd * p[i]) * q;
        mu[i] = mu[i] * mom + d;
        p[i] = p[i] + (-lr) * mu[i];
    }
}

static mbt_status update_cpu(const mbt_lars_state *st, const mbt_lars_config *cfg, const mbt_lars_segment *segs,
                             int nsegs, float *param, const float *grad) {
    for (int k = 0; k < nsegs; k++) {
        const size_t o = segs[k].offset;
        update_segment(cfg, &segs[k], param + o, grad + o, st->mu + o);
    }
    return MBT_OK;
}

static mbt_status update(const mbt_lars_state *st, const mbt_lars_config *cfg, const mbt_lars_segment *segs,
                         int nsegs, float *param, const float *grad) {
    if (st->device == MBT_DEVICE_CUDA && nsegs > 0 && !st->scratch)
        return MBT_FAIL(MBT_ERR_ARG, "lars: no norm scratch for the CUDA step (state not from a CUDA plan?)");
    MBT_DISPATCH("lars", st->device, update_cpu(st, cfg, segs, nsegs, param, grad),
                 mbt_lars_update_cuda(cfg, segs, nsegs, param, grad, st->mu, st->scratch));
}

mbt_status mbt_lars_step(mbt_lars_state *st, const mbt_lars_config *cfg, const mbt_lars_segment *segs, int nsegs,
                         float *param, const float *grad) {
    MBT_CHECK_ARG(st && cfg && param && grad && (segs || nsegs == 0),
                  "lars: state, config, segments, param and grad are required");
    MBT_CHECK_ARG(st->n == 0 || st->mu, "lars: momentum buffer not allocated (plan not committed?)");
    for (int k = 0; k < nsegs; k++)
        if (segs[k].offset > st->n || segs[k].length > st->n - segs[k].offset)
            return MBT_FAIL(MBT_ERR_ARG, "lars: segment %d [%zu, +%zu) outside the %zu parameters", k,
                            segs[k].offset, segs[k].length, st->n);
    MBT_TRY(update(st, cfg, segs, nsegs, param, grad));
    st->step++;
    return MBT_OK;
}
