/* Reference element-wise operations in double: ReLU and addition. */
#include "ops/ref.h"

void mbt_ref_relu_forward(long n, const double *x, double *y) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0;
}

void mbt_ref_relu_backward(long n, const double *y, const double *dy, double *dx) {
    for (long i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0.0;
}

void mbt_ref_add_forward(long n, const double *a, const double *b, double *y) {
    for (long i = 0; i < n; i++) y[i] = a[i] + b[i];
}
