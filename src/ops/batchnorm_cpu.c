/* Batch normalisation on the CPU backend: hand-written OpenMP kernels whose per-channel reductions
 * (mean, variance, sum dy, sum dy * (x - mean)) are accumulated in double, as PyTorch's CPU batch
 * norm does, and whose element-wise passes run in float on 8-lane vectors.
 *
 * Geometry. Channels are taken in groups of 8 ("lanes"); a "row" is the 8 values of one group at
 * one (sample, position). In the blocked layout [n][c/b][hw][b] a group's rows within a sample are
 * b floats apart; for hw = 1 the layout is [n][c] and a group's rows are c floats apart (a last
 * group of fewer than 8 channels, possible only there, takes a scalar path). Each group's n * hw
 * rows are cut into chunks of CHUNK_ROWS rows; a work item is one (chunk, group). The cut depends
 * on the shape only, and per-item partial sums are combined per channel in chunk order, so every
 * result is the same whatever the number of threads.
 *
 * Statistics. Each item makes two passes over its chunk (which stays in cache): the chunk sum, then
 * the sum of squared deviations from the chunk mean. Chunks are combined exactly (Chan et al.):
 * M2 = sum_k [M2_k + n_k (mean_k - mean)^2], so the variance is the mean of squared deviations from
 * the batch mean, never E[x^2] - E[x]^2, and x is read from memory once for the statistics.
 *
 * Fused ReLU. y = relu(bn(x)). The mask is not stored (workspace 0 bytes): backward recomputes
 * bn(x) from x and the saved mean/variance with the same float expression as the forward, so the
 * mask (bn(x) > 0, as PyTorch's threshold_backward) is bit-identical to the forward's.
 *
 * x and y (dy and dx) may be the same buffer: each element is read before it is written. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/batchnorm.h"
#include "ops/cpu_backend.h"

#ifdef __AVX__
#include <immintrin.h>
#endif

enum { LANES = 8, CHUNK_ROWS = 2048, PARALLEL_MIN = 1 << 15 };

/* GCC/Clang vector extensions: 8 floats per row, accumulated as two halves of 4 doubles. */
typedef float f8 __attribute__((vector_size(32)));
typedef int i8 __attribute__((vector_size(32)));
typedef double d4 __attribute__((vector_size(32)));

struct mbt_batchnorm {
    mbt_batchnorm_shape s;
    int flags;
    int groups;      /* ceil(c / 8) */
    int chunks;      /* per group */
    int chunk_n;     /* samples per chunk (the last chunk may have fewer) */
    long rows;       /* rows per group: n * hw */
    long row_stride; /* between a group's rows within a sample (blocked layout: b) */
    long n_stride;   /* between samples: c * hw */
    int blk;         /* channels per block of the layout (c when hw = 1) */
    double *part;    /* [chunks * groups][2][8] per-item partial sums (training ops only) */
    float *coef;     /* [6][c] per-call channel coefficients */
};

static inline f8 ld8(const float *p) {
    f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void st8(float *p, f8 v) { memcpy(p, &v, sizeof v); }
#ifdef __AVX__ /* one vcvtps2pd each (the generic form compiles to two half conversions) */
static inline d4 lo4(f8 v) { return (d4)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)v)); }
static inline d4 hi4(f8 v) { return (d4)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)v, 1)); }
#else
static inline d4 lo4(f8 v) { return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), d4); }
static inline d4 hi4(f8 v) { return __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), d4); }
#endif

/* bn(x) before the ReLU, in float; the forward and the backward's mask use exactly this. */
static inline f8 affine8(f8 x, f8 mean, f8 scale, f8 beta) { return (x - mean) * scale + beta; }
static inline float affine1(float x, float mean, float scale, float beta) { return (x - mean) * scale + beta; }
/* relu keeping NaN (PyTorch: x <= 0 -> 0); keep(t) is the mask of relu's backward. */
static inline i8 keep8(f8 t) { return ~(t <= 0); }
static inline f8 mask8(f8 v, i8 keep) { return (f8)((i8)v & keep); }

/* ---- geometry -------------------------------------------------------------------------------- */

/* Offset of group g's first row in sample 0, and its lane count. */
static inline long group_offset(const mbt_batchnorm *op, int g) {
    long ch = (long)g * LANES;
    return ch / op->blk * op->s.hw * op->blk + ch % op->blk;
}
static inline int group_lanes(const mbt_batchnorm *op, int g) {
    int w = op->s.c - g * LANES;
    return w < LANES ? w : LANES;
}

/* The rows of one work item: `outer` runs `ostride` floats apart, each of `inner` rows `istride`
 * floats apart, starting at offset `off`; `count` rows in all. */
typedef struct {
    long off, outer, ostride, inner, istride;
    double count;
} rows_t;

/* Work item `it`: group it % groups, samples of chunk it / groups. */
static rows_t item_rows(const mbt_batchnorm *op, long it, int *g, int *w) {
    *g = (int)(it % op->groups);
    *w = group_lanes(op, *g);
    long i0 = it / op->groups * op->chunk_n, i1 = i0 + op->chunk_n < op->s.n ? i0 + op->chunk_n : op->s.n;
    rows_t r = {group_offset(op, *g) + i0 * op->n_stride, i1 - i0, op->n_stride, op->s.hw, op->blk, 0};
    if (op->s.hw == 1) r = (rows_t){r.off, 1, 0, i1 - i0, op->s.c, 0}; /* [n, c]: one run across samples */
    r.count = (double)(r.outer * r.inner);
    return r;
}

/* Runs the statement after PTR for every row, with PTR the row's offset from the item's start. */
#define FOR_ROWS(R, PTR, ...)                                        \
    for (long o_ = 0; o_ < (R).outer; o_++)                          \
        for (long r_ = 0; r_ < (R).inner; r_++) {                    \
            long PTR = o_ * (R).ostride + r_ * (R).istride;          \
            __VA_ARGS__;                                             \
        }

/* ---- kernels over an item's rows (w = 8 lanes vectorised; fewer lanes scalar) ------------------ */

/* acc[l] += sum of x over the rows, l < w. */
static void k_sum(const float *x, rows_t R, int w, double *acc) {
    if (w == LANES) {
        d4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        for (long o = 0; o < R.outer; o++) {
            const float *xo = x + o * R.ostride;
            long r = 0;
            for (; r + 2 <= R.inner; r += 2) {
                f8 u = ld8(xo + r * R.istride), v = ld8(xo + (r + 1) * R.istride);
                a0 += lo4(u), a1 += hi4(u), b0 += lo4(v), b1 += hi4(v);
            }
            if (r < R.inner) {
                f8 u = ld8(xo + r * R.istride);
                a0 += lo4(u), a1 += hi4(u);
            }
        }
        a0 += b0, a1 += b1;
        for (int l = 0; l < 4; l++) acc[l] += a0[l], acc[l + 4] += a1[l];
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) acc[l] += x[at + l]);
}

/* acc[l] += sum of (x - m[l])^2 over the rows. */
static void k_sqdev(const float *x, rows_t R, int w, const double *m, double *acc) {
    if (w == LANES) {
        d4 m0 = {m[0], m[1], m[2], m[3]}, m1 = {m[4], m[5], m[6], m[7]};
        d4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        for (long o = 0; o < R.outer; o++) {
            const float *xo = x + o * R.ostride;
            long r = 0;
            for (; r + 2 <= R.inner; r += 2) {
                f8 u = ld8(xo + r * R.istride), v = ld8(xo + (r + 1) * R.istride);
                d4 du0 = lo4(u) - m0, du1 = hi4(u) - m1, dv0 = lo4(v) - m0, dv1 = hi4(v) - m1;
                a0 += du0 * du0, a1 += du1 * du1, b0 += dv0 * dv0, b1 += dv1 * dv1;
            }
            if (r < R.inner) {
                f8 u = ld8(xo + r * R.istride);
                d4 du0 = lo4(u) - m0, du1 = hi4(u) - m1;
                a0 += du0 * du0, a1 += du1 * du1;
            }
        }
        a0 += b0, a1 += b1;
        for (int l = 0; l < 4; l++) acc[l] += a0[l], acc[l + 4] += a1[l];
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        double d = x[at + l] - m[l];
        acc[l] += d * d;
    });
}

/* y = [relu]((x - mean) * scale + beta), coefficients per lane. */
static void k_apply(const float *x, float *y, rows_t R, int w, const float *mean, const float *scale,
                    const float *beta, int relu) {
    if (w == LANES) {
        f8 m = ld8(mean), s = ld8(scale), b = ld8(beta);
        if (relu)
            FOR_ROWS(R, at, {
                f8 t = affine8(ld8(x + at), m, s, b);
                st8(y + at, mask8(t, keep8(t)));
            })
        else
            FOR_ROWS(R, at, st8(y + at, affine8(ld8(x + at), m, s, b)));
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        float t = affine1(x[at + l], mean[l], scale[l], beta[l]);
        y[at + l] = relu && t <= 0 ? 0.0f : t;
    });
}

/* With d = dy (masked by the recomputed ReLU when fused): acc[l] += sum d, acc[8 + l] += sum
 * (x - mean) * d. */
static inline __attribute__((always_inline)) void k_bwd_reduce_(const float *x, const float *dy, rows_t R,
                                                                const float *mean, const float *scale,
                                                                const float *beta, int relu, double *acc) {
    f8 m = ld8(mean), s = ld8(scale), b = ld8(beta);
    d4 m0 = lo4(m), m1 = hi4(m);
    d4 s0 = {0}, s1 = {0}, p0 = {0}, p1 = {0}, t0 = {0}, t1 = {0}, q0 = {0}, q1 = {0};
    for (long o = 0; o < R.outer; o++) {
        const float *xo = x + o * R.ostride, *dyo = dy + o * R.ostride;
        long r = 0;
        for (; r + 2 <= R.inner; r += 2) {
            f8 u = ld8(xo + r * R.istride), d = ld8(dyo + r * R.istride);
            f8 v = ld8(xo + (r + 1) * R.istride), e = ld8(dyo + (r + 1) * R.istride);
            if (relu) d = mask8(d, keep8(affine8(u, m, s, b))), e = mask8(e, keep8(affine8(v, m, s, b)));
            d4 d0 = lo4(d), d1 = hi4(d), e0 = lo4(e), e1 = hi4(e);
            s0 += d0, s1 += d1, t0 += e0, t1 += e1;
            p0 += (lo4(u) - m0) * d0, p1 += (hi4(u) - m1) * d1;
            q0 += (lo4(v) - m0) * e0, q1 += (hi4(v) - m1) * e1;
        }
        if (r < R.inner) {
            f8 u = ld8(xo + r * R.istride), d = ld8(dyo + r * R.istride);
            if (relu) d = mask8(d, keep8(affine8(u, m, s, b)));
            d4 d0 = lo4(d), d1 = hi4(d);
            s0 += d0, s1 += d1;
            p0 += (lo4(u) - m0) * d0, p1 += (hi4(u) - m1) * d1;
        }
    }
    s0 += t0, s1 += t1, p0 += q0, p1 += q1;
    for (int l = 0; l < 4; l++) {
        acc[l] += s0[l], acc[l + 4] += s1[l];
        acc[LANES + l] += p0[l], acc[LANES + l + 4] += p1[l];
    }
}

static void k_bwd_reduce(const float *x, const float *dy, rows_t R, int w, const float *mean, const float *scale,
                         const float *beta, int relu, double *acc) {
    if (w == LANES) {
        if (relu) k_bwd_reduce_(x, dy, R, mean, scale, beta, 1, acc);
        else k_bwd_reduce_(x, dy, R, mean, scale, beta, 0, acc);
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        float u = x[at + l], d = dy[at + l];
        if (relu && affine1(u, mean[l], scale[l], beta[l]) <= 0) d = 0.0f;
        acc[l] += d;
        acc[LANES + l] += ((double)u - mean[l]) * d;
    });
}

/* dx = ((d - gmean) - (x - mean) * k) * a, d as in k_bwd_reduce. */
static void k_bwd_apply(const float *x, const float *dy, float *dx, rows_t R, int w, const float *mean,
                        const float *scale, const float *beta, int relu, const float *gmean, const float *k,
                        const float *a) {
    if (w == LANES) {
        f8 m = ld8(mean), s = ld8(scale), b = ld8(beta), gm = ld8(gmean), kk = ld8(k), aa = ld8(a);
        if (relu)
            FOR_ROWS(R, at, {
                f8 u = ld8(x + at), d = ld8(dy + at);
                d = mask8(d, keep8(affine8(u, m, s, b)));
                st8(dx + at, ((d - gm) - (u - m) * kk) * aa);
            })
        else
            FOR_ROWS(R, at, {
                f8 u = ld8(x + at), d = ld8(dy + at);
                st8(dx + at, ((d - gm) - (u - m) * kk) * aa);
            })
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        float u = x[at + l], d = dy[at + l];
        if (relu && affine1(u, mean[l], scale[l], beta[l]) <= 0) d = 0.0f;
        dx[at + l] = ((d - gmean[l]) - (u - mean[l]) * k[l]) * a[l];
    });
}

/* ---- per-channel coefficients ---------------------------------------------------------------- */

/* The forward's coefficients of channels [c0, c0 + w) from a float mean and variance; the backward
 * recomputes them from save_mean/save_var with this same function. */
static void coef_forward(const mbt_batchnorm *op, int c0, int w, const float *mean, const float *var,
                         const float *gamma, const float *beta, float *cm, float *cs, float *cb) {
    for (int l = 0; l < w; l++) {
        int ch = c0 + l;
        double invstd = 1.0 / sqrt((double)var[ch] + (double)op->s.eps);
        cm[l] = mean[ch];
        cs[l] = (float)(gamma[ch] * invstd);
        cb[l] = beta[ch];
    }
    for (int l = w; l < LANES; l++) cm[l] = cs[l] = cb[l] = 0.0f;
}

/* Coefficient slots of group g: [0] mean, [1] scale, [2] beta, [3] gmean, [4] k, [5] a. */
static inline float *coef(const mbt_batchnorm *op, int slot, int g) {
    return op->coef + (size_t)slot * op->groups * LANES + (size_t)g * LANES;
}

/* ---- creation -------------------------------------------------------------------------------- */

mbt_status mbt_batchnorm_create(mbt_batchnorm **out, mbt_device device, const mbt_batchnorm_shape *shape, int flags) {
    *out = NULL;
    if (device != MBT_DEVICE_CPU)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "batchnorm: device %s is not built in", mbt_device_name(device));
    if (shape->n < 1 || shape->c < 1 || shape->hw < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "batchnorm: invalid shape n=%d c=%d hw=%d", shape->n, shape->c, shape->hw);
    if (shape->n < 2 && !(flags & MBT_BN_INFERENCE))
        return MBT_FAIL(MBT_ERR_SHAPE, "batchnorm: training needs more than one value per channel (n=%d)", shape->n);
    if (!(shape->eps >= 0.0f) || !(shape->momentum >= 0.0f && shape->momentum <= 1.0f))
        return MBT_FAIL(MBT_ERR_ARG, "batchnorm: eps %g must be >= 0 and momentum %g in [0, 1]", (double)shape->eps,
                        (double)shape->momentum);
    int b = mbt_cpu_channel_block();
    if (shape->hw > 1 && shape->c % b)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "batchnorm: %d channels is not a multiple of %d on the CPU backend",
                        shape->c, b);
    mbt_batchnorm *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory");
    op->s = *shape;
    op->flags = flags;
    op->groups = (shape->c + LANES - 1) / LANES;
    op->rows = (long)shape->n * shape->hw;
    op->chunk_n = CHUNK_ROWS / shape->hw > 1 ? CHUNK_ROWS / shape->hw : 1;
    op->chunks = (shape->n + op->chunk_n - 1) / op->chunk_n;
    op->blk = shape->hw == 1 ? shape->c : b;
    op->row_stride = op->blk;
    op->n_stride = (long)shape->c * shape->hw;
    op->coef = calloc((size_t)6 * op->groups * LANES, sizeof(float));
    if (!(flags & MBT_BN_INFERENCE))
        op->part = calloc((size_t)op->chunks * op->groups * 2 * LANES, sizeof(double));
    if (!op->coef || (!(flags & MBT_BN_INFERENCE) && !op->part)) {
        mbt_batchnorm_destroy(op);
        return MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory for n=%d c=%d hw=%d", shape->n, shape->c, shape->hw);
    }
    *out = op;
    return MBT_OK;
}

void mbt_batchnorm_destroy(mbt_batchnorm *op) {
    if (!op) return;
    free(op->part);
    free(op->coef);
    free(op);
}

size_t mbt_batchnorm_workspace_bytes(const mbt_batchnorm *op) {
    (void)op;
    return 0; /* the fused ReLU's mask is recomputed in backward */
}

/* ---- passes ---------------------------------------------------------------------------------- */

static inline long n_items(const mbt_batchnorm *op) { return (long)op->chunks * op->groups; }
static inline int parallel(const mbt_batchnorm *op) { return (long)op->s.n * op->s.c * op->s.hw >= PARALLEL_MIN; }
static inline double *part_of(const mbt_batchnorm *op, long item) { return op->part + item * 2 * LANES; }

/* Output pass: y = [relu](bn(x)) with the coefficients of slots 0..2 (called inside a parallel region). */
static void apply_pass(const mbt_batchnorm *op, const float *x, float *y) {
    int relu = (op->flags & MBT_BN_FUSE_RELU) != 0;
#pragma omp for schedule(static)
    for (long it = 0; it < n_items(op); it++) {
        int g, w;
        rows_t R = item_rows(op, it, &g, &w);
        k_apply(x + R.off, y + R.off, R, w, coef(op, 0, g), coef(op, 1, g), coef(op, 2, g), relu);
    }
}

mbt_status mbt_batchnorm_forward_train(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                       float *y, float *save_mean, float *save_var, void *workspace,
                                       float *running_mean, float *running_var) {
    (void)workspace;
    if (!op->part) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: training forward on an inference op");
    const double count = (double)op->rows, momentum = op->s.momentum;
#pragma omp parallel if (parallel(op))
    {
        /* per item: chunk sum, then squared deviations from the chunk mean */
#pragma omp for schedule(static)
        for (long it = 0; it < n_items(op); it++) {
            int g, w;
            rows_t R = item_rows(op, it, &g, &w);
            double *p = part_of(op, it), mk[LANES];
            memset(p, 0, 2 * LANES * sizeof(double));
            k_sum(x + R.off, R, w, p);
            for (int l = 0; l < LANES; l++) mk[l] = p[l] / R.count;
            k_sqdev(x + R.off, R, w, mk, p + LANES);
        }
        /* per channel: combine the chunks in order, save the statistics, set the coefficients */
#pragma omp for schedule(static)
        for (int g = 0; g < op->groups; g++) {
            int w = group_lanes(op, g), c0 = g * LANES;
            for (int l = 0; l < w; l++) {
                double sum = 0, m2 = 0;
                for (int k = 0; k < op->chunks; k++) sum += part_of(op, (long)k * op->groups + g)[l];
                double mean = sum / count;
                for (int k = 0; k < op->chunks; k++) {
                    long it = (long)k * op->groups + g;
                    int g2, w2;
                    const double *p = part_of(op, it);
                    double nk = item_rows(op, it, &g2, &w2).count, dm = p[l] / nk - mean;
                    m2 += p[LANES + l] + nk * dm * dm;
                }
                save_mean[c0 + l] = (float)mean;
                save_var[c0 + l] = (float)(m2 / count);
                if (running_mean && running_var) {
                    running_mean[c0 + l] = (float)((1.0 - momentum) * running_mean[c0 + l] + momentum * mean);
                    running_var[c0 + l] =
                        (float)((1.0 - momentum) * running_var[c0 + l] + momentum * (m2 / (count - 1.0)));
                }
            }
            coef_forward(op, c0, w, save_mean, save_var, gamma, beta, coef(op, 0, g), coef(op, 1, g), coef(op, 2, g));
        }
        apply_pass(op, x, y);
    }
    return MBT_OK;
}

mbt_status mbt_batchnorm_forward_eval(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var, float *y) {
    for (int g = 0; g < op->groups; g++)
        coef_forward(op, g * LANES, group_lanes(op, g), running_mean, running_var, gamma, beta, coef(op, 0, g),
                     coef(op, 1, g), coef(op, 2, g));
#pragma omp parallel if (parallel(op))
    apply_pass(op, x, y);
    return MBT_OK;
}

mbt_status mbt_batchnorm_backward(mbt_batchnorm *op, const float *x, const float *gamma, const float *beta,
                                  const float *save_mean, const float *save_var, const void *workspace,
                                  const float *dy, float *dx, float *dgamma, float *dbeta) {
    (void)workspace;
    if (!op->part) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: backward on an inference op");
    const int relu = (op->flags & MBT_BN_FUSE_RELU) != 0;
    const double count = (double)op->rows;
    for (int g = 0; g < op->groups; g++)
        coef_forward(op, g * LANES, group_lanes(op, g), save_mean, save_var, gamma, beta, coef(op, 0, g),
                     coef(op, 1, g), coef(op, 2, g));
#pragma omp parallel if (parallel(op))
    {
        /* per item: sum d and sum (x - mean) d */
#pragma omp for schedule(static)
        for (long it = 0; it < n_items(op); it++) {
            int g, w;
            rows_t R = item_rows(op, it, &g, &w);
            double *p = part_of(op, it);
            memset(p, 0, 2 * LANES * sizeof(double));
            k_bwd_reduce(x + R.off, dy + R.off, R, w, coef(op, 0, g), coef(op, 1, g), coef(op, 2, g), relu, p);
        }
        /* per channel: dgamma += sum (x - mean) d * invstd, dbeta += sum d; dx coefficients */
#pragma omp for schedule(static)
        for (int g = 0; g < op->groups; g++) {
            int w = group_lanes(op, g), c0 = g * LANES;
            float *gm = coef(op, 3, g), *kk = coef(op, 4, g), *aa = coef(op, 5, g);
            for (int l = 0; l < LANES; l++) gm[l] = kk[l] = aa[l] = 0.0f;
            for (int l = 0; l < w; l++) {
                double sd = 0, dot = 0;
                for (int k = 0; k < op->chunks; k++) {
                    const double *p = part_of(op, (long)k * op->groups + g);
                    sd += p[l];
                    dot += p[LANES + l];
                }
                double invstd = 1.0 / sqrt((double)save_var[c0 + l] + (double)op->s.eps);
                dgamma[c0 + l] += (float)(dot * invstd);
                dbeta[c0 + l] += (float)sd;
                gm[l] = (float)(sd / count);
                kk[l] = (float)(dot * invstd * invstd / count);
                aa[l] = (float)(gamma[c0 + l] * invstd);
            }
        }
#pragma omp for schedule(static)
        for (long it = 0; it < n_items(op); it++) {
            int g, w;
            rows_t R = item_rows(op, it, &g, &w);
            k_bwd_apply(x + R.off, dy + R.off, dx + R.off, R, w, coef(op, 0, g), coef(op, 1, g), coef(op, 2, g), relu,
                        coef(op, 3, g), coef(op, 4, g), coef(op, 5, g));
        }
    }
    return MBT_OK;
}
