/* Reference batch normalisation (training with batch statistics, evaluation, backward) in double. */
#include <math.h>
#include <stddef.h>

#include "ops/ref.h"

#define AT(s, b, c, p) (((size_t)(b) * (s)->c + (c)) * (s)->hw + (p))

void mbt_ref_batchnorm_forward_train(const mbt_batchnorm_shape *s, const double *x, const double *gamma,
                                     const double *beta, double *y, double *save_mean, double *save_var,
                                     double *running_mean, double *running_var) {
    double count = (double)s->n * s->hw, m = s->momentum, eps = s->eps;
    for (int c = 0; c < s->c; c++) {
        double sum = 0, sq = 0;
        for (int b = 0; b < s->n; b++)
            for (int p = 0; p < s->hw; p++) sum += x[AT(s, b, c, p)];
        double mean = sum / count;
        for (int b = 0; b < s->n; b++)
            for (int p = 0; p < s->hw; p++) {
                double d = x[AT(s, b, c, p)] - mean;
                sq += d * d;
            }
        double var = sq / count, invstd = 1.0 / sqrt(var + eps);
        for (int b = 0; b < s->n; b++)
            for (int p = 0; p < s->hw; p++)
                y[AT(s, b, c, p)] = gamma[c] * (x[AT(s, b, c, p)] - mean) * invstd + beta[c];
        save_mean[c] = mean;
        save_var[c] = var;
        /* PyTorch refuses one value per channel in training; the unbiased variance is then undefined
         * and the biased one (0) is used. */
        double unbiased = count > 1 ? sq / (count - 1) : var;
        if (running_mean) running_mean[c] = (1 - m) * running_mean[c] + m * mean;
        if (running_var) running_var[c] = (1 - m) * running_var[c] + m * unbiased;
    }
}

void mbt_ref_batchnorm_forward_eval(const mbt_batchnorm_shape *s, const double *x, const double *gamma,
                                    const double *beta, const double *running_mean, const double *running_var,
                                    double *y) {
    for (int c = 0; c < s->c; c++) {
        double invstd = 1.0 / sqrt(running_var[c] + (double)s->eps);
        for (int b = 0; b < s->n; b++)
            for (int p = 0; p < s->hw; p++)
                y[AT(s, b, c, p)] = gamma[c] * (x[AT(s, b, c, p)] - running_mean[c]) * invstd + beta[c];
    }
}

/* With xhat = (x - mean) * invstd over the count = n*hw values of a channel:
 * dbeta = sum dy, dgamma = sum dy*xhat, dx = gamma*invstd * (dy - dbeta/count - xhat*dgamma/count). */
void mbt_ref_batchnorm_backward(const mbt_batchnorm_shape *s, const double *x, const double *gamma,
                                const double *save_mean, const double *save_var, const double *dy, double *dx,
                                double *dgamma, double *dbeta) {
    double count = (double)s->n * s->hw;
    for (int c = 0; c < s->c; c++) {
        double invstd = 1.0 / sqrt(save_var[c] + (double)s->eps), sdy = 0, sdyx = 0;
        for (int b = 0; b < s->n; b++)
            for (int p = 0; p < s->hw; p++) {
                size_t k = AT(s, b, c, p);
                sdy += dy[k];
                sdyx += dy[k] * (x[k] - save_mean[c]) * invstd;
            }
        for (int b = 0; b < s->n; b++)
            for (int p = 0; p < s->hw; p++) {
                size_t k = AT(s, b, c, p);
                double xhat = (x[k] - save_mean[c]) * invstd;
                dx[k] = gamma[c] * invstd * (dy[k] - sdy / count - xhat * sdyx / count);
            }
        dgamma[c] += sdyx;
        dbeta[c] += sdy;
    }
}
