/* Reference fully connected layer (y = x W^T + b) and row-wise L2 normalisation in double. */
#include <math.h>
#include <stddef.h>

#include "ops/ref.h"

#define L2_EPS 1e-12 /* F.normalize's default eps */

void mbt_ref_linear_forward(int n, int in, int out, const double *x, const double *w, const double *b, double *y) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double acc = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++) acc += x[(size_t)i * in + k] * w[(size_t)o * in + k];
            y[(size_t)i * out + o] = acc;
        }
}

void mbt_ref_linear_backward(int n, int in, int out, const double *x, const double *w, const double *dy,
                             double *dx, double *dw, double *db) {
    if (dx)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < in; k++) {
                double acc = 0;
                for (int o = 0; o < out; o++) acc += dy[(size_t)i * out + o] * w[(size_t)o * in + k];
                dx[(size_t)i * in + k] = acc;
            }
    if (dw)
        for (int o = 0; o < out; o++)
            for (int k = 0; k < in; k++) {
                double acc = 0;
                for (int i = 0; i < n; i++) acc += dy[(size_t)i * out + o] * x[(size_t)i * in + k];
                dw[(size_t)o * in + k] += acc;
            }
    if (db)
        for (int o = 0; o < out; o++) {
            double acc = 0;
            for (int i = 0; i < n; i++) acc += dy[(size_t)i * out + o];
            db[o] += acc;
        }
}

static double row_norm(int d, const double *x) {
    double sq = 0;
    for (int j = 0; j < d; j++) sq += x[j] * x[j];
    return sqrt(sq);
}

void mbt_ref_l2norm_forward(int n, int d, const double *x, double *y) {
    for (int i = 0; i < n; i++) {
        double denom = fmax(row_norm(d, x + (size_t)i * d), L2_EPS);
        for (int j = 0; j < d; j++) y[(size_t)i * d + j] = x[(size_t)i * d + j] / denom;
    }
}

/* Above the clamp (norm >= eps, where torch's clamp_min passes the gradient):
 * dx = dy / r - x (x.dy) / r^3. Below it the denominator is the constant eps: dx = dy / eps. */
void mbt_ref_l2norm_backward(int n, int d, const double *x, const double *dy, double *dx) {
    for (int i = 0; i < n; i++) {
        const double *xr = x + (size_t)i * d, *gr = dy + (size_t)i * d;
        double *dr = dx + (size_t)i * d, r = row_norm(d, xr);
        if (r >= L2_EPS) {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += xr[j] * gr[j];
            for (int j = 0; j < d; j++) dr[j] = gr[j] / r - xr[j] * dot / (r * r * r);
        } else {
            for (int j = 0; j < d; j++) dr[j] = gr[j] / L2_EPS;
        }
    }
}
