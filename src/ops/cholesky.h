/* Batched Cholesky factorisation and inverse factor of small symmetric positive definite matrices
 * (W-MSE's whitening), and the exact gradient of A -> W = chol(A)^{-1} as PyTorch autograd gives it for
 * torch.linalg.cholesky followed by torch.linalg.solve_triangular(L, I, upper=False).
 * Row-major [groups, d, d] buffers. CPU: LAPACK's spotrf/strtri from OpenBLAS, OpenMP over the groups;
 * CUDA: cuSOLVER's batched potrf and cuBLAS's batched trsm / strided gemm on the context's stream. */
#ifndef MBT_CHOLESKY_H
#define MBT_CHOLESKY_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* Bytes of device memory mbt_cholesky_inverse needs as workspace for `groups` matrices (CUDA: the
 * batched calls' pointer arrays; the CPU needs none but accepts it). */
size_t mbt_cholesky_workspace_bytes(int groups);

/* For each group g: L_g (lower, zeros above the diagonal) with L_g L_g^T = A_g, reading A_g's lower
 * triangle, and W_g = L_g^{-1} (lower). info [groups] (device memory) gets 0, or k > 0 when the leading
 * minor of order k of A_g is not positive definite (or its factor not finite). The CPU returns
 * MBT_ERR_NUMERIC naming the first such group at once; CUDA queues the work and the caller reads info
 * later and turns it into the error with mbt_cholesky_info_status. */
mbt_status mbt_cholesky_inverse(mbt_device device, int groups, int d, const float *a, float *l, float *w,
                                int32_t *info, void *workspace);

/* MBT_OK when every info_host[g] is 0, else MBT_ERR_NUMERIC naming the first failing group; `what`
 * names the caller (e.g. "w-mse whitening"). */
mbt_status mbt_cholesky_info_status(const char *what, int groups, int d, const int32_t *info_host);

/* Given gw = dLoss/dW for each group, writes ga = dLoss/dA (symmetric):
 *   gL = -tril(W^T gW W^T)                      (solve_triangular's backward for B = I)
 *   X = tril(L^T gL), P = (X + tril(X, -1)^T)/2 (Phi of the lower triangle, diagonal halved, mirrored)
 *   gA = W^T P W                                (L^{-T} P L^{-1}, cholesky's backward)
 * scratch: 2 * groups * d * d floats of device memory. ga overlaps nothing. */
mbt_status mbt_cholesky_inverse_backward(mbt_device device, int groups, int d, const float *l, const float *w,
                                         const float *gw, float *ga, float *scratch);

#endif
