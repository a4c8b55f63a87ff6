/* The Mixed Barlow Twins training step: forward x3, loss, backward x3. */
#include "tasks/mixbt_step.h"

#include <string.h>

#include "core/rng.h"

#define MBT_RNG_TAG_MIX 2

mbt_status mbt_mixbt_step_init(mbt_mixbt_step *s, mbt_model *model, int with_reg) {
    memset(s, 0, sizeof *s);
    const mbt_model_config *cfg = mbt_model_get_config(model);
    s->model = model;
    s->batch = mbt_model_batch(model);
    s->dim = cfg->feature_dim;
    s->image_numel = 3 * cfg->image_size * cfg->image_size;
    s->with_reg = with_reg;
    MBT_TRY(mbt_bt_workspace_init(&s->bt, s->batch, s->dim, with_reg, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU));
    mbt_plan_init(&s->plan, MBT_DEVICE_CPU);
    size_t n_out = (size_t)s->batch * s->dim;
    mbt_plan_floats(&s->plan, &s->dz1, n_out);
    mbt_plan_floats(&s->plan, &s->dz2, n_out);
    if (with_reg) {
        mbt_plan_floats(&s->plan, &s->dzm, n_out);
        mbt_plan_floats(&s->plan, &s->xm, (size_t)s->batch * s->image_numel);
    }
    mbt_status st = mbt_plan_commit(&s->plan);
    if (st != MBT_OK) mbt_mixbt_step_free(s);
    return st;
}

void mbt_mixbt_step_free(mbt_mixbt_step *s) {
    mbt_bt_workspace_free(&s->bt);
    mbt_plan_free(&s->plan);
}

mbt_status mbt_mixbt_step_run(mbt_mixbt_step *s, const float *x1, const float *x2, const int32_t *perm,
                              const mbt_bt_params *params, mbt_bt_losses *losses) {
    int mix = params->lambda_reg != 0.0f;
    if (mix && !s->with_reg)
        return MBT_FAIL(MBT_ERR_ARG, "mixbt step: lambda_reg = %g but the step was set up without the regulariser",
                        params->lambda_reg);
    mbt_model *m = s->model;
    const float *z1, *z2, *zm = NULL;
    MBT_TRY(mbt_model_zero_grads(m));
    MBT_TRY(mbt_model_forward_train(m, 0, x1, NULL, &z1));
    MBT_TRY(mbt_model_forward_train(m, 1, x2, NULL, &z2));
    if (mix) { /* xm = a x1 + (1-a) x2[perm], on the normalised inputs as the reference */
        float a = params->alpha;
        size_t n = (size_t)s->image_numel;
#pragma omp parallel for
        for (int b = 0; b < s->batch; b++) {
            const float *p = x1 + b * n, *q = x2 + (size_t)perm[b] * n;
            float *o = s->xm + b * n;
            for (size_t i = 0; i < n; i++) o[i] = a * p[i] + (1.0f - a) * q[i];
        }
        MBT_TRY(mbt_model_forward_train(m, 2, s->xm, NULL, &zm));
    }
    MBT_TRY(mbt_bt_loss(&s->bt, s->batch, z1, z2, zm, perm, params, losses, s->dz1, s->dz2, mix ? s->dzm : NULL));
    if (mix) MBT_TRY(mbt_model_backward(m, 2, s->dzm, NULL));
    MBT_TRY(mbt_model_backward(m, 1, s->dz2, NULL));
    return mbt_model_backward(m, 0, s->dz1, NULL);
}

void mbt_mixbt_draw_mix(uint64_t seed, int64_t global_step, int batch, int32_t *perm, float *alpha) {
    mbt_rng rng;
    mbt_rng_init(&rng, seed, mbt_rng_stream_id(MBT_RNG_TAG_MIX, 0, (uint64_t)global_step, 0));
    mbt_rng_permutation(&rng, perm, batch);
    *alpha = (float)mbt_rng_beta(&rng, 1.0, 1.0);
}
