/* Thread-count control and the monotonic clock. */
#include "core/runtime.h"

#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void openblas_set_num_threads(int n); /* from OpenBLAS; declared here to avoid a cblas.h dependency */

static int mbt_threads = 1;

void mbt_set_threads(int n) {
    if (n < 1) n = 1;
    mbt_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}

double mbt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
