/* Reference 2-D convolution (cross-correlation, zero padding, no bias) in double, NCHW / OIHW. */
#include <stddef.h>
#include <string.h>

#include "ops/ref.h"

/* Index of x[b][c][i][j] and of w[o][c][ki][kj]. */
#define X_AT(s, b, c, i, j) ((((size_t)(b) * (s)->c_in + (c)) * (s)->h + (i)) * (s)->w + (j))
#define W_AT(s, o, c, ki, kj) ((((size_t)(o) * (s)->c_in + (c)) * (s)->kernel + (ki)) * (s)->kernel + (kj))

void mbt_ref_conv2d_forward(const mbt_conv2d_shape *s, const double *x, const double *w, double *y) {
    int ho = mbt_conv2d_h_out(s), wo = mbt_conv2d_w_out(s), k = s->kernel;
    for (int b = 0; b < s->n; b++)
        for (int o = 0; o < s->c_out; o++)
            for (int oi = 0; oi < ho; oi++)
                for (int oj = 0; oj < wo; oj++) {
                    double acc = 0;
                    for (int c = 0; c < s->c_in; c++)
                        for (int ki = 0; ki < k; ki++) {
                            int i = oi * s->stride - s->pad + ki;
                            if (i < 0 || i >= s->h) continue;
                            for (int kj = 0; kj < k; kj++) {
                                int j = oj * s->stride - s->pad + kj;
                                if (j < 0 || j >= s->w) continue;
                                acc += x[X_AT(s, b, c, i, j)] * w[W_AT(s, o, c, ki, kj)];
                            }
                        }
                    y[(((size_t)b * s->c_out + o) * ho + oi) * wo + oj] = acc;
                }
}

void mbt_ref_conv2d_backward(const mbt_conv2d_shape *s, const double *x, const double *w, const double *dy,
                             double *dx, double *dw) {
    int ho = mbt_conv2d_h_out(s), wo = mbt_conv2d_w_out(s), k = s->kernel;
    if (dx) memset(dx, 0, (size_t)s->n * s->c_in * s->h * s->w * sizeof(double));
    for (int b = 0; b < s->n; b++)
        for (int o = 0; o < s->c_out; o++)
            for (int oi = 0; oi < ho; oi++)
                for (int oj = 0; oj < wo; oj++) {
                    double g = dy[(((size_t)b * s->c_out + o) * ho + oi) * wo + oj];
                    for (int c = 0; c < s->c_in; c++)
                        for (int ki = 0; ki < k; ki++) {
                            int i = oi * s->stride - s->pad + ki;
                            if (i < 0 || i >= s->h) continue;
                            for (int kj = 0; kj < k; kj++) {
                                int j = oj * s->stride - s->pad + kj;
                                if (j < 0 || j >= s->w) continue;
                                if (dx) dx[X_AT(s, b, c, i, j)] += g * w[W_AT(s, o, c, ki, kj)];
                                if (dw) dw[W_AT(s, o, c, ki, kj)] += g * x[X_AT(s, b, c, i, j)];
                            }
                        }
                }
}
