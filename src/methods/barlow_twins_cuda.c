/* Barlow Twins / Mixed BT loss on the GPU in the Gram order of barlow_twins_gram.c (read it first: the same
 * steps, named alike): standardisation, residuals D, B x B Gram matrices with cuBLAS ssyrk, their dot
 * products, the gradient products with cuBLAS sgemm, then the paths through D and the standardisation
 * backward. Everything is queued on the context's stream, ending with an asynchronous copy of the loss
 * values (and the bad-column flags) into a pinned slot; collecting them is the only wait. Row-major [B, d] buffers are column-major [d, B] to
 * cuBLAS: K = X X^T is syrk(op T) of that, and G = K X is sgemm(X, K) with the roles swapped. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/cuda.h"
#include "methods/barlow_twins_cuda.h"
#include "methods/barlow_twins_internal.h"
#include "methods/batch_standardize.h"
#include "ops/eltwise.h"

mbt_status mbt_bt_cuda_plan(mbt_bt_workspace *ws) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx)); /* registers the device allocator of plans */
    mbt_plan *p = &ws->plan;
    if (ws->with_reg) mbt_plan_bytes(p, (void **)&ws->perm_dev, (size_t)ws->max_batch * sizeof(int32_t));
    mbt_plan_bytes(p, (void **)&ws->partial, (size_t)MBT_BT_NDOTS * MBT_BT_DOT_PARTS * sizeof(double));
    mbt_plan_bytes(p, &ws->cuda_result, sizeof(mbt_bt_cuda_result));
    MBT_TRY(mbt_cuda_host_alloc("barlow twins loss (results)", &ws->host_results,
                                MBT_BT_IN_FLIGHT * sizeof(mbt_bt_cuda_result)));
    if (ws->with_reg)
        MBT_TRY(mbt_cuda_host_alloc("barlow twins loss (perm)", (void **)&ws->host_perm,
                                    (size_t)MBT_BT_IN_FLIGHT * ws->max_batch * sizeof(int32_t)));
    for (int k = 0; k < MBT_BT_IN_FLIGHT; k++) {
        cudaEvent_t e;
        MBT_CUDA("barlow twins loss (event)", cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        ws->results_ready[k] = (void *)e;
    }
    return MBT_OK;
}

void mbt_bt_cuda_free(mbt_bt_workspace *ws) {
    for (int k = 0; k < MBT_BT_IN_FLIGHT; k++) {
        if (!ws->results_ready[k]) continue;
        cudaEventSynchronize((cudaEvent_t)ws->results_ready[k]);
        cudaEventDestroy((cudaEvent_t)ws->results_ready[k]);
        ws->results_ready[k] = NULL;
    }
    mbt_cuda_host_free(ws->host_results);
    mbt_cuda_host_free(ws->host_perm);
    ws->host_results = NULL;
    ws->host_perm = NULL;
}

/* K = X X^T for X [B, d], as a full B x B matrix. */
static mbt_status gram(mbt_cuda_context *ctx, int B, int d, const float *x, float *k) {
    const float one = 1.0f, zero = 0.0f;
    MBT_CUBLAS("barlow twins loss (gram)", cublasSsyrk(ctx->cublas, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, B, d, &one,
                                                       x, d, &zero, k, B));
    return mbt_bt_cuda_mirror(ctx->stream, B, k);
}

/* G [B, d] = alpha K X (+ beta G) for K [B, B], X [B, d]. */
static mbt_status kx(mbt_cuda_context *ctx, int B, int d, float alpha, const float *k, const float *x, float beta,
                     float *g) {
    MBT_CUBLAS("barlow twins loss (gradient product)",
               cublasSgemm(ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_N, d, B, B, &alpha, x, d, k, B, &beta, g, d));
    return MBT_OK;
}

static const char *const input_names[3] = {"z1", "z2", "zm"};

mbt_status mbt_bt_loss_cuda_queue(mbt_bt_workspace *ws, int B, const float *z1, const float *z2, const float *zm,
                                  const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2,
                                  float *dzm, int slot) {
    const int d = ws->dim, reg = zm != NULL, grads = dz1 != NULL;
    const int separate = reg && params->gt_uses_z2;
    const size_t n = (size_t)B * d, bb = (size_t)B * B;
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    cudaStream_t st = ctx->stream;
    mbt_bt_cuda_result *res = ws->cuda_result;

    MBT_CUDA("barlow twins loss", cudaMemsetAsync(res->bad, 0xff, sizeof res->bad, st)); /* UINT_MAX: none */
    if (reg) { /* through the slot's pinned copy, which no later call rewrites before this one is collected */
        int32_t *pinned = ws->host_perm + (size_t)slot * ws->max_batch;
        memcpy(pinned, perm, (size_t)B * sizeof(int32_t));
        MBT_CUDA("barlow twins loss (perm)",
                 cudaMemcpyAsync(ws->perm_dev, pinned, (size_t)B * sizeof(int32_t), cudaMemcpyHostToDevice, st));
    }
    MBT_TRY(mbt_standardize_forward_cuda(B, d, z1, ws->z1n, ws->is1, &res->bad[0]));
    MBT_TRY(mbt_standardize_forward_cuda(B, d, z2, ws->z2n, ws->is2, &res->bad[1]));
    const float a = params->alpha;
    const float *d2 = ws->d1; /* D2: D1 (paper) or its own (gt_uses_z2) */
    if (reg) {
        MBT_TRY(mbt_standardize_forward_cuda(B, d, zm, ws->zmn, ws->ism, &res->bad[2]));
        MBT_TRY(mbt_bt_cuda_residual(st, B, d, a, ws->zmn, ws->z1n, ws->z2n, ws->perm_dev, ws->d1));
        if (separate) {
            MBT_TRY(mbt_bt_cuda_residual(st, B, d, a, ws->zmn, ws->z2n, ws->z2n, ws->perm_dev, ws->d2));
            d2 = ws->d2;
        }
    }

    /* Values: <K1, K2> / B^2 - sum C_ii^2 off the diagonal, <KD1, K1> and <KD2, K2> for the regulariser. */
    MBT_TRY(gram(ctx, B, d, ws->z1n, ws->k1));
    MBT_TRY(gram(ctx, B, d, ws->z2n, ws->k2));
    MBT_TRY(mbt_bt_cuda_diagonal(st, B, d, ws->z1n, ws->z2n, ws->acc, ws->diag));
    MBT_TRY(mbt_bt_cuda_dot(st, bb, ws->k1, ws->k2, ws->partial));
    const float *kd2 = ws->kd1;
    if (reg) {
        MBT_TRY(gram(ctx, B, d, ws->d1, ws->kd1));
        if (separate) {
            MBT_TRY(gram(ctx, B, d, d2, ws->kd2));
            kd2 = ws->kd2;
        }
        MBT_TRY(mbt_bt_cuda_dot(st, bb, ws->kd1, ws->k1, ws->partial + MBT_BT_DOT_PARTS));
        MBT_TRY(mbt_bt_cuda_dot(st, bb, kd2, ws->k2, ws->partial + 2 * MBT_BT_DOT_PARTS));
    }
    MBT_TRY(mbt_bt_cuda_finish(st, B, d, ws->acc, ws->partial, reg ? 3 : 1, res));

    const double lambda_bt = params->lambda_bt, kappa = (double)params->lambda_reg * params->lambda_bt;
    const double inv_b2 = 1.0 / ((double)B * B);
    if (grads) {
        const float s = (float)(2.0 * inv_b2), lb = (float)lambda_bt, kap = (float)kappa;
        /* Right-factor paths through C, C_MA and C_MB. */
        if (reg) {
            MBT_TRY(mbt_bt_cuda_combine(st, bb, lb, ws->k2, kap, ws->kd1, ws->kmix));
            MBT_TRY(kx(ctx, B, d, s, ws->kmix, ws->z1n, 0.0f, dz1));
            MBT_TRY(mbt_bt_cuda_combine(st, bb, lb, ws->k1, kap, kd2, ws->kmix));
            MBT_TRY(kx(ctx, B, d, s, ws->kmix, ws->z2n, 0.0f, dz2));
        } else {
            MBT_TRY(kx(ctx, B, d, s * lb, ws->k2, ws->z1n, 0.0f, dz1));
            MBT_TRY(kx(ctx, B, d, s * lb, ws->k1, ws->z2n, 0.0f, dz2));
        }
        MBT_TRY(mbt_bt_cuda_diag_terms(st, B, d, lb, ws->diag, ws->z1n, ws->z2n, dz1, dz2));
        if (reg) {
            /* dL/dD1 into dzm (it becomes dL/dzmn), dL/dD2 into q2 when separate. */
            const float sk = s * kap;
            if (separate) {
                MBT_TRY(kx(ctx, B, d, sk, ws->k1, ws->d1, 0.0f, dzm));
                MBT_TRY(kx(ctx, B, d, sk, ws->k2, d2, 0.0f, ws->q2));
            } else {
                MBT_TRY(mbt_bt_cuda_combine(st, bb, 1.0f, ws->k1, 1.0f, ws->k2, ws->kmix));
                MBT_TRY(kx(ctx, B, d, sk, ws->kmix, ws->d1, 0.0f, dzm));
            }
            /* The paths through D1 = zmn - a z1n - (1-a) S and D2 = zmn - a y - (1-a) S. */
            MBT_TRY(mbt_axpy(MBT_DEVICE_CUDA, n, -a, dzm, dz1));
            if (separate) {
                MBT_TRY(mbt_axpy(MBT_DEVICE_CUDA, n, -a, ws->q2, dz2));
                MBT_TRY(mbt_axpy(MBT_DEVICE_CUDA, n, 1.0f, ws->q2, dzm));
            }
            MBT_TRY(mbt_bt_cuda_scatter(st, B, d, a, ws->perm_dev, dzm, dz2));
            MBT_TRY(mbt_standardize_backward_cuda(B, d, ws->zmn, ws->ism, dzm));
        } else if (dzm) {
            MBT_CUDA("barlow twins loss (dzm)", cudaMemsetAsync(dzm, 0, n * sizeof(float), st));
        }
        MBT_TRY(mbt_standardize_backward_cuda(B, d, ws->z1n, ws->is1, dz1));
        MBT_TRY(mbt_standardize_backward_cuda(B, d, ws->z2n, ws->is2, dz2));
    }

    /* The values go back to the host without waiting: collect waits for this slot's event. */
    mbt_bt_cuda_result *host = (mbt_bt_cuda_result *)ws->host_results + slot;
    MBT_CUDA("barlow twins loss (read-back)", cudaMemcpyAsync(host, res, sizeof *host, cudaMemcpyDeviceToHost, st));
    MBT_CUDA("barlow twins loss (read-back)", cudaEventRecord((cudaEvent_t)ws->results_ready[slot], st));
    return MBT_OK;
}

mbt_status mbt_bt_loss_cuda_collect(mbt_bt_workspace *ws, int slot, int B, int reg, double lambda_bt, double kappa,
                                    mbt_bt_losses *out) {
    const int d = ws->dim;
    MBT_CUDA("barlow twins loss (read-back)", cudaEventSynchronize((cudaEvent_t)ws->results_ready[slot]));
    const mbt_bt_cuda_result r = ((const mbt_bt_cuda_result *)ws->host_results)[slot];
    const double inv_b2 = 1.0 / ((double)B * B);
    for (int k = 0; k < 3; k++)
        if (r.bad[k] != UINT_MAX)
            return MBT_FAIL(MBT_ERR_NUMERIC,
                            "barlow twins loss: column %u of %s [%d x %d] has zero or non-finite std over the batch",
                            r.bad[k], input_names[k], B, d);
    out->on_diag = r.on_diag;
    out->off_diag = r.dot[0] * inv_b2 - r.diag_sq;
    out->loss_bt = out->on_diag + lambda_bt * out->off_diag;
    if (reg) out->loss_reg = kappa * inv_b2 * (r.dot[1] + r.dot[2]);
    if (!isfinite(out->loss_bt) || !isfinite(out->loss_reg))
        return MBT_FAIL(MBT_ERR_NUMERIC, "barlow twins loss: non-finite loss (bt %g, reg %g) for B=%d d=%d",
                        out->loss_bt, out->loss_reg, B, d);
    return MBT_OK;
}
