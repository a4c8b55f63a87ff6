/* The double-precision reference ops (src/ops/ref.h) on tiny cases whose results are worked out by
 * hand in the comments (or, for batch norm, recomputed here from the textbook formulas): conv2d is a
 * cross-correlation (not a flipped convolution) with zero padding, OIHW weights, strides; identity
 * 1x1 conv; max pooling's padding never wins, ties go to the first maximum in row-major window
 * order, gradients of overlapping windows add up, NaN propagates; batch norm's output has the shift
 * as mean and gamma^2 var/(var+eps) as biased variance per channel, NCHW channel indexing, running
 * statistics with the unbiased variance, evaluation formula; linear with and without bias; global
 * average pooling; L2 normalisation incl. a zero row and a row below the clamp; ReLU; add.
 * The PyTorch comparison of the same ops lives in test_ops_ref_torch.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "ops/ref.h"

#define TOL 1e-12

/* got[0..n) == want[0..n) to TOL relative to max(1, |want|). */
static void expect_vec(const char *what, const double *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        if (!(e <= TOL * fmax(1.0, fabs(want[i])))) {
            CHECK_MSG(0, "%s[%zu] = %.17g, expected %.17g", what, i, got[i], want[i]);
            return;
        }
    }
    CHECK(1);
}

/* ---- conv2d ------------------------------------------------------------------------------------ */

/* x = [[1,2,3],[4,5,6],[7,8,9]], 3x3 kernel with only w[0][0] = 1 and w[2][2] = 10, pad 1:
 * y[i][j] = x[i-1][j-1] + 10 x[i+1][j+1] (zero outside). A flipped (true) convolution would swap
 * the two taps. */
static void test_conv_hand(void) {
    const double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const double w[9] = {1, 0, 0, 0, 0, 0, 0, 0, 10};
    mbt_conv2d_shape s = {1, 1, 3, 3, 1, 3, 1, 1};
    CHECK(mbt_conv2d_h_out(&s) == 3 && mbt_conv2d_w_out(&s) == 3);
    double y[9];
    mbt_ref_conv2d_forward(&s, x, w, y);
    const double want[9] = {50, 60, 0, 80, 91, 2, 0, 4, 5};
    expect_vec("conv 3x3 pad 1 y", y, want, 9);

    /* stride 2 keeps outputs (0,0), (0,2), (2,0), (2,2) of the above */
    mbt_conv2d_shape s2 = {1, 1, 3, 3, 1, 3, 2, 1};
    CHECK(mbt_conv2d_h_out(&s2) == 2 && mbt_conv2d_w_out(&s2) == 2);
    double y2[4];
    mbt_ref_conv2d_forward(&s2, x, w, y2);
    const double want2[4] = {50, 0, 0, 5};
    expect_vec("conv 3x3 stride 2 pad 1 y", y2, want2, 4);

    /* Backward with dy = 1 everywhere (stride 1): x[i][j] feeds y[i+1][j+1] through w[0][0] and
     * y[i-1][j-1] through w[2][2]; dw[ki][kj] = sum of x over the window shifted by (ki-1, kj-1). */
    double dy[9], dx[9], dw[9];
    for (int i = 0; i < 9; i++) dy[i] = 1, dx[i] = 7.0, dw[i] = 1.0; /* dx overwritten, dw accumulated */
    mbt_ref_conv2d_backward(&s, x, w, dy, dx, dw);
    const double want_dx[9] = {1, 1, 0, 1, 11, 10, 0, 10, 10};
    /* dw: [0][0] 1+2+4+5, [0][1] 1..6, [0][2] 2+3+5+6, [1][0] 1+2+4+5+7+8, [1][1] 45, ... plus the 1 */
    const double want_dw[9] = {13, 22, 17, 28, 46, 34, 25, 40, 29};
    expect_vec("conv 3x3 pad 1 dx", dx, want_dx, 9);
    expect_vec("conv 3x3 pad 1 dw (+= onto 1)", dw, want_dw, 9);
}

/* 1x1 convolutions: the weight is a c_out x c_in matrix applied at every pixel. */
static void test_conv_1x1(void) {
    mbt_rng rng;
    mbt_rng_init(&rng, 3, 0);
    enum { N = 2, C = 3, H = 5, W = 7 };
    double x[N * C * H * W], y[N * C * H * W];
    for (int i = 0; i < N * C * H * W; i++) x[i] = mbt_rng_uniform_double(&rng) - 0.5;
    const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    mbt_conv2d_shape s = {N, C, H, W, C, 1, 1, 0};
    mbt_ref_conv2d_forward(&s, x, eye, y);
    expect_vec("identity 1x1 conv", y, x, (size_t)N * C * H * W);

    /* stride 2 on 5x7 samples pixels (2i, 2j) into 3x4 */
    mbt_conv2d_shape s2 = {N, C, H, W, C, 1, 2, 0};
    CHECK(mbt_conv2d_h_out(&s2) == 3 && mbt_conv2d_w_out(&s2) == 4);
    double y2[N * C * 3 * 4], want2[N * C * 3 * 4];
    for (int p = 0; p < N * C; p++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) want2[(p * 3 + i) * 4 + j] = x[(p * H + 2 * i) * W + 2 * j];
    mbt_ref_conv2d_forward(&s2, x, eye, y2);
    expect_vec("identity 1x1 conv stride 2", y2, want2, (size_t)N * C * 12);

    /* OIHW order: w[o][c] with c_in 2 -> c_out 3, y0 = 2 x0 - x1, y1 = 0.5 x0 + 3 x1, y2 = -x0 */
    const double w[6] = {2, -1, 0.5, 3, -1, 0};
    mbt_conv2d_shape s3 = {N, 2, H, W, 3, 1, 1, 0};
    double y3[N * 3 * H * W], want3[N * 3 * H * W];
    for (int b = 0; b < N; b++)
        for (int p = 0; p < H * W; p++) {
            double x0 = x[(b * 2 + 0) * H * W + p], x1 = x[(b * 2 + 1) * H * W + p];
            want3[(b * 3 + 0) * H * W + p] = 2 * x0 - x1;
            want3[(b * 3 + 1) * H * W + p] = 0.5 * x0 + 3 * x1;
            want3[(b * 3 + 2) * H * W + p] = -x0;
        }
    mbt_ref_conv2d_forward(&s3, x, w, y3);
    expect_vec("1x1 conv 2 -> 3 channels (OIHW)", y3, want3, (size_t)N * 3 * H * W);
}

/* ---- pooling ----------------------------------------------------------------------------------- */

static void test_maxpool_hand(void) {
    /* All negative, 3x3/2/1 on 3x3: zero padding would win every window; it must not. */
    const double x[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    mbt_pool_shape s = {1, 1, 3, 3, 3, 2, 1};
    CHECK(mbt_pool_h_out(&s) == 2 && mbt_pool_w_out(&s) == 2);
    double y[4], dx[9];
    mbt_ref_maxpool_forward(&s, x, y);
    const double want[4] = {-1, -2, -4, -5};
    expect_vec("maxpool all-negative y", y, want, 4);
    const double dy[4] = {1, 2, 3, 4};
    for (int i = 0; i < 9; i++) dx[i] = 7.0;
    mbt_ref_maxpool_backward(&s, x, dy, dx);
    const double want_dx[9] = {1, 2, 0, 3, 4, 0, 0, 0, 0};
    expect_vec("maxpool all-negative dx", dx, want_dx, 9);

    /* The centre is the maximum of all four overlapping windows: its gradient is their sum. */
    const double xc[9] = {1, 2, 3, 4, 10, 6, 7, 8, 9};
    mbt_ref_maxpool_forward(&s, xc, y);
    const double want_c[4] = {10, 10, 10, 10};
    expect_vec("maxpool shared max y", y, want_c, 4);
    mbt_ref_maxpool_backward(&s, xc, dy, dx);
    const double want_dxc[9] = {0, 0, 0, 0, 10, 0, 0, 0, 0};
    expect_vec("maxpool shared max dx", dx, want_dxc, 9);

    /* Ties: [[1,3],[3,2]] 2x2/1/0: row-major window order meets (0,1) before (1,0). */
    const double xt[4] = {1, 3, 3, 2};
    mbt_pool_shape st = {1, 1, 2, 2, 2, 1, 0};
    double yt, dyt = 5, dxt[4];
    mbt_ref_maxpool_forward(&st, xt, &yt);
    CHECK_CLOSE(yt, 3, 0, 0);
    mbt_ref_maxpool_backward(&st, xt, &dyt, dxt);
    const double want_dxt[4] = {0, 5, 0, 0};
    expect_vec("maxpool tie dx", dxt, want_dxt, 4);
    /* all equal: the first element of the window */
    const double xe[4] = {2, 2, 2, 2};
    mbt_ref_maxpool_backward(&st, xe, &dyt, dxt);
    const double want_dxe[4] = {5, 0, 0, 0};
    expect_vec("maxpool all-equal dx", dxt, want_dxe, 4);

    /* NaN propagates (as PyTorch's max_pool2d). */
    const double xn[4] = {1, NAN, 3, 2};
    mbt_ref_maxpool_forward(&st, xn, &yt);
    CHECK(isnan(yt));

    /* two planes (n = 1, c = 2) are pooled separately */
    const double x2[8] = {1, 4, 2, 3, -1, -5, -2, -3};
    mbt_pool_shape s2 = {1, 2, 2, 2, 2, 2, 0};
    double y2[2];
    mbt_ref_maxpool_forward(&s2, x2, y2);
    const double want2[2] = {4, -1};
    expect_vec("maxpool per plane", y2, want2, 2);
}

static void test_avgpool_hand(void) {
    const double x[8] = {1, 2, 3, 4, -1, -1, 5, 5};
    double y[2], dx[8];
    mbt_ref_avgpool_forward(1, 2, 4, x, y);
    const double want[2] = {2.5, 2};
    expect_vec("avgpool y", y, want, 2);
    const double dy[2] = {4, 8};
    mbt_ref_avgpool_backward(1, 2, 4, dy, dx);
    const double want_dx[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    expect_vec("avgpool dx", dx, want_dx, 8);
}

/* ---- batch norm -------------------------------------------------------------------------------- */

/* x [n=2, c=2, hw=2]: channel 0 holds 1,2 (sample 0) and 3,4 (sample 1): mean 2.5, biased var 1.25,
 * unbiased 5/3; channel 1 holds 10,10 and 10,14: mean 11, biased var 3, unbiased 4. */
static void test_batchnorm_hand(void) {
    const double x[8] = {1, 2, 10, 10, 3, 4, 10, 14};
    const double gamma[2] = {2, -1}, beta[2] = {3, 0.5};
    mbt_batchnorm_shape s = {2, 2, 2, 1e-5f, 0.1f};
    double eps = (double)s.eps, m = (double)s.momentum; /* as the shape stores them (float) */
    double y[8], mean[2], var[2], rm[2] = {0.5, -1}, rv[2] = {2, 1};
    mbt_ref_batchnorm_forward_train(&s, x, gamma, beta, y, mean, var, rm, rv);
    const double want_mean[2] = {2.5, 11}, want_var[2] = {1.25, 3};
    expect_vec("bn save_mean", mean, want_mean, 2);
    expect_vec("bn save_var (biased)", var, want_var, 2);
    const double want_rm[2] = {(1 - m) * 0.5 + m * 2.5, (1 - m) * -1 + m * 11};
    const double want_rv[2] = {(1 - m) * 2 + m * 5.0 / 3.0, (1 - m) * 1 + m * 4};
    expect_vec("bn running_mean", rm, want_rm, 2);
    expect_vec("bn running_var (unbiased)", rv, want_rv, 2);
    double want_y[8];
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++)
            for (int p = 0; p < 2; p++) {
                int k = (b * 2 + c) * 2 + p;
                want_y[k] = gamma[c] * (x[k] - want_mean[c]) / sqrt(want_var[c] + eps) + beta[c];
            }
    expect_vec("bn y", y, want_y, 8);

    /* NULL running statistics are allowed */
    double y2[8];
    mbt_ref_batchnorm_forward_train(&s, x, gamma, beta, y2, mean, var, NULL, NULL);
    expect_vec("bn y without running stats", y2, want_y, 8);

    /* evaluation: eps = 1 and running_var = 3 make the denominator exactly 2 */
    mbt_batchnorm_shape se = {2, 2, 2, 1.0f, 0.1f};
    const double erm[2] = {1, -2}, erv[2] = {3, 15};
    double ye[8], want_e[8];
    mbt_ref_batchnorm_forward_eval(&se, x, gamma, beta, erm, erv, ye);
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++)
            for (int p = 0; p < 2; p++) {
                int k = (b * 2 + c) * 2 + p;
                want_e[k] = gamma[c] * (x[k] - erm[c]) / (c == 0 ? 2.0 : 4.0) + beta[c];
            }
    expect_vec("bn eval y", ye, want_e, 8);
}

/* Random [n, c, hw]: per channel the output has mean beta and biased variance
 * gamma^2 var / (var + eps), with mean and var recomputed here in long double. */
static void test_batchnorm_stats(int n, int ch, int hw) {
    mbt_rng rng;
    mbt_rng_init(&rng, 5, (uint64_t)hw);
    size_t nx = (size_t)n * ch * hw;
    double *x = malloc(nx * sizeof(double)), *y = malloc(nx * sizeof(double));
    double *gamma = malloc(ch * sizeof(double)), *beta = malloc(ch * sizeof(double));
    double *mean = malloc(ch * sizeof(double)), *var = malloc(ch * sizeof(double));
    double *rm = malloc(ch * sizeof(double)), *rv = malloc(ch * sizeof(double));
    for (size_t i = 0; i < nx; i++) x[i] = 3 * mbt_rng_normal(&rng) + 1.5;
    for (int c = 0; c < ch; c++) {
        gamma[c] = 0.5 + c;
        beta[c] = c - 1.0;
        rm[c] = 0;
        rv[c] = 1;
    }
    mbt_batchnorm_shape s = {n, ch, hw, 1e-5f, 0.1f};
    double eps = (double)s.eps, m = (double)s.momentum, cnt = (double)n * hw;
    mbt_ref_batchnorm_forward_train(&s, x, gamma, beta, y, mean, var, rm, rv);
    int ok = 1;
    for (int c = 0; c < ch && ok; c++) {
        long double sx = 0, sy = 0, sxx = 0, syy = 0;
        for (int b = 0; b < n; b++)
            for (int p = 0; p < hw; p++) {
                size_t k = ((size_t)b * ch + c) * hw + p;
                sx += x[k];
                sy += y[k];
            }
        double mx = (double)(sx / cnt), my = (double)(sy / cnt);
        for (int b = 0; b < n; b++)
            for (int p = 0; p < hw; p++) {
                size_t k = ((size_t)b * ch + c) * hw + p;
                sxx += (x[k] - (long double)mx) * (x[k] - (long double)mx);
                syy += (y[k] - (long double)my) * (y[k] - (long double)my);
            }
        double vx = (double)(sxx / cnt), vy = (double)(syy / cnt);
        ok &= CHECK_CLOSE(mean[c], mx, 1e-12, 1e-12);
        ok &= CHECK_CLOSE(var[c], vx, 1e-12, 0);
        ok &= CHECK_CLOSE(my, beta[c], 0, 1e-12);
        ok &= CHECK_CLOSE(vy, gamma[c] * gamma[c] * vx / (vx + eps), 1e-12, 0);
        ok &= CHECK_CLOSE(rm[c], m * mx, 1e-12, 1e-15);
        ok &= CHECK_CLOSE(rv[c], (1 - m) + m * vx * cnt / (cnt - 1), 1e-12, 0);
    }
    free(x); free(y); free(gamma); free(beta); free(mean); free(var); free(rm); free(rv);
}

/* ---- linear, l2norm, relu, add ----------------------------------------------------------------- */

/* x = [[1,2,3],[4,5,6]], W = [[1,0,-1],[2,1,0]], b = [10,20]: x W^T = [[-2,4],[-2,13]].
 * With dy = I: dx = W, dW = x, db = [1,1]. */
static void test_linear_hand(void) {
    const double x[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, -1, 2, 1, 0}, b[2] = {10, 20};
    double y[4];
    mbt_ref_linear_forward(2, 3, 2, x, w, b, y);
    const double want_b[4] = {8, 24, 8, 33};
    expect_vec("linear+bias y", y, want_b, 4);
    mbt_ref_linear_forward(2, 3, 2, x, w, NULL, y);
    const double want[4] = {-2, 4, -2, 13};
    expect_vec("linear y", y, want, 4);
    const double dy[4] = {1, 0, 0, 1};
    double dx[6], dw[6], db[2] = {0.5, -0.5};
    for (int i = 0; i < 6; i++) dx[i] = 7.0, dw[i] = 1.0;
    mbt_ref_linear_backward(2, 3, 2, x, w, dy, dx, dw, db);
    const double want_dw[6] = {2, 3, 4, 5, 6, 7}, want_db[2] = {1.5, 0.5};
    expect_vec("linear dx", dx, w, 6);
    expect_vec("linear dw (+= onto 1)", dw, want_dw, 6);
    expect_vec("linear db (+= onto 0.5, -0.5)", db, want_db, 2);
}

/* Rows [3,4] -> [0.6,0.8]; [0,0] -> [0,0]; [3e-13,4e-13] (norm 5e-13 < eps 1e-12) -> x / 1e-12.
 * Backward of [3,4] with dy = [1,0]: dy/r - x (x.dy)/r^3 = [0.2 - 0.072, -0.096]; the two clamped
 * rows give dy / 1e-12. */
static void test_l2norm_hand(void) {
    const double x[6] = {3, 4, 0, 0, 3e-13, 4e-13};
    double y[6], dx[6];
    mbt_ref_l2norm_forward(3, 2, x, y);
    const double want[6] = {0.6, 0.8, 0, 0, 0.3, 0.4};
    expect_vec("l2norm y", y, want, 6);
    const double dy[6] = {1, 0, 2, -1, -3, 0.5};
    mbt_ref_l2norm_backward(3, 2, x, dy, dx);
    const double want_dx[6] = {0.128, -0.096, 2e12, -1e12, -3e12, 0.5e12};
    for (int i = 0; i < 6; i++) CHECK_CLOSE(dx[i], want_dx[i], 1e-12, 0);
}

static void test_eltwise_hand(void) {
    const double x[5] = {-1, 0, 2, -0.5, 3}, dy[5] = {1, 2, 3, 4, 5}, b[5] = {1, 1, -2, 0.5, 0};
    double y[5], dx[5];
    mbt_ref_relu_forward(5, x, y);
    const double want[5] = {0, 0, 2, 0, 3}, want_dx[5] = {0, 0, 3, 0, 5}, want_add[5] = {0, 1, 0, 0, 3};
    expect_vec("relu y", y, want, 5);
    mbt_ref_relu_backward(5, y, dy, dx);
    expect_vec("relu dx (0 at 0)", dx, want_dx, 5);
    mbt_ref_add_forward(5, x, b, y);
    expect_vec("add y", y, want_add, 5);
}

int main(void) {
    test_conv_hand();
    test_conv_1x1();
    test_maxpool_hand();
    test_avgpool_hand();
    test_batchnorm_hand();
    test_batchnorm_stats(4, 3, 1);
    test_batchnorm_stats(3, 5, 10);
    test_linear_hand();
    test_l2norm_hand();
    test_eltwise_hand();
    return check_report("test_ops_ref_forward");
}
