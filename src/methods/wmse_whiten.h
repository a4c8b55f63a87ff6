/* W-MSE's whitening of row groups (methods/wmse.h) and its exact backward, over device-dispatched ops.
 * The groups are `groups` consecutive blocks of `rows` rows of x [groups * rows, dim]; for each:
 *   xc = x - mean(x),  S = (1 - eps) xc^T xc / (rows - 1) + eps I,  L L^T = S,  W = L^{-1},  y = xc W^T
 * and the backward, given gy:
 *   gW = gy^T xc,  gS = the cholesky op's backward of gW (ops/cholesky.h),
 *   gxc = gy W + 2 (1 - eps) / (rows - 1) xc gS,  gx = gxc - mean(gxc)
 * which is PyTorch autograd of ssl-sota's whiten (mean, t @ t.t(), cholesky, solve_triangular, the 1x1
 * convolution) in exact arithmetic. Buffers are planned once for (max_groups, rows, dim, device); on CUDA
 * the context must exist before init (e.g. an mbt_event_init first), as for every plan. */
#ifndef MBT_WMSE_WHITEN_H
#define MBT_WMSE_WHITEN_H

#include <stdint.h>

#include "core/plan.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct {
    int max_groups, rows, dim;
    mbt_device device;
    mbt_plan plan;
    float *ones;            /* [rows] of 1: column means and their removal as products */
    float *eye;             /* [dim, dim] identity */
    float *mean;            /* [dim] */
    float *s, *l, *w;       /* shrunk covariances, factors, inverse factors [max_groups, dim, dim] */
    float *gw, *gs;         /* their gradients [max_groups, dim, dim] */
    float *scratch;         /* the cholesky backward's [2, max_groups, dim, dim] */
    void *chol_ws;          /* the cholesky op's workspace */
} mbt_whiten_ws;

mbt_status mbt_whiten_init(mbt_whiten_ws *ws, int max_groups, int rows, int dim, mbt_device device);
void mbt_whiten_free(mbt_whiten_ws *ws);

/* x [groups * rows, dim] is centred in place (the backward needs it) and y [groups * rows, dim]
 * written; info [groups] (device memory) as the cholesky op fills it (the CPU fails at once with
 * MBT_ERR_NUMERIC naming the group). The factors stay in ws for the backward. */
mbt_status mbt_whiten_forward(mbt_whiten_ws *ws, int groups, float eps, float *x, float *y, int32_t *info);
/* gx [groups * rows, dim] = dL/dx from gy = dL/dy, after mbt_whiten_forward of the same groups; xc is
 * the x that forward centred. gx overlaps neither. */
mbt_status mbt_whiten_backward(mbt_whiten_ws *ws, int groups, float eps, const float *xc, const float *gy,
                               float *gx);

#endif
