/* The test harness's counters and comparisons. */
#include "check.h"

#include <math.h>

#include "core/status.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

int check_failures = 0;
int check_count = 0;

int check_ok_(int status, const char *what, const char *file, int line) {
    check_count++;
    if (status == MBT_OK) return 1;
    check_failures++;
    fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", file, line, what, mbt_error_message(),
            mbt_status_name((mbt_status)status));
    return 0;
}

int check_close_(double a, double b, double rtol, double atol, const char *what, const char *file, int line) {
    check_count++;
    if (fabs(a - b) <= atol + rtol * fabs(b) && !isnan(a) && !isnan(b)) return 1;
    check_failures++;
    fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (rtol %g, atol %g)\n", file, line, what, a, b, rtol, atol);
    return 0;
}

double check_max_violation(const float *a, const double *b, long n, double rtol, double atol, long *worst) {
    double max = 0;
    long at = 0;
    for (long i = 0; i < n; i++) {
        double v = fabs((double)a[i] - b[i]) / (atol + rtol * fabs(b[i]));
        if (isnan(v) || v > max) {
            max = isnan(v) ? INFINITY : v;
            at = i;
        }
    }
    if (worst) *worst = at;
    return max;
}

int check_cuda_or_skip(const char *test) {
#ifdef MIXBT_HAVE_CUDA
    if (mbt_cuda_device_count() > 0) return 0;
    printf("SKIP %s: no CUDA device\n", test);
#else
    printf("SKIP %s: built without CUDA\n", test);
#endif
    return 77;
}

int check_report(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

double check_rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    if (isnan(num)) return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}
