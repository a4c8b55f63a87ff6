/* Measures this machine's practical fp32 peak with a large OpenBLAS SGEMM (GFLOP/s, median of runs).
 * Usage: sgemm_peak [--threads 2] [--n 4096] [--reps 5] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threads = 2, n = 4096, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--n")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    }
    mbt_set_threads(threads);
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float)),
          *c = malloc((size_t)n * n * sizeof(float));
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    double t[32];
    if (reps > 32) reps = 32;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = mbt_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t[r] = mbt_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("RESULT {\"impl\": \"openblas_sgemm\", \"n\": %d, \"threads\": %d, \"gflops_median\": %.1f, \"gflops_best\": %.1f}\n",
           n, threads, 2.0 * n * n * (double)n / t[reps / 2] / 1e9, 2.0 * n * n * (double)n / t[0] / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
