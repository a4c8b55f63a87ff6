/* Cross-correlation loss parts: dispatch to the backend of the device. */
#include "ops/xcorr.h"

#include "ops/dispatch.h"

mbt_status mbt_xcorr_diagonal(mbt_device device, int B, int d, const float *x, const float *y, double *acc,
                              float *diag, double *on, double *sq) {
    MBT_DISPATCH("cross-correlation diagonal", device, mbt_xcorr_diagonal_cpu(B, d, x, y, acc, diag, on, sq),
                 mbt_xcorr_diagonal_cuda(B, d, x, y, acc, diag, on, sq));
}

mbt_status mbt_xcorr_diag_grad(mbt_device device, int B, int d, float lambda, const float *diag, const float *x,
                               const float *y, float *gx, float *gy) {
    MBT_DISPATCH("cross-correlation diagonal gradient", device,
                 mbt_xcorr_diag_grad_cpu(B, d, lambda, diag, x, y, gx, gy),
                 mbt_xcorr_diag_grad_cuda(B, d, lambda, diag, x, y, gx, gy));
}

mbt_status mbt_xcorr_cov_terms(mbt_device device, int d, const float *c, double *on, double *off) {
    MBT_DISPATCH("cross-correlation sums", device, mbt_xcorr_cov_terms_cpu(d, c, on, off),
                 mbt_xcorr_cov_terms_cuda(d, c, on, off));
}

mbt_status mbt_xcorr_cov_grad(mbt_device device, int d, float lambda2, float *c) {
    MBT_DISPATCH("cross-correlation gradient", device, mbt_xcorr_cov_grad_cpu(d, lambda2, c),
                 mbt_xcorr_cov_grad_cuda(d, lambda2, c));
}

int mbt_xcorr_cov_order_proven(mbt_device device) { return device == MBT_DEVICE_CPU; }
