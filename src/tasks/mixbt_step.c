/* The Mixed Barlow Twins training step: forward x3, loss, backward x3, on the model's device. */
#include "tasks/mixbt_step.h"

#include <string.h>

#include "core/rng.h"
#include "ops/mix.h"

#define MBT_RNG_TAG_MIX 2

mbt_status mbt_mixbt_step_init(mbt_mixbt_step *s, mbt_model *model, int with_reg) {
    memset(s, 0, sizeof *s);
    const mbt_model_config *cfg = mbt_model_get_config(model);
    s->model = model;
    s->batch = mbt_model_batch(model);
    s->dim = cfg->feature_dim;
    s->image_numel = 3 * cfg->image_size * cfg->image_size;
    s->with_reg = with_reg;
    s->device = mbt_model_device(model);
    MBT_TRY(mbt_bt_workspace_init(&s->bt, s->batch, s->dim, with_reg, MBT_BT_PATH_AUTO, s->device));
    mbt_plan_init(&s->plan, s->device);
    size_t n_out = (size_t)s->batch * s->dim;
    mbt_plan_floats(&s->plan, &s->dz1, n_out);
    mbt_plan_floats(&s->plan, &s->dz2, n_out);
    if (with_reg) {
        mbt_plan_floats(&s->plan, &s->dzm, n_out);
        mbt_plan_floats(&s->plan, &s->xm, (size_t)s->batch * s->image_numel);
        mbt_plan_bytes(&s->plan, (void **)&s->perm_dev, (size_t)s->batch * sizeof(int32_t));
    }
    mbt_status st = mbt_plan_commit(&s->plan);
    /* a staging slot per step in flight: a slot is refilled once the step that read it is collected */
    if (st == MBT_OK && with_reg)
        st = mbt_upload_init(&s->perm_up, s->device, MBT_BT_IN_FLIGHT, (size_t)s->batch * sizeof(int32_t),
                             "mixbt step (perm)");
    if (st != MBT_OK) mbt_mixbt_step_free(s);
    return st;
}

void mbt_mixbt_step_free(mbt_mixbt_step *s) {
    mbt_bt_workspace_free(&s->bt);
    mbt_upload_free(&s->perm_up); /* waits for the copies in flight */
    mbt_plan_free(&s->plan);
}

mbt_status mbt_mixbt_step_run(mbt_mixbt_step *s, const float *x1, const float *x2, const int32_t *perm,
                              const mbt_bt_params *params, mbt_bt_losses *losses) {
    MBT_TRY(mbt_mixbt_step_queue(s, x1, x2, perm, params));
    return mbt_mixbt_step_collect(s, losses);
}

mbt_status mbt_mixbt_step_collect(mbt_mixbt_step *s, mbt_bt_losses *losses) { return mbt_bt_loss_collect(&s->bt, losses); }

mbt_status mbt_mixbt_step_queue(mbt_mixbt_step *s, const float *x1, const float *x2, const int32_t *perm,
                                const mbt_bt_params *params) {
    int mix = params->lambda_reg != 0.0f;
    if (mix && !s->with_reg)
        return MBT_FAIL(MBT_ERR_ARG, "mixbt step: lambda_reg = %g but the step was set up without the regulariser",
                        params->lambda_reg);
    MBT_CHECK_ARG(s->bt.readback.pending < MBT_BT_IN_FLIGHT, "mixbt step: %d steps queued and not collected",
                  s->bt.readback.pending);
    if (mix) { /* checked here, on the host: the ops read the device's copy */
        for (int b = 0; b < s->batch; b++)
            if (perm[b] < 0 || perm[b] >= s->batch)
                return MBT_FAIL(MBT_ERR_ARG, "mixbt step: perm[%d] = %d outside [0, %d)", b, (int)perm[b], s->batch);
        MBT_TRY(mbt_upload_put(&s->perm_up, s->perm_dev, perm, (size_t)s->batch * sizeof(int32_t)));
    }
    mbt_model *m = s->model;
    const float *z1, *z2, *zm = NULL;
    MBT_TRY(mbt_model_zero_grads(m));
    MBT_TRY(mbt_model_forward_train(m, 0, x1, NULL, &z1));
    MBT_TRY(mbt_model_forward_train(m, 1, x2, NULL, &z2));
    if (mix) { /* xm = a x1 + (1-a) x2[perm], on the normalised inputs as the reference */
        MBT_TRY(mbt_mix_rows(s->device, s->batch, (size_t)s->image_numel, params->alpha, x1, x2, s->perm_dev, s->xm));
        MBT_TRY(mbt_model_forward_train(m, 2, s->xm, NULL, &zm));
    }
    MBT_TRY(mbt_bt_loss_queue(&s->bt, s->batch, z1, z2, zm, mix ? s->perm_dev : NULL, params, s->dz1, s->dz2,
                              mix ? s->dzm : NULL));
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
