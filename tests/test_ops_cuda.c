/* The CUDA backend's own checks (the op cases shared with the CPU are test_ops_cpu_cuda's table): a second
 * convolution of one shape computes the same bits (cuDNN's algorithm table), the convolution's errors,
 * layout conversions are NCHW copies, a CUDA plan is zeroed device memory. Without a GPU (or in a build
 * without CUDA) it checks that CUDA use fails with a clear message, then exits 77 (skipped). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/plan.h"
#include "core/rng.h"
#include "ops/conv2d.h"
#include "ops/layout.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

/* Creating a CUDA convolution fails with `status` and a message containing `text`. */
static void expect_cuda_refused(mbt_status status, const char *text) {
    mbt_conv2d *op = (mbt_conv2d *)1;
    mbt_conv2d_shape s = {2, 16, 8, 8, 16, 3, 1, 1};
    CHECK(mbt_conv2d_create(&op, MBT_DEVICE_CUDA, &s, 0) == status && op == NULL);
    CHECK_MSG(strstr(mbt_error_message(), text) != NULL, "message \"%s\" lacks \"%s\"", mbt_error_message(), text);
}

#ifdef MIXBT_HAVE_CUDA

static mbt_rng rng;

static double *rand_d(size_t n, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = scale * (2.0 * mbt_rng_uniform_double(&rng) - 1.0);
    return a;
}

/* A device copy of a (rounded to float). */
static float *dev_from(const double *a, size_t n) {
    float *h = malloc(n * sizeof(float)), *d = NULL;
    for (size_t i = 0; i < n; i++) h[i] = (float)a[i];
    if (CHECK_OK(mbt_cuda_alloc("test", (void **)&d, n * sizeof(float))))
        CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    free(h);
    return d;
}

/* A device buffer of n copies of v. */
static float *dev_fill(size_t n, float v) {
    float *h = malloc(n * sizeof(float)), *d = NULL;
    for (size_t i = 0; i < n; i++) h[i] = v;
    if (CHECK_OK(mbt_cuda_alloc("test", (void **)&d, n * sizeof(float))))
        CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    free(h);
    return d;
}

/* A host copy of n floats of device memory (after the stream's work). */
static float *host_from(const float *d, size_t n) {
    float *h = calloc(n, sizeof(float));
    CHECK_OK(mbt_cuda_synchronize("test"));
    CHECK_OK(mbt_cuda_to_host(h, d, n * sizeof(float)));
    return h;
}

/* A second op of the same shape (its algorithms from the table) computes the same bits; errors. */
static void test_conv_table_and_errors(void) {
    mbt_conv2d_shape s = {2, 16, 9, 9, 32, 3, 1, 1};
    size_t nx = 2 * 16 * 81, nw = 32 * 16 * 9, ny = 2 * 32 * 81;
    double *x = rand_d(nx, 1), *wt = rand_d(nw, 0.3);
    float *xd = dev_from(x, nx), *wd = dev_from(wt, nw), *y1 = dev_fill(ny, 7.0f), *y2 = dev_fill(ny, 7.0f);
    mbt_conv2d *a = NULL, *b = NULL;
    if (CHECK_OK(mbt_conv2d_create(&a, MBT_DEVICE_CUDA, &s, 0)) &&
        CHECK_OK(mbt_conv2d_create(&b, MBT_DEVICE_CUDA, &s, 0))) {
        CHECK_OK(mbt_conv2d_set_weights(a, wd));
        CHECK_OK(mbt_conv2d_set_weights(b, wd));
        CHECK_OK(mbt_conv2d_forward(a, xd, y1));
        CHECK_OK(mbt_conv2d_forward(b, xd, y2));
        float *h1 = host_from(y1, ny), *h2 = host_from(y2, ny);
        CHECK_MSG(memcmp(h1, h2, ny * sizeof(float)) == 0, "conv2d: two ops of one shape differ");
        free(h1), free(h2);
    }
    mbt_conv2d_destroy(a);
    mbt_conv2d_destroy(b);
    mbt_conv2d *inf = NULL, *in = NULL;
    if (CHECK_OK(mbt_conv2d_create(&inf, MBT_DEVICE_CUDA, &s, MBT_CONV_INFERENCE))) {
        CHECK(mbt_conv2d_backward(inf, xd, y1, NULL, wd) == MBT_ERR_ARG);
        CHECK(strstr(mbt_error_message(), "inference") != NULL);
    }
    if (CHECK_OK(mbt_conv2d_create(&in, MBT_DEVICE_CUDA, &s, MBT_CONV_INPUT_NCHW))) {
        CHECK(mbt_conv2d_backward(in, xd, y1, xd, wd) == MBT_ERR_ARG);
        CHECK(strstr(mbt_error_message(), "dx = NULL") != NULL);
    }
    mbt_conv2d_destroy(inf);
    mbt_conv2d_destroy(in);
    mbt_conv2d *bad = NULL;
    mbt_conv2d_shape z = {2, 16, 2, 2, 16, 7, 1, 0}; /* kernel larger than the input */
    CHECK(mbt_conv2d_create(&bad, MBT_DEVICE_CUDA, &z, 0) == MBT_ERR_SHAPE && bad == NULL);
    CHECK(strstr(mbt_error_message(), "kernel=7") != NULL);
    mbt_cuda_free(xd), mbt_cuda_free(wd), mbt_cuda_free(y1), mbt_cuda_free(y2);
    free(x), free(wt);
}

/* Layout conversions are copies (CUDA activations are NCHW); a CUDA plan is zeroed device memory. */
static void test_layout_and_plan(void) {
    int n = 2, c = 3, hw = 5;
    size_t cnt = (size_t)n * c * hw;
    double *x = rand_d(cnt, 1);
    float *xd = dev_from(x, cnt), *nat = dev_fill(cnt, 7.0f), *back = dev_fill(cnt, 7.0f);
    CHECK_OK(mbt_layout_from_nchw(MBT_DEVICE_CUDA, n, c, hw, xd, nat));
    CHECK_OK(mbt_layout_to_nchw(MBT_DEVICE_CUDA, n, c, hw, nat, back));
    float *h1 = host_from(nat, cnt), *h2 = host_from(back, cnt);
    int same = 1;
    for (size_t i = 0; i < cnt; i++) same &= h1[i] == (float)x[i] && h2[i] == (float)x[i];
    CHECK_MSG(same, "layout (cuda): NCHW copies differ from the input");
    free(h1), free(h2), free(x);
    mbt_cuda_free(xd), mbt_cuda_free(nat), mbt_cuda_free(back);

    mbt_plan plan;
    float *a = NULL, *b = NULL;
    mbt_plan_init(&plan, MBT_DEVICE_CUDA);
    mbt_plan_floats(&plan, &a, 1000);
    mbt_plan_floats(&plan, &b, 3);
    if (CHECK_OK(mbt_plan_commit(&plan))) {
        CHECK(a != NULL && b != NULL && (char *)b - (char *)a >= 4000);
        float *h = host_from(a, mbt_plan_float_count(&plan));
        int zero = 1;
        for (size_t i = 0; i < mbt_plan_float_count(&plan); i++) zero &= h[i] == 0.0f;
        CHECK_MSG(zero, "CUDA plan: memory not zero-filled");
        free(h);
    }
    mbt_plan_free(&plan);
    CHECK(a == NULL && b == NULL);
}

static int run_on_gpu(void) {
    mbt_rng_init(&rng, 3, 0);
    setenv("MIXBT_NO_TF32", "1", 1);
    test_conv_table_and_errors();
    test_layout_and_plan();
    return check_report("test_ops_cuda");
}

#endif /* MIXBT_HAVE_CUDA */

int main(void) {
#ifdef MIXBT_HAVE_CUDA
    if (mbt_cuda_device_count() > 0) return run_on_gpu();
    /* no device: the context and every CUDA op are refused with a message */
    mbt_cuda_context *ctx = (mbt_cuda_context *)1;
    CHECK(mbt_cuda_context_get(&ctx) == MBT_ERR_UNSUPPORTED && ctx == NULL);
    CHECK_MSG(strstr(mbt_error_message(), "CUDA device") != NULL, "message: %s", mbt_error_message());
    CHECK(mbt_cuda_select(0) == MBT_ERR_ARG);
    expect_cuda_refused(MBT_ERR_UNSUPPORTED, "CUDA device");
#else
    expect_cuda_refused(MBT_ERR_UNSUPPORTED, "built without the CUDA backend");
#endif
    /* a CUDA plan cannot be committed without a CUDA context */
    mbt_plan plan;
    float *a = NULL;
    mbt_plan_init(&plan, MBT_DEVICE_CUDA);
    mbt_plan_floats(&plan, &a, 10);
    CHECK(mbt_plan_commit(&plan) == MBT_ERR_UNSUPPORTED && a == NULL);
    mbt_plan_free(&plan);
    if (check_failures) return check_report("test_ops_cuda");
    return check_cuda_or_skip("test_ops_cuda");
}
