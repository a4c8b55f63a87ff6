/* Barlow Twins loss and the Mixed Barlow Twins regulariser (SPEC section 2) with exact gradients.
 *
 * Inputs are the projector outputs z1, z2 of the two views and zm of the mixed batch, row-major [B, d].
 * Each is standardised over the batch (mean, unbiased std, as torch .std(0)); nothing is L2-normalised
 * here. With S = rows of z2n gathered by perm (S[b] = z2n[perm[b]]), C = z1n^T z2n / B and
 *
 *   L_BT  = sum_i (C_ii - 1)^2 + lambda_bt * sum_{i != j} C_ij^2
 *   C_MA  = zmn^T z1n / B          C_MA_gt = a z1n^T z1n / B + (1-a) S^T z1n / B
 *   C_MB  = zmn^T z2n / B          C_MB_gt = a z1n^T z2n / B + (1-a) S^T z2n / B
 *                                  (gt_uses_z2: a z2n^T z2n / B + (1-a) S^T z2n / B, ImageNet script)
 *   L_reg = lambda_reg * lambda_bt * (||C_MA - C_MA_gt||_F^2 + ||C_MB - C_MB_gt||_F^2)
 *
 * and the gradients of L = L_BT + L_reg with respect to z1, z2, zm, with nothing detached (the gt terms
 * pass gradient into z1 and z2), as PyTorch autograd computes them for the reference's mixbt_loss.
 * The ImageNet script's 0.5 factor and its 10-epoch ramp are the caller's: lambda_reg = 0.5 * scale(step).
 *
 * Two exact evaluation orders, chosen once per workspace:
 *   MBT_BT_PATH_COV  forms the d x d matrices (C, C_MA - C_MA_gt, C_MB - C_MB_gt): cost ~ B d^2.
 *   MBT_BT_PATH_GRAM uses C_MA - C_MA_gt = D^T z1n / B with D = zmn - a z1n - (1-a) S, and
 *                    ||X^T Y||_F^2 = <X X^T, Y Y^T>, so only B x B Gram matrices are formed: cost ~ B^2 d.
 *   MBT_BT_PATH_AUTO takes GRAM when max_batch <= dim (every official recipe), else COV.
 * Written once over the device-dispatched ops (ops/blas.h, standardize.h, mix.h, xcorr.h, reduce.h,
 * eltwise.h), so the same steps run on the CPU (OpenBLAS and OpenMP loops) and on CUDA (cuBLAS and
 * kernels). The workspace is one planned allocation on the device; a call allocates nothing.
 * On CUDA the Gram order is taken whatever max_batch and dim (the d x d order has not run on a GPU).
 * z1, z2, zm, perm and the gradients are in the device's memory; the losses come back to the host. */
#ifndef MBT_BARLOW_TWINS_H
#define MBT_BARLOW_TWINS_H

#include <stdint.h>

#include "core/plan.h"
#include "core/queue.h"
#include "core/status.h"
#include "core/tensor.h"
#include "methods/loss_readback.h"

typedef enum { MBT_BT_PATH_AUTO = 0, MBT_BT_PATH_GRAM = 1, MBT_BT_PATH_COV = 2 } mbt_bt_path;

/* The scalars of one step. */
typedef struct {
    float lambda_bt;  /* weight of the off-diagonal terms (CIFAR: 1/128, Tiny: 1/1024, ImageNet: 0.0051) */
    float lambda_reg; /* scale of the regulariser (CIFAR 4.0, STL 2.0); 0: plain Barlow Twins */
    float alpha;      /* mixing coefficient a of this step (Beta(1,1) sample) */
    int gt_uses_z2;   /* SPEC quirk 2: C_MB_gt = a z2n^T z2n / B + ... (ImageNet script), not the paper's */
} mbt_bt_params;

/* Loss values of one call (accumulated in double). */
typedef struct {
    double loss_bt;  /* L_BT */
    double loss_reg; /* L_reg (0 for plain Barlow Twins) */
    double on_diag;  /* sum_i (C_ii - 1)^2 */
    double off_diag; /* sum_{i != j} C_ij^2 (unweighted) */
} mbt_bt_losses;

/* Loss calls that may be queued before the oldest is collected (mbt_bt_loss_queue). */
#define MBT_BT_IN_FLIGHT MBT_READBACK_SLOTS

/* Scratch for one (max_batch, dim); the fields are private to barlow_twins*.c. */
typedef struct {
    int max_batch, dim, with_reg;
    mbt_bt_path path; /* GRAM or COV after init */
    mbt_plan plan;    /* in the device's memory */
    float *z1n, *z2n, *zmn;            /* standardised inputs [B, d] */
    float *is1, *is2, *ism;            /* inverse stds [d] */
    double *acc;                       /* column sums [d] (diagonal of C, Gram path) */
    float *diag;                       /* C_ii [d] */
    float *d1, *d2, *q2;               /* D1, D2 (gt_uses_z2), dL/dD2 [B, d] */
    float *k1, *k2, *kd1, *kd2, *kmix; /* GRAM: B x B Gram matrices and a combination */
    float *c, *e1, *e2;                /* COV: C, C_MA - C_MA_gt, C_MB - C_MB_gt [d, d] */
    double *dot_scratch;               /* mbt_dot's scratch [MBT_DOT_SCRATCH] */
    void *sums;                        /* a call's reductions (mbt_bt_sums, barlow_twins_internal.h) */
    /* each queued call's sums come back through a ring slot (readback.pending: queued, not collected);
     * what finishing the slot needs is kept by slot */
    mbt_loss_readback readback;
    struct {
        int B, reg;
        double lambda_bt, kappa;
    } pending[MBT_BT_IN_FLIGHT];
} mbt_bt_workspace;

/* Plans and allocates the scratch for batches of up to max_batch (>= 2) rows of dim features. with_reg = 0
 * plans only plain Barlow Twins (a later call with the regulariser is then refused). device CPU, or CUDA
 * in a CUDA build (path AUTO or GRAM; COV is refused there), where the workspace is device memory. */
mbt_status mbt_bt_workspace_init(mbt_bt_workspace *ws, int max_batch, int dim, int with_reg, mbt_bt_path path,
                                 mbt_device device);
void mbt_bt_workspace_free(mbt_bt_workspace *ws);

/* Computes the losses for `batch` rows (2 <= batch <= max_batch) and, when dz1 is not NULL, the gradients
 * dL/dz1, dL/dz2 (and dL/dzm when the regulariser is on) into [batch, dim] buffers that are overwritten
 * (dz1 and dz2 both given, or both NULL; dzm required with them when the regulariser is on, and zeroed
 * when it is given while the regulariser is off).
 * The regulariser is on when lambda_reg != 0 and zm != NULL; it then needs perm[batch] with entries in
 * [0, batch) in the workspace's device memory (a permutation in the recipe; repeated entries are handled
 * as a gather; the CPU checks the range, on CUDA the caller does before the upload). No output buffer may
 * overlap an input. Returns MBT_ERR_NUMERIC, naming the input and column, when a column of z1, z2 or zm
 * has zero (or non-finite) std over the batch.
 * All arrays are the workspace's device memory, out host memory. On CUDA the work is queued on the
 * context's stream and the call waits for it once, to read the losses back (so the gradients are ready
 * when it returns). It is mbt_bt_loss_queue then mbt_bt_loss_collect (below). */
mbt_status mbt_bt_loss(mbt_bt_workspace *ws, int batch, const float *z1, const float *z2, const float *zm,
                       const int32_t *perm, const mbt_bt_params *params, mbt_bt_losses *out, float *dz1,
                       float *dz2, float *dzm);

/* mbt_bt_loss in two halves, for a host that runs ahead of the device: queue does all the work but the
 * wait: the values are copied back into a staging slot without waiting (CUDA: pinned; the gradients
 * are queued, ready for the backward passes queued after them); collect waits for the values of the
 * oldest queued call and checks them, returning the errors mbt_bt_loss returns for non-finite values or
 * a zero-std column, one call late. On a synchronous device (the CPU) queue checks them at once, so its
 * errors come at once, and collect hands the values over. At most MBT_BT_IN_FLIGHT calls may wait;
 * mbt_bt_loss needs none waiting. */
mbt_status mbt_bt_loss_queue(mbt_bt_workspace *ws, int batch, const float *z1, const float *z2, const float *zm,
                             const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2, float *dzm);
mbt_status mbt_bt_loss_collect(mbt_bt_workspace *ws, mbt_bt_losses *out);

#endif
