/* A plain double-precision implementation of W-MSE (methods/wmse.h) for tests/test_wmse.c: the
 * whitening of one group with its backward (the formulas of methods/wmse_whiten.h, written with loops),
 * ssl-sota's pair losses, and the whole loss with its gradient. */
#ifndef MBT_TEST_WMSE_REF_H
#define MBT_TEST_WMSE_REF_H

#include <stdint.h>

typedef struct {
    int views, batch, dim, w_size, w_iter, normalize;
    double eps;
} wmse_shape;

/* y = whiten(x) for x [n, d]; when gy is given, gx = d sum(y * gy) / dx. Returns 0, or the order of the
 * leading minor that is not positive definite. */
int ref_whiten(int n, int d, double eps, const double *x, double *y, const double *gy, double *gx);
/* The loss (and dh [views * batch, dim] when not NULL) for h and perms [w_iter, batch]; 0 or as above. */
int ref_wmse(const wmse_shape *c, const double *h, const int32_t *perms, double *loss, double *dh);

#endif
