/* NT-Xent rows on the CPU: OpenMP over the rows of G, each row written by one thread.
 * One exponential per logit: the own block's exp(l - M) (M its maximum) are taken once per row and
 * rescaled by exp(M - m) for each partner (m that partner's row maximum, >= M), see ops/ntxent.h. */
#include <math.h>

#include "ops/backend_cpu.h"

mbt_status mbt_ntxent_rows_cpu(int views, int B, float tau, const float *g, double loss_scale, float grad_scale,
                               float *w, double *row_loss, double *loss) {
    const int n = views * B;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < n; row++) {
        const int i = row / B, r = row % B, ib = i * B;
        const float *grow = g + (size_t)row * n, *gi = grow + ib;
        float *wrow = w ? w + (size_t)row * n : NULL;
        /* the own block: logits gi / tau, minus 1e9 at the row's own column (ssl-sota's "- big") */
        float M = -INFINITY;
        for (int c = 0; c < B; c++) M = fmaxf(M, gi[c] / tau - (c == r ? 1e9f : 0.0f));
        double s_own = 0.0;
        for (int c = 0; c < B; c++) {
            const float e = expf(gi[c] / tau - (c == r ? 1e9f : 0.0f) - M);
            s_own += e;
            if (wrow) wrow[ib + c] = e;
        }
        double total = 0.0;
        float own_factor = 0.0f; /* sum over partners of exp(M - m) / s: the own block's p = e * own_factor */
        for (int j = 0; j < views; j++) {
            if (j == i) continue;
            const float *gj = grow + j * B;
            float m = M;
            for (int c = 0; c < B; c++) m = fmaxf(m, gj[c] / tau);
            const float scale_own = expf(M - m);
            double s = (double)scale_own * s_own;
            for (int c = 0; c < B; c++) {
                const float e = expf(gj[c] / tau - m);
                s += e;
                if (wrow) wrow[j * B + c] = e;
            }
            total += (double)m + log(s) - (double)(gj[r] / tau);
            if (!wrow) continue;
            const float inv_s = (float)(1.0 / s);
            float *o = wrow + j * B;
            for (int c = 0; c < B; c++) o[c] = grad_scale * (o[c] * inv_s - (c == r ? 1.0f : 0.0f));
            own_factor += scale_own * inv_s;
        }
        if (wrow)
            for (int c = 0; c < B; c++) wrow[ib + c] = grad_scale * (wrow[ib + c] * own_factor);
        row_loss[row] = total;
    }
    double s = 0.0;
    for (int row = 0; row < n; row++) s += row_loss[row];
    *loss = loss_scale * s;
    return MBT_OK;
}
