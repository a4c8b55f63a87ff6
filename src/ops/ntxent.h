/* The part of SimCLR's NT-Xent loss (methods/simclr.h) that is not a matrix product, on any backend: the
 * row-wise softmax cross-entropy over the logits read from the Gram matrix of all views, its value and
 * its gradient with respect to that Gram matrix.
 *
 * G [V B, V B] (row stride V B) holds <z_p, z_q> for the view-major rows z (view v: rows v B .. v B + B - 1).
 * For each ordered pair of views (i, j), i != j, and each row r of view i, ssl-sota's logits are
 *   l = [G[iB+r, jB .. jB+B) / tau,  G[iB+r, iB .. iB+B) / tau - 1e9 e_r]   (the partner's block, then its own)
 * with label r, and ce = logsumexp(l) - G[iB+r, jB+r] / tau (computed as float logits, exp in float, the sum of
 * exponentials, the log and ce in double). The pair (i, j), i < j, of ssl-sota is the two rows sets (i, j)
 * and (j, i). */
#ifndef MBT_NTXENT_H
#define MBT_NTXENT_H

#include "core/tensor.h"

/* *loss = loss_scale * sum over rows and partners of ce (double; row_loss [V B] doubles of device scratch
 * hold each row's sum first, added in row order). When w is not NULL, w [V B, V B] (row stride V B) is
 * overwritten with dL/dG = grad_scale * sum over partners of (softmax(l) - onehot(r)) at the positions the
 * logits were read from (zero elsewhere): with G = z z^T, dL/dz = (w + w^T) z. */
mbt_status mbt_ntxent_rows(mbt_device device, int views, int B, float tau, const float *g, double loss_scale,
                           float grad_scale, float *w, double *row_loss, double *loss);

#endif
