/* Batch normalisation on the CUDA backend: own kernels over NCHW ([n, c] when hw = 1) with PyTorch's
 * semantics (ops/batchnorm.h), deterministic whatever the GPU.
 *
 * Reductions are two-level: a block per (channel, slice of samples) sums its values in double
 * (mbt_block_sum: a fixed order for a fixed block size), then one thread per channel adds the slices'
 * partial sums in slice order. The slicing depends on the shape only. The variance is the mean of
 * squared deviations from the batch mean (a second pass), never E[x^2] - E[x]^2.
 *
 * Element-wise passes compute y = fmaf(x - m, a, beta) per channel with m = the float mean, a =
 * gamma / sqrt(var + eps) rounded to float. The fused ReLU keeps no mask (workspace 0 bytes):
 * backward recomputes y from x and the saved mean/variance with the same expression and the same
 * per-channel coefficients (made by the same function from the same floats), so its mask is
 * bit-identical to the forward's. dy and dx may be the same buffer, as may x and y in the forward.
 *
 * bf16 (MBT_BN_BF16): x, y, dy and dx are bf16, loaded to float and stored rounded once (core/bf16.cuh);
 * statistics, coefficients, parameters and their gradients stay fp32 and the sums double. */
#include <math.h>
#include <stdlib.h>

#include "core/cuda.h"
#include "ops/backend_cuda.h"
#include "core/bf16.cuh"
#include "core/cuda_grid.cuh"

enum { SUM_THREADS = 256, SLICE_VALUES = 8192, MAX_SLICES = 65535 };

/* Per-channel coefficients, [K_COUNT][c] floats in the op's scratch. */
enum { K_MEAN, K_A, K_GM, K_KK, K_AA, K_COUNT };

struct mbt_batchnorm_cuda {
    mbt_batchnorm_shape s;
    int flags, bf16;
    int chunk_n, slices; /* samples per slice, slices of the batch */
    double *part;        /* [2][c][slices] partial sums (device) */
    double *mean;        /* [c] the batch mean in double (device) */
    float *coef;         /* [K_COUNT][c] (device) */
};

static const char *WHAT = "batchnorm (cuda)";

/* ---- kernels ---------------------------------------------------------------------------------- */

enum { SUM_X, SUM_SQDEV, SUM_GRAD };

/* The block (channel blockIdx.x, slice blockIdx.y) sums over its samples' values:
 * SUM_X: x -> part0; SUM_SQDEV: (x - mean)^2 -> part0; SUM_GRAD: g and g (x - m) -> part0, part1,
 * where g = dy (times the ReLU mask of y = fmaf(x - m, a, beta) when relu) and m the float mean. */
template <typename T>
static __global__ void k_sums(int mode, int n, int c, int hw, int chunk_n, const T *x, const T *dy,
                              const double *mean, const float *coef, const float *beta, int relu, double *part0,
                              double *part1) {
    const int ch = blockIdx.x, sl = blockIdx.y, slices = gridDim.y;
    const int i0 = sl * chunk_n, i1 = min(n, i0 + chunk_n);
    const size_t len = (size_t)(i1 - i0) * hw;
    const double mu = mode == SUM_SQDEV ? mean[ch] : 0.0;
    float m = 0.0f, a = 0.0f, bt = 0.0f;
    if (mode == SUM_GRAD) {
        m = coef[K_MEAN * c + ch];
        a = coef[K_A * c + ch];
        bt = beta[ch];
    }
    double s0 = 0.0, s1 = 0.0;
    for (size_t j = threadIdx.x; j < len; j += blockDim.x) {
        const size_t at = ((size_t)(i0 + j / hw) * c + ch) * hw + j % hw;
        const float v = mbt_load(x + at);
        if (mode == SUM_X) {
            s0 += v;
        } else if (mode == SUM_SQDEV) {
            const double d = (double)v - mu;
            s0 += d * d;
        } else {
            float g = mbt_load(dy + at);
            if (relu && fmaf(v - m, a, bt) <= 0.0f) g = 0.0f; /* NaN passes, as on the CPU */
            s0 += g;
            s1 += (double)g * ((double)v - (double)m);
        }
    }
    s0 = mbt_block_sum(s0);
    if (mode == SUM_GRAD) s1 = mbt_block_sum(s1);
    if (threadIdx.x == 0) {
        part0[(size_t)ch * slices + sl] = s0;
        if (mode == SUM_GRAD) part1[(size_t)ch * slices + sl] = s1;
    }
}

/* The sum of a channel's partial sums, in slice order. */
static __device__ double slice_total(const double *part, int ch, int slices) {
    double t = 0.0;
    for (int k = 0; k < slices; k++) t += part[(size_t)ch * slices + k];
    return t;
}

/* Forward coefficients of a channel from float statistics (the same in the forward and backward). */
static __device__ void forward_coef(float *coef, int c, int ch, float mean, float var, float gamma, float eps) {
    coef[K_MEAN * c + ch] = mean;
    coef[K_A * c + ch] = (float)((double)gamma / sqrt((double)var + (double)eps));
}

static __global__ void k_mean(int c, int slices, double count, const double *part, double *mean) {
    MBT_CUDA_FOR(ch, (size_t)c) mean[ch] = slice_total(part, (int)ch, slices) / count;
}

static __global__ void k_finish_train(int c, int slices, double count, float eps, float momentum, const double *part,
                                      const double *mean, const float *gamma, float *save_mean, float *save_var,
                                      float *running_mean, float *running_var, float *coef) {
    MBT_CUDA_FOR(k, (size_t)c) {
        const int ch = (int)k;
        const double mu = mean[ch], var = slice_total(part, ch, slices) / count;
        save_mean[ch] = (float)mu;
        save_var[ch] = (float)var;
        if (running_mean && running_var) {
            const double m = momentum;
            running_mean[ch] = (float)((1.0 - m) * running_mean[ch] + m * mu);
            running_var[ch] = (float)((1.0 - m) * running_var[ch] + m * (var * count / (count - 1.0)));
        }
        forward_coef(coef, c, ch, (float)mu, (float)var, gamma[ch], eps);
    }
}

static __global__ void k_eval_coef(int c, float eps, const float *running_mean, const float *running_var,
                                   const float *gamma, float *coef) {
    MBT_CUDA_FOR(ch, (size_t)c) forward_coef(coef, c, (int)ch, running_mean[ch], running_var[ch], gamma[ch], eps);
}

template <typename T>
static __global__ void k_apply(size_t total, int c, int hw, const float *coef, const float *beta, int relu, const T *x,
                               T *y) {
    MBT_CUDA_FOR(i, total) {
        const int ch = (int)(i / hw % c);
        float v = fmaf(mbt_load(x + i) - coef[K_MEAN * c + ch], coef[K_A * c + ch], beta[ch]);
        if (relu && v <= 0.0f) v = 0.0f; /* NaN stays NaN, as on the CPU and in PyTorch */
        mbt_store(y + i, v);
    }
}

/* Per channel: dgamma += sum g (x - m) invstd, dbeta += sum g; the dx coefficients. */
static __global__ void k_finish_backward(int c, int slices, double count, float eps, const double *part,
                                         const float *gamma, const float *save_var, float *dgamma, float *dbeta,
                                         float *coef) {
    MBT_CUDA_FOR(k, (size_t)c) {
        const int ch = (int)k;
        const double sd = slice_total(part, ch, slices), dot = slice_total(part + (size_t)c * slices, ch, slices);
        const double invstd = 1.0 / sqrt((double)save_var[ch] + (double)eps);
        dgamma[ch] += (float)(dot * invstd);
        dbeta[ch] += (float)sd;
        coef[K_GM * c + ch] = (float)(sd / count);
        coef[K_KK * c + ch] = (float)(dot * invstd * invstd / count);
        coef[K_AA * c + ch] = (float)((double)gamma[ch] * invstd);
    }
}

/* dx = gamma invstd (g - mean g - (x - m) invstd^2 mean(g (x - m))), g the (masked) dy. */
template <typename T>
static __global__ void k_backward_apply(size_t total, int c, int hw, const float *coef, const float *beta, int relu,
                                        const T *x, const T *dy, T *dx) {
    MBT_CUDA_FOR(i, total) {
        const int ch = (int)(i / hw % c);
        const float v = mbt_load(x + i), m = coef[K_MEAN * c + ch];
        float g = mbt_load(dy + i);
        if (relu && fmaf(v - m, coef[K_A * c + ch], beta[ch]) <= 0.0f) g = 0.0f;
        mbt_store(dx + i, coef[K_AA * c + ch] * (g - coef[K_GM * c + ch] - (v - m) * coef[K_KK * c + ch]));
    }
}

/* The launches of the kernels that touch activations, for element type T. */
template <typename T> struct bn_launch {
    static void sums(const mbt_batchnorm_cuda *op, cudaStream_t st, int mode, const void *x, const void *dy,
                     const double *mean, const float *coef, const float *beta, int relu, double *part0,
                     double *part1) {
        const mbt_batchnorm_shape *s = &op->s;
        const dim3 grid((unsigned)s->c, (unsigned)op->slices);
        k_sums<T><<<grid, SUM_THREADS, 0, st>>>(mode, s->n, s->c, s->hw, op->chunk_n, (const T *)x, (const T *)dy,
                                                mean, coef, beta, relu, part0, part1);
    }
    static void apply(size_t total, cudaStream_t st, int c, int hw, const float *coef, const float *beta, int relu,
                      const void *x, void *y) {
        k_apply<T><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(total, c, hw, coef, beta, relu, (const T *)x,
                                                                      (T *)y);
    }
    static void backward_apply(size_t total, cudaStream_t st, int c, int hw, const float *coef, const float *beta,
                               int relu, const void *x, const void *dy, void *dx) {
        k_backward_apply<T><<<mbt_cuda_blocks(total), MBT_CUDA_BLOCK, 0, st>>>(total, c, hw, coef, beta, relu,
                                                                               (const T *)x, (const T *)dy, (T *)dx);
    }
};

/* ---- host side -------------------------------------------------------------------------------- */

static size_t total_of(const mbt_batchnorm_cuda *op) { return (size_t)op->s.n * op->s.c * op->s.hw; }
static double count_of(const mbt_batchnorm_cuda *op) { return (double)op->s.n * op->s.hw; }
static int relu_of(const mbt_batchnorm_cuda *op) { return (op->flags & MBT_BN_FUSE_RELU) != 0; }

/* The activation kernels for the op's element type. */
#define SUMS(op, ...) \
    ((op)->bf16 ? bn_launch<mbt_bf16>::sums((op), __VA_ARGS__) : bn_launch<float>::sums((op), __VA_ARGS__))
#define APPLY(op, ...) ((op)->bf16 ? bn_launch<mbt_bf16>::apply(__VA_ARGS__) : bn_launch<float>::apply(__VA_ARGS__))
#define BACKWARD_APPLY(op, ...) \
    ((op)->bf16 ? bn_launch<mbt_bf16>::backward_apply(__VA_ARGS__) : bn_launch<float>::backward_apply(__VA_ARGS__))

extern "C" mbt_status mbt_batchnorm_cuda_create(mbt_batchnorm_cuda **out, const mbt_batchnorm_shape *s, int flags) {
    *out = NULL;
    if (s->n < 1 || s->c < 1 || s->hw < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "batchnorm: invalid shape n=%d c=%d hw=%d", s->n, s->c, s->hw);
    if (s->n < 2 && !(flags & MBT_BN_INFERENCE))
        return MBT_FAIL(MBT_ERR_SHAPE, "batchnorm: training needs more than one value per channel (n=%d)", s->n);
    if (!(s->eps >= 0.0f) || !(s->momentum >= 0.0f && s->momentum <= 1.0f))
        return MBT_FAIL(MBT_ERR_ARG, "batchnorm: eps %g must be >= 0 and momentum %g in [0, 1]", (double)s->eps,
                        (double)s->momentum);
    mbt_batchnorm_cuda *op = (mbt_batchnorm_cuda *)calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", WHAT);
    op->s = *s;
    op->flags = flags;
    op->bf16 = (flags & MBT_BN_BF16) != 0;
    int want = (SLICE_VALUES + s->hw - 1) / s->hw;
    op->chunk_n = want < 1 ? 1 : want > s->n ? s->n : want;
    op->slices = (s->n + op->chunk_n - 1) / op->chunk_n;
    mbt_status st = MBT_OK;
    if (op->slices > MAX_SLICES)
        st = MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: batch n=%d hw=%d needs %d slices (at most %d)", WHAT, s->n, s->hw,
                      op->slices, MAX_SLICES);
    if (st == MBT_OK)
        st = mbt_cuda_alloc("batchnorm (cuda) coefficients", (void **)&op->coef, (size_t)K_COUNT * s->c * sizeof(float));
    if (st == MBT_OK && !(flags & MBT_BN_INFERENCE))
        st = mbt_cuda_alloc("batchnorm (cuda) partial sums", (void **)&op->part,
                            (size_t)2 * s->c * op->slices * sizeof(double));
    if (st == MBT_OK && !(flags & MBT_BN_INFERENCE))
        st = mbt_cuda_alloc("batchnorm (cuda) mean", (void **)&op->mean, (size_t)s->c * sizeof(double));
    if (st != MBT_OK) {
        mbt_batchnorm_cuda_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

extern "C" void mbt_batchnorm_cuda_destroy(mbt_batchnorm_cuda *op) {
    if (!op) return;
    mbt_cuda_free(op->part);
    mbt_cuda_free(op->mean);
    mbt_cuda_free(op->coef);
    free(op);
}

extern "C" size_t mbt_batchnorm_cuda_workspace_bytes(const mbt_batchnorm_cuda *op) {
    (void)op;
    return 0; /* the fused ReLU's mask is recomputed in backward */
}

extern "C" mbt_status mbt_batchnorm_cuda_forward_train(mbt_batchnorm_cuda *op, const float *x, const float *gamma,
                                                      const float *beta, float *y, float *save_mean, float *save_var,
                                                      void *workspace, float *running_mean, float *running_var) {
    (void)workspace;
    if (!op->part) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: training forward on an inference op");
    const mbt_batchnorm_shape *s = &op->s;
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    const unsigned cb = mbt_cuda_blocks((size_t)s->c);
    SUMS(op, st, SUM_X, x, NULL, NULL, NULL, NULL, 0, op->part, NULL);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) sums");
    k_mean<<<cb, MBT_CUDA_BLOCK, 0, st>>>(s->c, op->slices, count_of(op), op->part, op->mean);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) mean");
    SUMS(op, st, SUM_SQDEV, x, NULL, op->mean, NULL, NULL, 0, op->part, NULL);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) squared deviations");
    k_finish_train<<<cb, MBT_CUDA_BLOCK, 0, st>>>(s->c, op->slices, count_of(op), s->eps, s->momentum, op->part,
                                                  op->mean, gamma, save_mean, save_var, running_mean, running_var,
                                                  op->coef);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) statistics");
    APPLY(op, total_of(op), st, s->c, s->hw, op->coef, beta, relu_of(op), x, y);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) forward");
    return MBT_OK;
}

extern "C" mbt_status mbt_batchnorm_cuda_forward_eval(mbt_batchnorm_cuda *op, const float *x, const float *gamma,
                                                     const float *beta, const float *running_mean,
                                                     const float *running_var, float *y) {
    const mbt_batchnorm_shape *s = &op->s;
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    k_eval_coef<<<mbt_cuda_blocks((size_t)s->c), MBT_CUDA_BLOCK, 0, st>>>(s->c, s->eps, running_mean, running_var,
                                                                          gamma, op->coef);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) evaluation coefficients");
    APPLY(op, total_of(op), st, s->c, s->hw, op->coef, beta, relu_of(op), x, y);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) evaluation forward");
    return MBT_OK;
}

extern "C" mbt_status mbt_batchnorm_cuda_backward(mbt_batchnorm_cuda *op, const float *x, const float *gamma,
                                                 const float *beta, const float *save_mean, const float *save_var,
                                                 const void *workspace, const float *dy, float *dx, float *dgamma,
                                                 float *dbeta) {
    (void)workspace;
    if (!op->part) return MBT_FAIL(MBT_ERR_ARG, "batchnorm: backward on an inference op");
    const mbt_batchnorm_shape *s = &op->s;
    cudaStream_t st;
    MBT_TRY(mbt_cuda_stream(&st));
    const unsigned cb = mbt_cuda_blocks((size_t)s->c);
    /* the forward's coefficients again, from the saved statistics */
    k_eval_coef<<<cb, MBT_CUDA_BLOCK, 0, st>>>(s->c, s->eps, save_mean, save_var, gamma, op->coef);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) backward coefficients");
    double *part1 = op->part + (size_t)s->c * op->slices;
    SUMS(op, st, SUM_GRAD, x, dy, NULL, op->coef, beta, relu_of(op), op->part, part1);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) gradient sums");
    k_finish_backward<<<cb, MBT_CUDA_BLOCK, 0, st>>>(s->c, op->slices, count_of(op), s->eps, op->part, gamma,
                                                     save_var, dgamma, dbeta, op->coef);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) parameter gradients");
    BACKWARD_APPLY(op, total_of(op), st, s->c, s->hw, op->coef, beta, relu_of(op), x, dy, dx);
    MBT_CUDA_LAUNCHED("batchnorm (cuda) backward");
    return MBT_OK;
}
