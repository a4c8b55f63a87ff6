/* Batch normalisation on the CPU backend: hand-written OpenMP kernels whose per-channel reductions
 * (mean, variance, sum dy, sum dy * (x - mean)) are accumulated in double, as PyTorch's CPU batch
 * norm does, and whose element-wise passes run in float on 8-lane vectors.
 *
 * Geometry. Channels are taken in groups of 8 ("lanes"); a "row" is the 8 values of one group at
 * one (sample, position). In the blocked layout [n][c/b][hw][b] a group's rows within a sample are
 * b floats apart; for hw = 1 the layout is [n][c] and a group's rows are c floats apart (a last
 * group of fewer than 8 channels, possible only there, takes a scalar path). A work item is a chunk
 * of samples times a block of consecutive groups, about CHUNK_ROWS rows (128 KiB) in all, walked
 * sample by sample so that memory is read in long contiguous runs. Each (chunk, group) has its own
 * partial sums; the cut depends on the shape only, and the partials are combined per channel in
 * chunk order, so every result is the same whatever the number of threads.
 *
 * Statistics. Each item makes two passes over its rows (which stay in cache): the sums of its
 * (chunk, group)s, then the squared deviations from each chunk's mean. Chunks are combined exactly
 * (Chan et al.): M2 = sum_k [M2_k + n_k (mean_k - mean)^2], so the variance is the mean of squared
 * deviations from the batch mean, never E[x^2] - E[x]^2, and x is read from memory once for the
 * statistics. As in PyTorch, each term ((x - m)^2, (x - mean) dy) is formed in float and the sums
 * are accumulated in double.
 *
 * Fused ReLU. y = relu(bn(x)). The mask is not stored (workspace 0 bytes): backward recomputes
 * bn(x) from x and the saved mean/variance with the same float expression as the forward, so the
 * mask (bn(x) > 0, as PyTorch's threshold_backward) is bit-identical to the forward's.
 *
 * Outputs of 32 MiB or more are written with streaming stores (they would not stay in cache).
 * x and y (dy and dx) may be the same buffer: each element is read before it is written. An op
 * keeps per-call scratch (partial sums, coefficients): calls on one op must not run concurrently. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/backend_cpu.h"
#include "ops/onednn_context.h"

#ifdef __AVX__
#include <immintrin.h>
#endif

enum { LANES = 8, CHUNK_ROWS = 4096, PARALLEL_MIN = 1 << 15 };
#define STREAM_MIN_BYTES ((size_t)32 << 20)

/* GCC/Clang vector extensions: 8 floats per row, accumulated as two halves of 4 doubles. */
typedef float f8 __attribute__((vector_size(32)));
typedef int i8 __attribute__((vector_size(32)));
typedef double d4 __attribute__((vector_size(32)));

struct mbt_batchnorm_cpu {
    mbt_batchnorm_shape s;
    int flags;
    int groups;      /* ceil(c / 8) */
    int chunks;      /* chunks of samples */
    int chunk_n;     /* samples per chunk (the last chunk may have fewer) */
    int gblock;      /* groups per work item (the last block may have fewer) */
    int gblocks;     /* blocks of groups */
    long rows;       /* rows per group: n * hw */
    long n_stride;   /* between samples: c * hw */
    int blk;         /* channels per block of the layout (c when hw = 1) */
    long *goff;      /* [groups] offset of each group's first row in sample 0 */
    double *part;    /* [chunks][groups][2][8] partial sums (training ops only) */
    float *coef;     /* [6][groups][8] per-call channel coefficients (see coef()) */
};

static inline f8 ld8(const float *p) {
    f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline d4 ld4(const double *p) {
    d4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline d4 round_to_float(d4 v) {
    return __builtin_convertvector(__builtin_convertvector(v, float __attribute__((vector_size(16)))), d4);
}
/* Stores 8 floats; nt: a streaming store that bypasses the caches (p 32-byte aligned). */
static inline void put8(float *p, f8 v, int nt) {
#ifdef __AVX__
    if (nt) {
        _mm256_stream_ps(p, (__m256)v);
        return;
    }
#endif
    (void)nt;
    memcpy(p, &v, sizeof v);
}
static inline void store_fence(void) {
#ifdef __AVX__
    _mm_sfence(); /* streaming stores are weakly ordered: complete them before the caller's barrier */
#endif
}
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

/* Lanes of group g. */
static inline int group_lanes(const mbt_batchnorm_cpu *op, int g) {
    int w = op->s.c - g * LANES;
    return w < LANES ? w : LANES;
}

/* Equally spaced rows: `rows` rows `stride` floats apart, the first at offset `off`. */
typedef struct {
    long off, rows, stride;
} rows_t;

/* Work item `it`: samples [i0, i1) of chunk k, groups [g0, g1). */
typedef struct {
    int k, i0, i1, g0, g1;
} item_t;

static item_t item_of(const mbt_batchnorm_cpu *op, long it) {
    item_t t;
    t.k = (int)(it / op->gblocks);
    t.i0 = t.k * op->chunk_n;
    t.i1 = t.i0 + op->chunk_n < op->s.n ? t.i0 + op->chunk_n : op->s.n;
    t.g0 = (int)(it % op->gblocks) * op->gblock;
    t.g1 = t.g0 + op->gblock < op->groups ? t.g0 + op->gblock : op->groups;
    return t;
}

/* Rows of group g in the item's samples from i: for hw = 1 one run down to i1, else sample i. */
static inline rows_t segment(const mbt_batchnorm_cpu *op, const item_t *t, int i, int g) {
    if (op->s.hw == 1) return (rows_t){(long)i * op->s.c + (long)g * LANES, t->i1 - i, op->s.c};
    return (rows_t){op->goff[g] + i * op->n_stride, op->s.hw, op->blk};
}

/* Runs the statements for each segment R of group g of item T: samples outer, groups inner. */
#define FOR_SEGMENTS(op, T, g, R, ...)                                                       \
    for (int i_ = (T).i0; i_ < (T).i1; i_ += (op)->s.hw == 1 ? (T).i1 - (T).i0 : 1)        \
        for (int g = (T).g0; g < (T).g1; g++) {                                              \
            rows_t R = segment(op, &(T), i_, g);                                             \
            __VA_ARGS__;                                                                     \
        }

/* Runs the statement for every row, with PTR the row's offset from the segment's start. */
#define FOR_ROWS(R, PTR, ...)                               \
    for (long r_ = 0; r_ < (R).rows; r_++) {                \
        long PTR = r_ * (R).stride;                         \
        __VA_ARGS__;                                        \
    }

/* ---- kernels over an item's rows (w = 8 lanes vectorised; fewer lanes scalar) ------------------ */

/* acc[l] += sum of x over the rows, l < w. */
static void k_sum(const float *x, rows_t R, int w, double *acc) {
    if (w == LANES) {
        d4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        long r = 0;
        for (; r + 2 <= R.rows; r += 2) {
            f8 u = ld8(x + r * R.stride), v = ld8(x + (r + 1) * R.stride);
            a0 += lo4(u), a1 += hi4(u), b0 += lo4(v), b1 += hi4(v);
        }
        if (r < R.rows) {
            f8 u = ld8(x + r * R.stride);
            a0 += lo4(u), a1 += hi4(u);
        }
        a0 += b0, a1 += b1;
        for (int l = 0; l < 4; l++) acc[l] += a0[l], acc[l + 4] += a1[l];
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) acc[l] += x[at + l]);
}

/* acc[l] += sum of (x - m[l])^2 over the rows: each term in float (as PyTorch), summed in double. */
static void k_sqdev(const float *x, rows_t R, int w, const float *m, double *acc) {
    if (w == LANES) {
        f8 mv = ld8(m);
        d4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        long r = 0;
        for (; r + 2 <= R.rows; r += 2) {
            f8 du = ld8(x + r * R.stride) - mv, dv = ld8(x + (r + 1) * R.stride) - mv;
            du *= du, dv *= dv;
            a0 += lo4(du), a1 += hi4(du), b0 += lo4(dv), b1 += hi4(dv);
        }
        if (r < R.rows) {
            f8 du = ld8(x + r * R.stride) - mv;
            du *= du;
            a0 += lo4(du), a1 += hi4(du);
        }
        a0 += b0, a1 += b1;
        for (int l = 0; l < 4; l++) acc[l] += a0[l], acc[l + 4] += a1[l];
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        float d = x[at + l] - m[l];
        acc[l] += d * d;
    });
}

/* y = [relu]((x - mean) * scale + beta), coefficients per lane; nt: streaming stores. */
static inline __attribute__((always_inline)) void k_apply_(const float *x, float *y, rows_t R, const float *mean,
                                                           const float *scale, const float *beta, int relu, int nt) {
    f8 m = ld8(mean), s = ld8(scale), b = ld8(beta);
    FOR_ROWS(R, at, {
        f8 t = affine8(ld8(x + at), m, s, b);
        put8(y + at, relu ? mask8(t, keep8(t)) : t, nt);
    });
    if (nt) store_fence();
}

static void k_apply(const float *x, float *y, rows_t R, int w, const float *mean, const float *scale,
                    const float *beta, int relu, int nt) {
    if (w == LANES) {
        if (relu) nt ? k_apply_(x, y, R, mean, scale, beta, 1, 1) : k_apply_(x, y, R, mean, scale, beta, 1, 0);
        else nt ? k_apply_(x, y, R, mean, scale, beta, 0, 1) : k_apply_(x, y, R, mean, scale, beta, 0, 0);
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        float t = affine1(x[at + l], mean[l], scale[l], beta[l]);
        y[at + l] = relu && t <= 0 ? 0.0f : t;
    });
}

/* With d = dy (masked by the recomputed ReLU when fused): acc[l] += sum d, acc[8 + l] += sum
 * (x - mean) * d, each term in float (as PyTorch), summed in double. */
static inline __attribute__((always_inline)) void k_bwd_reduce_(const float *x, const float *dy, rows_t R,
                                                                const float *mean, const float *scale,
                                                                const float *beta, int relu, double *acc) {
    f8 m = ld8(mean), s = ld8(scale), b = ld8(beta);
    d4 s0 = {0}, s1 = {0}, p0 = {0}, p1 = {0}, t0 = {0}, t1 = {0}, q0 = {0}, q1 = {0};
    long r = 0;
    for (; r + 2 <= R.rows; r += 2) {
        f8 u = ld8(x + r * R.stride), d = ld8(dy + r * R.stride);
        f8 v = ld8(x + (r + 1) * R.stride), e = ld8(dy + (r + 1) * R.stride);
        if (relu) d = mask8(d, keep8(affine8(u, m, s, b))), e = mask8(e, keep8(affine8(v, m, s, b)));
        f8 pu = (u - m) * d, pv = (v - m) * e;
        s0 += lo4(d), s1 += hi4(d), t0 += lo4(e), t1 += hi4(e);
        p0 += lo4(pu), p1 += hi4(pu), q0 += lo4(pv), q1 += hi4(pv);
    }
    if (r < R.rows) {
        f8 u = ld8(x + r * R.stride), d = ld8(dy + r * R.stride);
        if (relu) d = mask8(d, keep8(affine8(u, m, s, b)));
        f8 pu = (u - m) * d;
        s0 += lo4(d), s1 += hi4(d);
        p0 += lo4(pu), p1 += hi4(pu);
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
        acc[LANES + l] += (u - mean[l]) * d;
    });
}

/* dx = ((d - gmean) - (x - mean) * k) * a, d as in k_bwd_reduce; nt: streaming stores. */
static inline __attribute__((always_inline)) void k_bwd_apply_(const float *x, const float *dy, float *dx, rows_t R,
                                                               const float *const c[6], int relu, int nt) {
    f8 m = ld8(c[0]), s = ld8(c[1]), b = ld8(c[2]), gm = ld8(c[3]), kk = ld8(c[4]), aa = ld8(c[5]);
    FOR_ROWS(R, at, {
        f8 u = ld8(x + at), d = ld8(dy + at);
        if (relu) d = mask8(d, keep8(affine8(u, m, s, b)));
        put8(dx + at, ((d - gm) - (u - m) * kk) * aa, nt);
    });
    if (nt) store_fence();
}

/* c: the channel coefficients mean, scale, beta, gmean, k, a of the item's lanes. */
static void k_bwd_apply(const float *x, const float *dy, float *dx, rows_t R, int w, const float *const c[6], int relu,
                        int nt) {
    if (w == LANES) {
        if (relu) nt ? k_bwd_apply_(x, dy, dx, R, c, 1, 1) : k_bwd_apply_(x, dy, dx, R, c, 1, 0);
        else nt ? k_bwd_apply_(x, dy, dx, R, c, 0, 1) : k_bwd_apply_(x, dy, dx, R, c, 0, 0);
        return;
    }
    FOR_ROWS(R, at, for (int l = 0; l < w; l++) {
        float u = x[at + l], d = dy[at + l];
        if (relu && affine1(u, c[0][l], c[1][l], c[2][l]) <= 0) d = 0.0f;
        dx[at + l] = ((d - c[3][l]) - (u - c[0][l]) * c[4][l]) * c[5][l];
    });
}

/* ---- per-channel coefficients ---------------------------------------------------------------- */

/* The forward's coefficients of channels [c0, c0 + w) from a float mean and variance; the backward
 * recomputes them from save_mean/save_var with this same function. */
static void coef_forward(const mbt_batchnorm_cpu *op, int c0, int w, const float *mean, const float *var,
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
static inline float *coef(const mbt_batchnorm_cpu *op, int slot, int g) {
    return op->coef + (size_t)slot * op->groups * LANES + (size_t)g * LANES;
}

/* ---- creation -------------------------------------------------------------------------------- */

mbt_status mbt_batchnorm_cpu_create(mbt_batchnorm_cpu **out, const mbt_batchnorm_shape *shape, int flags) {
    *out = NULL;
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
    mbt_batchnorm_cpu *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory");
    op->s = *shape;
    op->flags = flags;
    op->groups = (shape->c + LANES - 1) / LANES;
    op->rows = (long)shape->n * shape->hw;
    /* hw = 1: items of one group (rows c floats apart) and CHUNK_ROWS samples; else as many whole
     * groups of a sample as fit CHUNK_ROWS rows, and as many samples as fit the rest */
    op->gblock = shape->hw == 1 || shape->hw >= CHUNK_ROWS ? 1 : CHUNK_ROWS / shape->hw;
    if (op->gblock > op->groups) op->gblock = op->groups;
    op->gblocks = (op->groups + op->gblock - 1) / op->gblock;
    long fit = CHUNK_ROWS / ((long)shape->hw * op->gblock);
    op->chunk_n = fit > 1 ? (int)fit : 1;
    op->chunks = (shape->n + op->chunk_n - 1) / op->chunk_n;
    op->blk = shape->hw == 1 ? shape->c : b;
    op->n_stride = (long)shape->c * shape->hw;
    op->coef = calloc((size_t)6 * op->groups * LANES, sizeof(float));
    op->goff = malloc((size_t)op->groups * sizeof(long));
    for (int g = 0; op->goff && g < op->groups; g++) {
        long ch = (long)g * LANES;
        op->goff[g] = ch / op->blk * shape->hw * op->blk + ch % op->blk;
    }
    if (!(flags & MBT_BN_INFERENCE))
        op->part = calloc((size_t)op->chunks * op->groups * 2 * LANES, sizeof(double));
    if (!op->coef || !op->goff || (!(flags & MBT_BN_INFERENCE) && !op->part)) {
        mbt_batchnorm_cpu_destroy(op);
        return MBT_FAIL(MBT_ERR_NOMEM, "batchnorm: out of memory for n=%d c=%d hw=%d", shape->n, shape->c, shape->hw);
    }
    *out = op;
    return MBT_OK;
}

void mbt_batchnorm_cpu_destroy(mbt_batchnorm_cpu *op) {
    if (!op) return;
    free(op->part);
    free(op->coef);
    free(op->goff);
    free(op);
}

size_t mbt_batchnorm_cpu_workspace_bytes(const mbt_batchnorm_cpu *op) {
    (void)op;
    return 0; /* the fused ReLU's mask is recomputed in backward */
}

/* ---- passes ---------------------------------------------------------------------------------- */

static inline long n_items(const mbt_batchnorm_cpu *op) { return (long)op->chunks * op->gblocks; }
static inline int parallel(const mbt_batchnorm_cpu *op) { return (long)op->s.n * op->s.c * op->s.hw >= PARALLEL_MIN; }
/* Whether outputs go to `out` with streaming stores: tensors too large to stay in the last-level
 * cache, whose rows are all 32-byte aligned. */
static inline int streaming(const mbt_batchnorm_cpu *op, const float *out) {
#ifdef __AVX__
    return (size_t)op->s.n * op->s.c * op->s.hw * sizeof(float) >= STREAM_MIN_BYTES && (uintptr_t)out % 32 == 0 &&
           op->s.c % LANES == 0;
#else
    (void)op, (void)out;
    return 0;
#endif
}
/* Partial sums of (chunk k, group g): [0..8) a sum, [8..16) a second one. */
static inline double *part_of(const mbt_batchnorm_cpu *op, int k, int g) {
    return op->part + ((size_t)k * op->groups + g) * 2 * LANES;
}
/* Values per channel in chunk k. */
static inline double chunk_count(const mbt_batchnorm_cpu *op, int k) {
    int i1 = (k + 1) * op->chunk_n < op->s.n ? (k + 1) * op->chunk_n : op->s.n;
    return (double)(i1 - k * op->chunk_n) * op->s.hw;
}

/* Output pass: y = [relu](bn(x)) with the coefficients of slots 0..2; the last work of a parallel
 * region (no barrier of its own: the region's end is one). */
static void apply_pass(const mbt_batchnorm_cpu *op, const float *x, float *y) {
    int relu = (op->flags & MBT_BN_FUSE_RELU) != 0, nt = streaming(op, y);
#pragma omp for schedule(static) nowait
    for (long it = 0; it < n_items(op); it++) {
        item_t t = item_of(op, it);
        FOR_SEGMENTS(op, t, g, R,
                     k_apply(x + R.off, y + R.off, R, group_lanes(op, g), coef(op, 0, g), coef(op, 1, g),
                             coef(op, 2, g), relu, nt));
    }
}

mbt_status mbt_batchnorm_cpu_forward_train(mbt_batchnorm_cpu *op, const float *x, const float *gamma, const float *beta,
                                       float *y, float *save_mean, float *save_var, void *workspace,
                                       float *running_mean, float *running_var) {
    (void)workspace;
    if (!op->part) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: training forward on an inference op");
    const double count = (double)op->rows, momentum = op->s.momentum;
#pragma omp parallel if (parallel(op))
    {
        /* per (chunk, group): the sum, then the squared deviations from the chunk mean */
#pragma omp for schedule(static)
        for (long it = 0; it < n_items(op); it++) {
            item_t t = item_of(op, it);
            double inv = 1.0 / chunk_count(op, t.k);
            for (int g = t.g0; g < t.g1; g++) memset(part_of(op, t.k, g), 0, 2 * LANES * sizeof(double));
            FOR_SEGMENTS(op, t, g, R, k_sum(x + R.off, R, group_lanes(op, g), part_of(op, t.k, g)));
            FOR_SEGMENTS(op, t, g, R, {
                double *p = part_of(op, t.k, g);
                float mk[LANES];
                for (int l = 0; l < LANES; l++) mk[l] = (float)(p[l] * inv);
                k_sqdev(x + R.off, R, group_lanes(op, g), mk, p + LANES);
            });
        }
        /* per channel: combine the chunks in order, save the statistics, set the coefficients */
#pragma omp for schedule(static)
        for (int g = 0; g < op->groups; g++) {
            int w = group_lanes(op, g), c0 = g * LANES;
            d4 sum[2] = {{0}, {0}}, m2[2] = {{0}, {0}}, mean[2];
            for (int k = 0; k < op->chunks; k++)
                for (int h = 0; h < 2; h++) sum[h] += ld4(part_of(op, k, g) + 4 * h);
            for (int h = 0; h < 2; h++) mean[h] = sum[h] / count;
            for (int k = 0; k < op->chunks; k++) {
                /* p[8..16) is about the float chunk mean mf: sum (x - mk)^2 = it - nk (mk - mf)^2 */
                const double *p = part_of(op, k, g);
                double nk = chunk_count(op, k), inv = 1.0 / nk;
                for (int h = 0; h < 2; h++) {
                    d4 mk = ld4(p + 4 * h) * inv, mf = round_to_float(mk), dm = mk - mean[h];
                    m2[h] += ld4(p + LANES + 4 * h) - nk * (mk - mf) * (mk - mf) + nk * dm * dm;
                }
            }
            for (int l = 0; l < w; l++) {
                double mu = mean[l / 4][l % 4], var = m2[l / 4][l % 4] / count;
                save_mean[c0 + l] = (float)mu;
                save_var[c0 + l] = (float)var;
                if (running_mean && running_var) {
                    running_mean[c0 + l] = (float)((1.0 - momentum) * running_mean[c0 + l] + momentum * mu);
                    running_var[c0 + l] =
                        (float)((1.0 - momentum) * running_var[c0 + l] + momentum * (var * count / (count - 1.0)));
                }
            }
            coef_forward(op, c0, w, save_mean, save_var, gamma, beta, coef(op, 0, g), coef(op, 1, g), coef(op, 2, g));
        }
        apply_pass(op, x, y);
    }
    return MBT_OK;
}

mbt_status mbt_batchnorm_cpu_forward_eval(mbt_batchnorm_cpu *op, const float *x, const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var, float *y) {
    for (int g = 0; g < op->groups; g++)
        coef_forward(op, g * LANES, group_lanes(op, g), running_mean, running_var, gamma, beta, coef(op, 0, g),
                     coef(op, 1, g), coef(op, 2, g));
#pragma omp parallel if (parallel(op))
    apply_pass(op, x, y);
    return MBT_OK;
}

mbt_status mbt_batchnorm_cpu_backward(mbt_batchnorm_cpu *op, const float *x, const float *gamma, const float *beta,
                                  const float *save_mean, const float *save_var, const void *workspace,
                                  const float *dy, float *dx, float *dgamma, float *dbeta) {
    (void)workspace;
    if (!op->part) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: backward on an inference op");
    const int relu = (op->flags & MBT_BN_FUSE_RELU) != 0, nt = streaming(op, dx);
    const double count = (double)op->rows;
    for (int g = 0; g < op->groups; g++)
        coef_forward(op, g * LANES, group_lanes(op, g), save_mean, save_var, gamma, beta, coef(op, 0, g),
                     coef(op, 1, g), coef(op, 2, g));
#pragma omp parallel if (parallel(op))
    {
        /* per (chunk, group): sum d and sum (x - mean) d */
#pragma omp for schedule(static)
        for (long it = 0; it < n_items(op); it++) {
            item_t t = item_of(op, it);
            for (int g = t.g0; g < t.g1; g++) memset(part_of(op, t.k, g), 0, 2 * LANES * sizeof(double));
            FOR_SEGMENTS(op, t, g, R,
                         k_bwd_reduce(x + R.off, dy + R.off, R, group_lanes(op, g), coef(op, 0, g), coef(op, 1, g),
                                      coef(op, 2, g), relu, part_of(op, t.k, g)));
        }
        /* per channel: dgamma += sum (x - mean) d * invstd, dbeta += sum d; dx coefficients */
#pragma omp for schedule(static)
        for (int g = 0; g < op->groups; g++) {
            int w = group_lanes(op, g), c0 = g * LANES;
            float *gm = coef(op, 3, g), *kk = coef(op, 4, g), *aa = coef(op, 5, g);
            for (int l = 0; l < LANES; l++) gm[l] = kk[l] = aa[l] = 0.0f;
            d4 sum[4] = {{0}, {0}, {0}, {0}}; /* sum d, then sum (x - mean) d */
            for (int k = 0; k < op->chunks; k++)
                for (int h = 0; h < 4; h++) sum[h] += ld4(part_of(op, k, g) + 4 * h);
            for (int l = 0; l < w; l++) {
                double sd = sum[l / 4][l % 4], dot = sum[2 + l / 4][l % 4];
                double invstd = 1.0 / sqrt((double)save_var[c0 + l] + (double)op->s.eps);
                dgamma[c0 + l] += (float)(dot * invstd);
                dbeta[c0 + l] += (float)sd;
                gm[l] = (float)(sd / count);
                kk[l] = (float)(dot * invstd * invstd / count);
                aa[l] = (float)(gamma[c0 + l] * invstd);
            }
        }
#pragma omp for schedule(static) nowait /* the region's end is the barrier */
        for (long it = 0; it < n_items(op); it++) {
            item_t t = item_of(op, it);
            FOR_SEGMENTS(op, t, g, R, {
                const float *const c[6] = {coef(op, 0, g), coef(op, 1, g), coef(op, 2, g),
                                           coef(op, 3, g), coef(op, 4, g), coef(op, 5, g)};
                k_bwd_apply(x + R.off, dy + R.off, dx + R.off, R, group_lanes(op, g), c, relu, nt);
            });
        }
    }
    return MBT_OK;
}
