/* Reference max pooling (padding never wins, first maximum on ties) and global average pooling. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ops/ref.h"

/* Flat index into the plane of x of the maximum of output (oi, oj), or -1 if the window holds only
 * padding. Like PyTorch's CPU kernel, a NaN wins (and a later NaN replaces an earlier one). */
static long window_argmax(const mbt_pool_shape *s, const double *plane, int oi, int oj) {
    long best = -1;
    double bv = -INFINITY;
    for (int ki = 0; ki < s->kernel; ki++) {
        int i = oi * s->stride - s->pad + ki;
        if (i < 0 || i >= s->h) continue;
        for (int kj = 0; kj < s->kernel; kj++) {
            int j = oj * s->stride - s->pad + kj;
            if (j < 0 || j >= s->w) continue;
            double v = plane[(size_t)i * s->w + j];
            if (v > bv || isnan(v) || best < 0) {
                bv = v;
                best = (long)i * s->w + j;
            }
        }
    }
    return best;
}

void mbt_ref_maxpool_forward(const mbt_pool_shape *s, const double *x, double *y) {
    int ho = mbt_pool_h_out(s), wo = mbt_pool_w_out(s);
    for (long pl = 0; pl < (long)s->n * s->c; pl++) {
        const double *plane = x + (size_t)pl * s->h * s->w;
        for (int oi = 0; oi < ho; oi++)
            for (int oj = 0; oj < wo; oj++) {
                long a = window_argmax(s, plane, oi, oj);
                y[((size_t)pl * ho + oi) * wo + oj] = a < 0 ? -INFINITY : plane[a];
            }
    }
}

void mbt_ref_maxpool_backward(const mbt_pool_shape *s, const double *x, const double *dy, double *dx) {
    int ho = mbt_pool_h_out(s), wo = mbt_pool_w_out(s);
    memset(dx, 0, (size_t)s->n * s->c * s->h * s->w * sizeof(double));
    for (long pl = 0; pl < (long)s->n * s->c; pl++) {
        const double *plane = x + (size_t)pl * s->h * s->w;
        for (int oi = 0; oi < ho; oi++)
            for (int oj = 0; oj < wo; oj++) {
                long a = window_argmax(s, plane, oi, oj);
                if (a >= 0) dx[(size_t)pl * s->h * s->w + a] += dy[((size_t)pl * ho + oi) * wo + oj];
            }
    }
}

void mbt_ref_avgpool_forward(int n, int c, int hw, const double *x, double *y) {
    for (long pl = 0; pl < (long)n * c; pl++) {
        double sum = 0;
        for (int p = 0; p < hw; p++) sum += x[(size_t)pl * hw + p];
        y[pl] = sum / hw;
    }
}

void mbt_ref_avgpool_backward(int n, int c, int hw, const double *dy, double *dx) {
    for (long pl = 0; pl < (long)n * c; pl++)
        for (int p = 0; p < hw; p++) dx[(size_t)pl * hw + p] = dy[pl] / hw;
}
