/* Reference NT-Xent rows in double (ops/ntxent.h's contract, written plainly). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "ops/ref.h"

void mbt_ref_ntxent_rows(int views, int B, double tau, const double *g, double loss_scale, double grad_scale,
                         double *w, double *loss) {
    const int n = views * B;
    double total = 0.0, *l = malloc(2 * (size_t)B * sizeof(double)); /* [partner block, own block] */
    if (!l) {
        *loss = NAN;
        return;
    }
    if (w)
        for (size_t k = 0; k < (size_t)n * n; k++) w[k] = 0.0;
    for (int row = 0; row < n; row++) {
        const int i = row / B, r = row % B;
        const double *gr = g + (size_t)row * n;
        for (int j = 0; j < views; j++) {
            if (j == i) continue;
            double m = -INFINITY, s = 0.0;
            for (int c = 0; c < B; c++) {
                l[c] = gr[j * B + c] / tau;
                l[B + c] = gr[i * B + c] / tau - (c == r ? 1e9 : 0.0);
            }
            for (int c = 0; c < 2 * B; c++) m = fmax(m, l[c]);
            for (int c = 0; c < 2 * B; c++) s += exp(l[c] - m);
            total += m + log(s) - l[r];
            if (!w) continue;
            for (int c = 0; c < B; c++) {
                w[(size_t)row * n + j * B + c] += grad_scale * (exp(l[c] - m) / s - (c == r));
                w[(size_t)row * n + i * B + c] += grad_scale * exp(l[B + c] - m) / s;
            }
        }
    }
    free(l);
    *loss = loss_scale * total;
}
