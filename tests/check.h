/* A minimal test harness: CHECK macros count failures; each test program returns their count. */
#ifndef MBT_CHECK_H
#define MBT_CHECK_H

#include <stddef.h>
#include <stdio.h>

extern int check_failures;
extern int check_count;

#define CHECK(cond)                                                             \
    do {                                                                        \
        check_count++;                                                          \
        if (!(cond)) {                                                          \
            check_failures++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

#define CHECK_MSG(cond, ...)                                          \
    do {                                                              \
        check_count++;                                                \
        if (!(cond)) {                                                \
            check_failures++;                                         \
            fprintf(stderr, "%s:%d: CHECK failed: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                             \
            fputc('\n', stderr);                                      \
        }                                                             \
    } while (0)

/* Checks that an mbt_status expression is MBT_OK, printing the library's message if not. */
#define CHECK_OK(expr) check_ok_((expr), #expr, __FILE__, __LINE__)
int check_ok_(int status, const char *what, const char *file, int line);

/* |a - b| <= atol + rtol * |b|; prints both values when it fails. */
#define CHECK_CLOSE(a, b, rtol, atol) check_close_((double)(a), (double)(b), (rtol), (atol), #a, __FILE__, __LINE__)
int check_close_(double a, double b, double rtol, double atol, const char *what, const char *file, int line);

/* Largest |a-b| / (atol + rtol*|b|) over n values; <= 1 means all close. Reports the worst index. */
double check_max_violation(const float *a, const double *b, long n, double rtol, double atol, long *worst);

/* ||a - b|| / ||b|| over n floats (||a - b|| when b is all zero; infinity on NaN). */
double check_rel_err(const float *a, const float *b, size_t n);

/* 0 when a CUDA device can run the test; otherwise prints "SKIP <test>: no CUDA device" (or "built
 * without CUDA") and returns 77, the exit status CTest counts as skipped:
 *   int skip = check_cuda_or_skip("test_x"); if (skip) return skip; */
int check_cuda_or_skip(const char *test);

/* Prints a summary line and returns the exit status for main(). */
int check_report(const char *name);

#endif
