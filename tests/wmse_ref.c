/* The double-precision W-MSE of tests/wmse_ref.h: loops, no library. */
#include "wmse_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* c = op(a) op(b) of d x d row-major matrices */
static void mul(int d, int ta, int tb, const double *a, const double *b, double *c) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += (ta ? a[k * d + i] : a[i * d + k]) * (tb ? b[j * d + k] : b[k * d + j]);
            c[i * d + j] = s;
        }
}

static int cholesky(int d, const double *s, double *l) {
    memset(l, 0, sizeof(double) * d * d);
    for (int j = 0; j < d; j++) {
        double v = s[j * d + j];
        for (int k = 0; k < j; k++) v -= l[j * d + k] * l[j * d + k];
        if (!(v > 0)) return j + 1;
        l[j * d + j] = sqrt(v);
        for (int i = j + 1; i < d; i++) {
            double u = s[i * d + j];
            for (int k = 0; k < j; k++) u -= l[i * d + k] * l[j * d + k];
            l[i * d + j] = u / l[j * d + j];
        }
    }
    return 0;
}

static void inverse_lower(int d, const double *l, double *w) {
    memset(w, 0, sizeof(double) * d * d);
    for (int c = 0; c < d; c++)
        for (int i = c; i < d; i++) {
            double v = i == c ? 1.0 : 0.0;
            for (int k = c; k < i; k++) v -= l[i * d + k] * w[k * d + c];
            w[i * d + c] = v / l[i * d + i];
        }
}

int ref_whiten(int n, int d, double eps, const double *x, double *y, const double *gy, double *gx) {
    double *xc = malloc(sizeof(double) * n * d), *m = calloc(d, sizeof(double));
    double *s = malloc(sizeof(double) * d * d * 8), *l = s + d * d, *w = l + d * d, *gw = w + d * d;
    double *t1 = gw + d * d, *t2 = t1 + d * d, *gs = t2 + d * d;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) m[j] += x[r * d + j] / n;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) xc[r * d + j] = x[r * d + j] - m[j];
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double v = 0;
            for (int r = 0; r < n; r++) v += xc[r * d + i] * xc[r * d + j];
            s[i * d + j] = (1 - eps) * v / (n - 1) + (i == j ? eps : 0);
        }
    int info = cholesky(d, s, l);
    if (info == 0) {
        inverse_lower(d, l, w);
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++) {
                double v = 0;
                for (int k = 0; k < d; k++) v += w[i * d + k] * xc[r * d + k];
                y[r * d + i] = v;
            }
    }
    if (info == 0 && gy) {
        for (int i = 0; i < d; i++) /* gW = gy^T xc */
            for (int j = 0; j < d; j++) {
                double v = 0;
                for (int r = 0; r < n; r++) v += gy[r * d + i] * xc[r * d + j];
                gw[i * d + j] = v;
            }
        mul(d, 0, 1, gw, w, t1);
        mul(d, 1, 0, w, t1, t2); /* W^T gW W^T */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) t2[i * d + j] = j <= i ? -t2[i * d + j] : 0; /* gL */
        mul(d, 1, 0, l, t2, t1);                                                   /* L^T gL */
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) t1[i * d + j] = t1[j * d + i] = 0.5 * t1[i * d + j]; /* P */
        mul(d, 0, 0, t1, w, t2);
        mul(d, 1, 0, w, t2, gs); /* W^T P W */
        memset(m, 0, sizeof(double) * d);
        for (int r = 0; r < n; r++)
            for (int j = 0; j < d; j++) {
                double v = 0;
                for (int k = 0; k < d; k++)
                    v += gy[r * d + k] * w[k * d + j] + 2 * (1 - eps) / (n - 1) * xc[r * d + k] * gs[k * d + j];
                gx[r * d + j] = v;
                m[j] += v / n;
            }
        for (int r = 0; r < n; r++)
            for (int j = 0; j < d; j++) gx[r * d + j] -= m[j];
    }
    free(xc), free(m), free(s);
    return info;
}

/* ssl-sota's pair loss of rows a, b [n, d] and, when ga is given, weight * its gradients added to ga, gb. */
static double pair(int normalize, int n, int d, const double *a, const double *b, double weight, double *ga,
                   double *gb) {
    double total = 0;
    for (int r = 0; r < n; r++) {
        const double *p = a + r * d, *q = b + r * d;
        if (!normalize) {
            for (int j = 0; j < d; j++) {
                total += (p[j] - q[j]) * (p[j] - q[j]) / ((double)n * d);
                if (ga) ga[r * d + j] += weight * 2 * (p[j] - q[j]) / ((double)n * d);
                if (gb) gb[r * d + j] -= weight * 2 * (p[j] - q[j]) / ((double)n * d);
            }
            continue;
        }
        double na = 0, nb = 0, dot = 0;
        for (int j = 0; j < d; j++) na += p[j] * p[j], nb += q[j] * q[j], dot += p[j] * q[j];
        na = fmax(sqrt(na), 1e-12), nb = fmax(sqrt(nb), 1e-12);
        const double c = dot / (na * nb);
        total += 2.0 / n - 2 * c / n;
        for (int j = 0; j < d && ga; j++) {
            ga[r * d + j] += weight * -2.0 / n * (q[j] / nb - c * p[j] / na) / na;
            gb[r * d + j] += weight * -2.0 / n * (p[j] / na - c * q[j] / nb) / nb;
        }
    }
    return total;
}

int ref_wmse(const wmse_shape *c, const double *h, const int32_t *perms, double *loss, double *dh) {
    const int V = c->views, B = c->batch, d = c->dim, n = c->w_size;
    const size_t all = (size_t)V * B * d;
    double *z = malloc(sizeof(double) * all), *gz = calloc(all, sizeof(double));
    double *xg = malloc(sizeof(double) * n * d * 4), *yg = xg + n * d, *gg = yg + n * d, *gx = gg + n * d;
    const double weight = 1.0 / (c->w_iter * (V * (V - 1) / 2.0));
    double total = 0;
    int info = 0;
    if (dh) memset(dh, 0, sizeof(double) * all);
    for (int it = 0; it < c->w_iter && !info; it++) {
        const int32_t *perm = perms + (size_t)it * B;
        for (int g = 0; g < B / n && !info; g++)
            for (int v = 0; v < V && !info; v++) {
                for (int r = 0; r < n; r++)
                    memcpy(xg + r * d, h + ((size_t)v * B + perm[g * n + r]) * d, sizeof(double) * d);
                info = ref_whiten(n, d, c->eps, xg, yg, NULL, NULL);
                for (int r = 0; r < n; r++)
                    memcpy(z + ((size_t)v * B + perm[g * n + r]) * d, yg + r * d, sizeof(double) * d);
            }
        if (info) break;
        memset(gz, 0, sizeof(double) * all);
        for (int i = 0; i < V - 1; i++)
            for (int j = i + 1; j < V; j++)
                total += weight * pair(c->normalize, B, d, z + (size_t)i * B * d, z + (size_t)j * B * d, weight,
                                       dh ? gz + (size_t)i * B * d : NULL, dh ? gz + (size_t)j * B * d : NULL);
        for (int g = 0; dh && g < B / n; g++)
            for (int v = 0; v < V; v++) {
                for (int r = 0; r < n; r++) {
                    const size_t at = ((size_t)v * B + perm[g * n + r]) * d;
                    memcpy(xg + r * d, h + at, sizeof(double) * d);
                    memcpy(gg + r * d, gz + at, sizeof(double) * d);
                }
                ref_whiten(n, d, c->eps, xg, yg, gg, gx);
                for (int r = 0; r < n; r++)
                    for (int j = 0; j < d; j++) dh[((size_t)v * B + perm[g * n + r]) * d + j] += gx[r * d + j];
            }
    }
    *loss = total;
    free(z), free(gz), free(xg);
    return info;
}
