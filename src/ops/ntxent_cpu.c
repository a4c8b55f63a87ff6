/* NT-Xent rows on the CPU: OpenMP over the rows of G, each row written by one thread. */
#include <math.h>

#include "ops/backend_cpu.h"

/* The logit at column c of the partner block (own = 0) or the own block (own = 1) of a row. */
static inline float logit(const float *grow, int jb, int ib, int r, int c, int own, float tau) {
    return own ? (c == r ? grow[ib + c] / tau - 1e9f : grow[ib + c] / tau) : grow[jb + c] / tau;
}

mbt_status mbt_ntxent_rows_cpu(int views, int B, float tau, const float *g, double loss_scale, float grad_scale,
                               float *w, double *row_loss, double *loss) {
    const int n = views * B;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < n; row++) {
        const int i = row / B, r = row % B, ib = i * B;
        const float *grow = g + (size_t)row * n;
        float *wrow = w ? w + (size_t)row * n : NULL;
        if (wrow)
            for (int c = 0; c < n; c++) wrow[c] = 0.0f;
        double total = 0.0;
        for (int j = 0; j < views; j++) {
            if (j == i) continue;
            const int jb = j * B;
            float m = -INFINITY;
            for (int own = 0; own < 2; own++)
                for (int c = 0; c < B; c++) m = fmaxf(m, logit(grow, jb, ib, r, c, own, tau));
            double s = 0.0;
            for (int own = 0; own < 2; own++)
                for (int c = 0; c < B; c++) s += (double)expf(logit(grow, jb, ib, r, c, own, tau) - m);
            total += (double)m + log(s) - (double)logit(grow, jb, ib, r, r, 0, tau);
            if (!wrow) continue;
            const float inv_s = (float)(1.0 / s);
            for (int own = 0; own < 2; own++) {
                float *o = wrow + (own ? ib : jb);
                for (int c = 0; c < B; c++) {
                    const float p = expf(logit(grow, jb, ib, r, c, own, tau) - m) * inv_s;
                    o[c] += grad_scale * (own || c != r ? p : p - 1.0f);
                }
            }
        }
        row_loss[row] = total;
    }
    double s = 0.0;
    for (int row = 0; row < n; row++) s += row_loss[row];
    *loss = loss_scale * s;
    return MBT_OK;
}
