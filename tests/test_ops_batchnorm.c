/* CPU batch norm (with and without the fused ReLU) against the double-precision reference of
 * ops/ref.h: training forward (y, saved statistics, running statistics), evaluation forward, backward
 * (dx, dgamma/dbeta accumulated), for BatchNorm1d [n, c] and the blocked [n, c/b, hw, b] layout;
 * the fused ReLU's backward mask equal to its forward's on the kink; bit-identical results with 1,
 * 2 and 3 threads; in-place use; creation-time errors. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/runtime.h"
#include "ops/batchnorm.h"
#include "ops/onednn_context.h"
#include "ops/layout.h"
#include "ops/ref.h"

#define RTOL 1e-5      /* element-wise outputs */
#define RTOL_SUM 2e-6  /* reductions: accumulated in double; float inputs (save_mean) limit them */

/* ---- the double reference (ops/ref.h, NCHW; [n, c] when hw = 1) with the fused ReLU ---------- */

/* Training forward: y = [relu](bn(x)), batch mean/var, running statistics updated in place. */
static void ref_train(const mbt_batchnorm_shape *s, const double *x, const double *gamma, const double *beta,
                      int relu, double *y, double *mean, double *var, double *rmean, double *rvar) {
    mbt_ref_batchnorm_forward_train(s, x, gamma, beta, y, mean, var, rmean, rvar);
    if (relu) mbt_ref_relu_forward((long)s->n * s->c * s->hw, y, y);
}

/* Batch mean and biased variance only. */
static void ref_stats(const mbt_batchnorm_shape *s, const double *x, double *mean, double *var) {
    size_t n = (size_t)s->n * s->c * s->hw;
    double *y = malloc(n * sizeof(double)), *one = malloc(s->c * sizeof(double)), *zero = calloc(s->c, sizeof(double));
    for (int c = 0; c < s->c; c++) one[c] = 1;
    mbt_ref_batchnorm_forward_train(s, x, one, zero, y, mean, var, NULL, NULL);
    free(y);
    free(one);
    free(zero);
}

/* Backward given the forward output y; dy is the gradient of the (ReLU) output. dgamma/dbeta += */
static void ref_backward(const mbt_batchnorm_shape *s, const double *x, const double *gamma, const double *y, int relu,
                         const double *dy, double *dx, double *dgamma, double *dbeta) {
    size_t n = (size_t)s->n * s->c * s->hw;
    double *mean = malloc(s->c * sizeof(double)), *var = malloc(s->c * sizeof(double)), *d = malloc(n * sizeof(double));
    ref_stats(s, x, mean, var);
    if (relu) mbt_ref_relu_backward((long)n, y, dy, d);
    else memcpy(d, dy, n * sizeof(double));
    mbt_ref_batchnorm_backward(s, x, gamma, mean, var, d, dx, dgamma, dbeta);
    free(mean);
    free(var);
    free(d);
}

/* ---- data ----------------------------------------------------------------------------------- */

static unsigned long long rng_state = 88172645463325252ull;
static double uniform(void) { /* xorshift64, in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

typedef struct {
    mbt_batchnorm_shape s;
    size_t numel;
    double *x, *dy, *gamma, *beta, *rmean, *rvar, *dgamma0, *dbeta0; /* inputs, NCHW, float-exact */
    float *xf, *dyf; /* native layout */
} bn_case;

static float *to_float(const double *a, size_t n) {
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f[i] = (float)a[i];
    return f;
}

static float *to_native(const bn_case *t, const double *a) {
    float *plain = to_float(a, t->numel);
    if (t->s.hw == 1) return plain; /* [n, c] is native */
    float *native = malloc(t->numel * sizeof(float));
    CHECK_OK(mbt_layout_from_nchw(MBT_DEVICE_CPU, t->s.n, t->s.c, t->s.hw, plain, native));
    free(plain);
    return native;
}

static double *from_native(const bn_case *t, const float *native) {
    float *plain = malloc(t->numel * sizeof(float));
    if (t->s.hw == 1) memcpy(plain, native, t->numel * sizeof(float));
    else CHECK_OK(mbt_layout_to_nchw(MBT_DEVICE_CPU, t->s.n, t->s.c, t->s.hw, native, plain));
    double *d = malloc(t->numel * sizeof(double));
    for (size_t i = 0; i < t->numel; i++) d[i] = plain[i];
    free(plain);
    return d;
}

static double *random_array(size_t n, double offset, double scale) {
    double *a = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = (float)(offset + scale * uniform());
    return a;
}

/* Inputs with channel means far from 0 (the variance must not cancel) and no bn(x) within 1e-3 of
 * the ReLU's kink, where float rounding could legitimately flip the mask. */
static void case_init(bn_case *t, int n, int c, int hw) {
    t->s = (mbt_batchnorm_shape){n, c, hw, 1e-5f, 0.1f};
    t->numel = (size_t)n * c * hw;
    t->x = malloc(t->numel * sizeof(double));
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++)
                t->x[((size_t)i * c + ch) * hw + p] = (float)(3.0 * ((ch % 5) - 2) + (0.5 + ch % 3) * uniform());
    t->dy = random_array(t->numel, 0.0, 1.0);
    t->gamma = random_array(c, 1.0, 0.5);
    t->beta = random_array(c, 0.0, 0.3);
    t->rmean = random_array(c, 0.0, 0.2);
    t->rvar = random_array(c, 1.5, 0.4);
    t->dgamma0 = random_array(c, 0.0, 1.0);
    t->dbeta0 = random_array(c, 0.0, 1.0);
    double *mean = malloc(c * sizeof(double)), *var = malloc(c * sizeof(double));
    for (int iter = 0; iter < 20; iter++) {
        int moved = 0;
        ref_stats(&t->s, t->x, mean, var);
        for (size_t k = 0; k < t->numel; k++) {
            int ch = (int)(k / hw % c);
            double a = t->gamma[ch] / sqrt(var[ch] + t->s.eps), v = a * (t->x[k] - mean[ch]) + t->beta[ch];
            if (fabs(v) < 1e-3) {
                t->x[k] = (float)(mean[ch] + ((v < 0 ? -0.01 : 0.01) - t->beta[ch]) / a);
                moved++;
            }
        }
        if (!moved) break;
        CHECK_MSG(iter < 19, "could not move the inputs off the ReLU kink");
    }
    free(mean);
    free(var);
    t->xf = to_native(t, t->x);
    t->dyf = to_native(t, t->dy);
}

static void case_free(bn_case *t) {
    double *d[] = {t->x, t->dy, t->gamma, t->beta, t->rmean, t->rvar, t->dgamma0, t->dbeta0};
    for (unsigned i = 0; i < sizeof d / sizeof *d; i++) free(d[i]);
    free(t->xf);
    free(t->dyf);
}

/* Worst violation of |a - b| <= rtol * (|b| + max|b|): relative to the tensor's scale. */
static void check_close_array(const char *what, const bn_case *t, int relu, const float *a, const double *b,
                              size_t n, double rtol) {
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    long worst;
    double v = check_max_violation(a, b, (long)n, rtol, rtol * scale, &worst);
    CHECK_MSG(v <= 1.0, "[%d,%d,hw=%d] relu=%d: %s[%ld] = %.9g, reference %.9g", t->s.n, t->s.c, t->s.hw, relu, what,
              worst, a[worst], b[worst]);
}

/* ---- correctness against the reference ------------------------------------------------------ */

static void test_case(int n, int c, int hw, int relu) {
    bn_case t;
    case_init(&t, n, c, hw);
    const mbt_batchnorm_shape *s = &t.s;
    mbt_batchnorm *op = NULL, *ev = NULL;
    int flags = relu ? MBT_BN_FUSE_RELU : 0;
    if (!CHECK_OK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, s, flags)) ||
        !CHECK_OK(mbt_batchnorm_create(&ev, MBT_DEVICE_CPU, s, flags | MBT_BN_INFERENCE))) {
        mbt_batchnorm_destroy(op);
        case_free(&t);
        return;
    }
    size_t N = t.numel;
    float *gamma = to_float(t.gamma, c), *beta = to_float(t.beta, c), *rmean = to_float(t.rmean, c),
          *rvar = to_float(t.rvar, c), *dgamma = to_float(t.dgamma0, c), *dbeta = to_float(t.dbeta0, c);
    /* 64-byte aligned, as the model's planned buffers (large outputs then take streaming stores) */
    size_t bytes = (N * sizeof(float) + 63) / 64 * 64;
    float *y = aligned_alloc(64, bytes), *dx = aligned_alloc(64, bytes);
    float *smean = malloc(c * sizeof(float)), *svar = malloc(c * sizeof(float));
    void *ws = malloc(mbt_batchnorm_workspace_bytes(op) + 1);
    double *mean = malloc(c * sizeof(double)), *var = malloc(c * sizeof(double));
    double *ry = malloc(N * sizeof(double)), *rdx = malloc(N * sizeof(double));
    double *rdg = calloc(c, sizeof(double)), *rdb = calloc(c, sizeof(double)), *tmp = malloc(c * sizeof(double));
    double *rrm = malloc(c * sizeof(double)), *rrv = malloc(c * sizeof(double));
    memcpy(rrm, t.rmean, c * sizeof(double));
    memcpy(rrv, t.rvar, c * sizeof(double));

    /* evaluation forward, from the running statistics */
    CHECK_OK(mbt_batchnorm_forward_eval(ev, t.xf, gamma, beta, rmean, rvar, y));
    mbt_ref_batchnorm_forward_eval(s, t.x, t.gamma, t.beta, t.rmean, t.rvar, ry);
    if (relu) mbt_ref_relu_forward((long)N, ry, ry);
    double *got = from_native(&t, y);
    float *gotf = to_float(got, N);
    check_close_array("eval y", &t, relu, gotf, ry, N, RTOL);
    free(got);
    free(gotf);

    /* training forward */
    CHECK_OK(mbt_batchnorm_forward_train(op, t.xf, gamma, beta, y, smean, svar, ws, rmean, rvar));
    ref_train(s, t.x, t.gamma, t.beta, relu, ry, mean, var, rrm, rrv);
    got = from_native(&t, y);
    gotf = to_float(got, N);
    check_close_array("train y", &t, relu, gotf, ry, N, RTOL);
    free(got);
    free(gotf);
    for (int ch = 0; ch < c; ch++) {
        CHECK_CLOSE(smean[ch], mean[ch], RTOL_SUM, 1e-7);
        CHECK_CLOSE(svar[ch], var[ch], RTOL_SUM, 0);
        CHECK_CLOSE(rmean[ch], rrm[ch], RTOL_SUM, 1e-7);
        CHECK_CLOSE(rvar[ch], rrv[ch], RTOL_SUM, 0);
    }

    /* backward, twice: dx overwritten, dgamma/dbeta accumulated */
    ref_backward(s, t.x, t.gamma, ry, relu, t.dy, rdx, rdg, rdb);
    for (int rep = 1; rep <= 2; rep++) {
        memset(dx, 0xff, N * sizeof(float)); /* NaN: dx must be overwritten */
        CHECK_OK(mbt_batchnorm_backward(op, t.xf, gamma, beta, smean, svar, ws, t.dyf, dx, dgamma, dbeta));
        got = from_native(&t, dx);
        gotf = to_float(got, N);
        check_close_array("dx", &t, relu, gotf, rdx, N, RTOL);
        free(got);
        free(gotf);
        for (int ch = 0; ch < c; ch++) tmp[ch] = t.dgamma0[ch] + rep * rdg[ch];
        check_close_array(rep == 1 ? "dgamma" : "dgamma after two backwards", &t, relu, dgamma, tmp, c, RTOL_SUM);
        for (int ch = 0; ch < c; ch++) tmp[ch] = t.dbeta0[ch] + rep * rdb[ch];
        check_close_array(rep == 1 ? "dbeta" : "dbeta after two backwards", &t, relu, dbeta, tmp, c, RTOL_SUM);
    }

    float *bufs[] = {gamma, beta, rmean, rvar, dgamma, dbeta, y, dx, smean, svar};
    for (unsigned i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    double *dbufs[] = {mean, var, ry, rdx, rdg, rdb, tmp, rrm, rrv};
    for (unsigned i = 0; i < sizeof dbufs / sizeof *dbufs; i++) free(dbufs[i]);
    free(ws);
    mbt_batchnorm_destroy(op);
    mbt_batchnorm_destroy(ev);
    case_free(&t);
}

/* ---- determinism across thread counts ------------------------------------------------------- */

typedef struct {
    float *y, *smean, *svar, *rmean, *rvar, *dx, *dgamma, *dbeta;
} bn_outputs;

static void run_threads(const bn_case *t, int relu, int threads, bn_outputs *o) {
    int c = t->s.c;
    size_t N = t->numel;
    omp_set_num_threads(threads);
    mbt_batchnorm *op = NULL;
    float *gamma = to_float(t->gamma, c), *beta = to_float(t->beta, c);
    o->y = malloc(N * sizeof(float));
    o->dx = malloc(N * sizeof(float));
    o->smean = malloc(c * sizeof(float));
    o->svar = malloc(c * sizeof(float));
    o->rmean = to_float(t->rmean, c);
    o->rvar = to_float(t->rvar, c);
    o->dgamma = to_float(t->dgamma0, c);
    o->dbeta = to_float(t->dbeta0, c);
    if (CHECK_OK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &t->s, relu ? MBT_BN_FUSE_RELU : 0))) {
        void *ws = malloc(mbt_batchnorm_workspace_bytes(op) + 1);
        CHECK_OK(mbt_batchnorm_forward_train(op, t->xf, gamma, beta, o->y, o->smean, o->svar, ws, o->rmean, o->rvar));
        CHECK_OK(mbt_batchnorm_backward(op, t->xf, gamma, beta, o->smean, o->svar, ws, t->dyf, o->dx, o->dgamma,
                                        o->dbeta));
        free(ws);
    }
    mbt_batchnorm_destroy(op);
    free(gamma);
    free(beta);
}

static void free_outputs(bn_outputs *o) {
    float *b[] = {o->y, o->smean, o->svar, o->rmean, o->rvar, o->dx, o->dgamma, o->dbeta};
    for (unsigned i = 0; i < sizeof b / sizeof *b; i++) free(b[i]);
}

/* Makes the order of summation matter: per channel, dy = +2^40 at the largest x among the first
 * eighth of the samples and -2^40 at the largest x among the last eighth (where the ReLU passes).
 * Double sums of dy then round differently for different groupings, so sum dy (dbeta) shows any
 * dependence of the grouping on the thread count. */
static void spike_dy(bn_case *t) {
    const mbt_batchnorm_shape *s = &t->s;
    int span = s->n / 8 > 1 ? s->n / 8 : 1;
    for (int ch = 0; ch < s->c; ch++)
        for (int side = 0; side < 2; side++) {
            size_t best = 0;
            int i0 = side ? s->n - span : 0;
            for (int i = i0; i < i0 + span; i++)
                for (int p = 0; p < s->hw; p++) {
                    size_t k = ((size_t)i * s->c + ch) * s->hw + p;
                    if (i == i0 && p == 0) best = k;
                    if (t->x[k] > t->x[best]) best = k;
                }
            t->dy[best] = side ? -1099511627776.0 : 1099511627776.0;
        }
    free(t->dyf);
    t->dyf = to_native(t, t->dy);
}

static void test_determinism(int n, int c, int hw, int relu) {
    bn_case t;
    case_init(&t, n, c, hw);
    spike_dy(&t);
    bn_outputs one, many;
    run_threads(&t, relu, 1, &one);
    for (int threads = 2; threads <= 3; threads++) {
        run_threads(&t, relu, threads, &many);
        size_t N = t.numel, C = (size_t)c * sizeof(float);
        CHECK_MSG(!memcmp(one.y, many.y, N * sizeof(float)) && !memcmp(one.dx, many.dx, N * sizeof(float)) &&
                      !memcmp(one.smean, many.smean, C) && !memcmp(one.svar, many.svar, C) &&
                      !memcmp(one.rmean, many.rmean, C) && !memcmp(one.rvar, many.rvar, C) &&
                      !memcmp(one.dgamma, many.dgamma, C) && !memcmp(one.dbeta, many.dbeta, C),
                  "[%d,%d,hw=%d] relu=%d: results with %d threads differ from 1 thread", n, c, hw, relu, threads);
        free_outputs(&many);
    }
    free_outputs(&one);
    case_free(&t);
    omp_set_num_threads(2);
}

/* ---- the fused ReLU's mask ------------------------------------------------------------------ */

/* Most inputs sit exactly on the ReLU's kink up to float rounding (beta cancels them), so a
 * backward whose recomputed mask differed from the forward's anywhere would show: the fused
 * backward must equal, bit for bit, the unfused backward of dy masked by the forward's output. */
static void test_mask(int n, int c, int hw) {
    bn_case t;
    case_init(&t, n, c, hw);
    size_t N = t.numel, bytes = N * sizeof(float), cb = (size_t)c * sizeof(float);
    double *mean = malloc(c * sizeof(double)), *var = malloc(c * sizeof(double));
    for (int i = 0; i < n; i++) /* three in four values of a channel equal its first one */
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++)
                if ((i + p) % 4) t.x[((size_t)i * c + ch) * hw + p] = t.x[(size_t)ch * hw];
    ref_stats(&t.s, t.x, mean, var);
    for (int ch = 0; ch < c; ch++)
        t.beta[ch] = (float)(-(t.x[(size_t)ch * hw] - mean[ch]) * t.gamma[ch] / sqrt(var[ch] + t.s.eps));
    free(t.xf);
    t.xf = to_native(&t, t.x);
    mbt_batchnorm *fused = NULL, *plain = NULL;
    if (!CHECK_OK(mbt_batchnorm_create(&fused, MBT_DEVICE_CPU, &t.s, MBT_BN_FUSE_RELU)) ||
        !CHECK_OK(mbt_batchnorm_create(&plain, MBT_DEVICE_CPU, &t.s, 0))) {
        mbt_batchnorm_destroy(fused);
        free(mean);
        free(var);
        case_free(&t);
        return;
    }
    float *gamma = to_float(t.gamma, c), *beta = to_float(t.beta, c), *y = malloc(bytes), *d = malloc(bytes);
    float *dx1 = malloc(bytes), *dx2 = malloc(bytes), *smean = malloc(cb), *svar = malloc(cb);
    float *dg1 = calloc(c, sizeof(float)), *db1 = calloc(c, sizeof(float)), *dg2 = calloc(c, sizeof(float)),
          *db2 = calloc(c, sizeof(float));
    CHECK_OK(mbt_batchnorm_forward_train(fused, t.xf, gamma, beta, y, smean, svar, NULL, NULL, NULL));
    size_t zeros = 0, tiny = 0;
    for (size_t k = 0; k < N; k++) {
        d[k] = y[k] <= 0 ? 0.0f : t.dyf[k]; /* PyTorch's threshold_backward on the output */
        zeros += y[k] == 0;
        tiny += y[k] > 0 && y[k] < 1e-5f;
    }
    CHECK_MSG(zeros > N / 8 && tiny > N / 8, "[%d,%d,hw=%d]: %zu zeros, %zu tiny outputs: not on the kink", n, c, hw,
              zeros, tiny);
    CHECK_OK(mbt_batchnorm_backward(fused, t.xf, gamma, beta, smean, svar, NULL, t.dyf, dx1, dg1, db1));
    CHECK_OK(mbt_batchnorm_backward(plain, t.xf, gamma, beta, smean, svar, NULL, d, dx2, dg2, db2));
    CHECK_MSG(!memcmp(dx1, dx2, bytes) && !memcmp(dg1, dg2, cb) && !memcmp(db1, db2, cb),
              "[%d,%d,hw=%d]: the fused backward's ReLU mask differs from the forward's", n, c, hw);
    float *bufs[] = {gamma, beta, y, d, dx1, dx2, smean, svar, dg1, db1, dg2, db2};
    for (unsigned i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    free(mean);
    free(var);
    mbt_batchnorm_destroy(fused);
    mbt_batchnorm_destroy(plain);
    case_free(&t);
}

/* ---- in place ------------------------------------------------------------------------------ */

/* y may be x and dx may be dy: the same values as out of place. */
static void test_in_place(int n, int c, int hw) {
    bn_case t;
    case_init(&t, n, c, hw);
    mbt_batchnorm *op = NULL;
    if (!CHECK_OK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &t.s, MBT_BN_FUSE_RELU))) {
        case_free(&t);
        return;
    }
    size_t bytes = t.numel * sizeof(float), cb = (size_t)c * sizeof(float);
    float *gamma = to_float(t.gamma, c), *beta = to_float(t.beta, c), *y = malloc(bytes), *dx = malloc(bytes);
    float *buf = malloc(bytes), *mean = malloc(cb), *var = malloc(cb), *dg = calloc(c, sizeof(float)),
          *db = calloc(c, sizeof(float));
    CHECK_OK(mbt_batchnorm_forward_train(op, t.xf, gamma, beta, y, mean, var, NULL, NULL, NULL));
    CHECK_OK(mbt_batchnorm_backward(op, t.xf, gamma, beta, mean, var, NULL, t.dyf, dx, dg, db));
    memcpy(buf, t.xf, bytes);
    CHECK_OK(mbt_batchnorm_forward_train(op, buf, gamma, beta, buf, mean, var, NULL, NULL, NULL));
    CHECK_MSG(!memcmp(buf, y, bytes), "[%d,%d,hw=%d]: forward in place differs", n, c, hw);
    memcpy(buf, t.dyf, bytes);
    CHECK_OK(mbt_batchnorm_backward(op, t.xf, gamma, beta, mean, var, NULL, buf, buf, dg, db));
    CHECK_MSG(!memcmp(buf, dx, bytes), "[%d,%d,hw=%d]: backward in place differs", n, c, hw);
    float *bufs[] = {gamma, beta, y, dx, buf, mean, var, dg, db};
    for (unsigned i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    mbt_batchnorm_destroy(op);
    case_free(&t);
}

/* ---- creation errors ------------------------------------------------------------------------ */

static void test_errors(void) {
    mbt_batchnorm *op = (mbt_batchnorm *)&op;
    int b = mbt_cpu_channel_block();
    mbt_batchnorm_shape odd = {4, b + 4, 9, 1e-5f, 0.1f}, one = {1, 16, 1, 1e-5f, 0.1f}, ok = {4, 16, 1, 1e-5f, 0.1f};
    CHECK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &odd, 0) == MBT_ERR_UNSUPPORTED && op == NULL);
    CHECK(strstr(mbt_error_message(), "batchnorm") != NULL);
    CHECK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &one, 0) == MBT_ERR_SHAPE && op == NULL);
    CHECK(mbt_batchnorm_create(&op, MBT_DEVICE_CUDA, &ok, 0) == MBT_ERR_UNSUPPORTED && op == NULL);
    mbt_batchnorm_shape zero = ok;
    zero.c = 0;
    CHECK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &zero, 0) == MBT_ERR_SHAPE && op == NULL);
    /* evaluation of a single image is fine; training ops refused on an inference op */
    if (CHECK_OK(mbt_batchnorm_create(&op, MBT_DEVICE_CPU, &one, MBT_BN_INFERENCE))) {
        float v[16] = {0}, y[16];
        CHECK(mbt_batchnorm_forward_train(op, v, v, v, y, v, v, NULL, NULL, NULL) == MBT_ERR_ARG);
        CHECK(mbt_batchnorm_backward(op, v, v, v, v, v, NULL, v, y, v, v) == MBT_ERR_ARG);
        mbt_batchnorm_destroy(op);
    }
}

int main(void) {
    mbt_set_threads(2);
    int b = mbt_cpu_channel_block();
    for (int relu = 0; relu <= 1; relu++) {
        test_case(6, 20, 1, relu);       /* BatchNorm1d, a last group of 4 channels */
        test_case(5, 16, 1, relu);       /* BatchNorm1d, whole groups */
        test_case(3, 2 * b, 49, relu);   /* blocked, 7 x 7 */
        test_case(8, 2 * b, 300, relu);  /* blocked, chunks cut inside images, parallel */
        test_case(2100, 20, 1, relu);    /* BatchNorm1d, several chunks, parallel */
        test_case(64, b, 1024, relu);    /* 65536 values per channel: float sums would be off */
        if (relu) test_case(32, 64, 4096, relu); /* 32 MiB: outputs written with streaming stores */
        test_determinism(8, 2 * b, 300, relu);
        test_determinism(2100, 24, 1, relu);
    }
    test_mask(8, 2 * b, 300);
    test_mask(100, 20, 1);
    test_in_place(8, 2 * b, 300);
    test_in_place(100, 24, 1);
    test_errors();
    return check_report("test_ops_batchnorm");
}
