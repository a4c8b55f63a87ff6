/* conv2d 3x3, stride 1, by Winograd's minimal filtering F(m x m, 3x3), m = 2 or 4, on blocked
 * activations: (m+2)^2 matrix products (oneDNN's sgemm) per chunk of m x m output tiles, with
 * 2.25x (m = 2) or 4x (m = 4) fewer multiplications than the direct convolution.
 *
 * Transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), alpha = m+2,
 * matrices B^T (alpha x alpha), G (alpha x 3), A^T (m x alpha) below:
 *   forward, per tile t (an alpha x alpha input patch d, zero outside the image) and point xi:
 *     V[xi][t][ci] = (B^T d B)[xi], U[xi][ci][co] = (G g G^T)[xi], M[xi] = V[xi] U[xi] (sgemm),
 *     y tile (m x m) = A^T M A.
 *   backward data: the forward of dy with the flipped, transposed weights (padding 2 - pad).
 *   backward weights (the transposed identity): Z[xi][t][co] = (A e A^T)[xi] for the m x m tile e
 *     of dy, D[xi][co][ci] = sum_t Z[xi][t][co] V[xi][t][ci] (sgemm), dw[co][ci] (3x3) += G^T D G.
 * The transforms work on 8-channel vectors of the blocked layout; V, M and Z are [xi][tile][channel];
 * weights are transformed in double. F(4x4) rounds more than F(2x2) (its points reach 2 and its
 * coefficients 8): about 3x the error of a direct float convolution, F(2x2) about the same.
 *
 * Threads. Forward and backward data split the tiles evenly among threads, each working through
 * its tiles a chunk at a time with its own V and M (no synchronisation). Backward weights walks
 * chunks of tiles that depend on the shape only: all threads transform the chunk, then share out
 * the alpha^2 products, each accumulating into its own D[xi]; so results do not depend on the
 * thread count. Scratch (the backend's shared buffer): per-thread V and M, or the chunk's V, Z, D. */
#include "ops/conv2d_impl_cpu.h"

#include <dnnl.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "ops/onednn_context.h"

enum { CHUNK_FLOATS = 1 << 20 }; /* target floats of one chunk's V + M (4 MiB) */
enum { MIN_CHUNK = 64 };          /* fewest tiles per chunk (forward: the sgemm's M) */
enum { MIN_CHUNK_W = 512 };       /* backward weights (the sgemm's K) */

typedef float f8 __attribute__((vector_size(32)));

/* F(2x2, 3x3): points 0, 1, -1 (and infinity) */
static const double BT2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double AT2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
/* F(4x4, 3x3): points 0, 1, -1, 2, -2 (and infinity) */
static const double BT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                 {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
static const double AT4[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

#define BT(m, i, j) ((m) == 2 ? (float)BT2[i][j] : (float)BT4[i][j])
#define AT(m, i, j) ((m) == 2 ? (float)AT2[i][j] : (float)AT4[i][j])
#define GM(m, i, j) ((m) == 2 ? G2[i][j] : G4[i][j])
#define INLINE static inline __attribute__((always_inline))

/* A stride-1 3x3 convolution seen as tiles (the forward, or backward data). */
typedef struct {
    int m, alpha, xis;                           /* tile size, patch size, alpha^2 */
    int c_in, h, w, c_out, pad, ho, wo, th, tw;  /* th x tw tiles of m x m outputs per image */
    long tiles;                                  /* n * th * tw */
} wgeom;

struct mbt_conv2d_wino {
    mbt_conv2d_shape s;
    int B;
    wgeom fwd, bwd;
    int dirs;              /* MBT_CONV_DIR_* the op was made for */
    float *u_fwd, *u_bwd;  /* [xi][c_in][c_out] of each geometry (NULL when its direction is not run) */
    long chunk, chunk_w;   /* tiles per chunk: forward/backward data (per thread), backward weights */
    int nthr;
    size_t thr_floats;     /* per-thread V + M, forward and backward data */
    size_t off_z, off_d;   /* backward weights: [V][Z][D] */
};

INLINE f8 ld8(const float *p) {
    f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void st8(float *p, f8 v) { memcpy(p, &v, sizeof v); }

static wgeom make_wgeom(int m, int n, int c_in, int h, int w, int c_out, int pad) {
    wgeom g = {m, m + 2, (m + 2) * (m + 2), c_in, h, w, c_out, pad, h + 2 * pad - 2, w + 2 * pad - 2, 0, 0, 0};
    g.th = (g.ho + m - 1) / m;
    g.tw = (g.wo + m - 1) / m;
    g.tiles = (long)n * g.th * g.tw;
    return g;
}

int mbt_conv2d_wino_applies(const mbt_conv2d_shape *s) {
    int B = mbt_cpu_channel_block();
    return s->kernel == 3 && s->stride == 1 && s->pad <= 2 && s->n >= 1 && s->c_in % B == 0 && s->c_out % B == 0 &&
           s->c_in > 0 && s->c_out > 0 && mbt_conv2d_h_out(s) >= 1 && mbt_conv2d_w_out(s) >= 1 && B % 8 == 0;
}

mbt_status mbt_conv2d_wino_create(mbt_conv2d_wino **out, const mbt_conv2d_shape *s, int m, int dirs) {
    *out = NULL;
    if (!mbt_conv2d_wino_applies(s) || (m != 2 && m != 4) || !(dirs & MBT_CONV_DIRS_ALL) || (dirs & ~MBT_CONV_DIRS_ALL))
        return MBT_FAIL(MBT_ERR_SHAPE,
                        "conv2d (winograd F(%dx%d), directions %d): needs tiles of 2 or 4, directions 1..7, kernel 3, "
                        "stride 1, pad <= 2 and channels multiples of %d; got n=%d c_in=%d %dx%d c_out=%d kernel=%d "
                        "stride=%d pad=%d",
                        m, m, dirs, mbt_cpu_channel_block(), s->n, s->c_in, s->h, s->w, s->c_out, s->kernel,
                        s->stride, s->pad);
    mbt_conv2d_wino *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "conv2d (winograd): out of memory");
    op->s = *s;
    op->dirs = dirs;
    op->B = mbt_cpu_channel_block();
    op->fwd = make_wgeom(m, s->n, s->c_in, s->h, s->w, s->c_out, s->pad);
    op->bwd = make_wgeom(m, s->n, s->c_out, op->fwd.ho, op->fwd.wo, s->c_in, 2 - s->pad);
    op->nthr = omp_get_max_threads();
    int xis = op->fwd.xis;
    long per_row = (long)xis * (s->c_in + s->c_out); /* floats of V + M (or V + Z) per tile */
    long per_thread = (op->fwd.tiles > op->bwd.tiles ? op->fwd.tiles : op->bwd.tiles) + op->nthr - 1;
    per_thread /= op->nthr;
    op->chunk = CHUNK_FLOATS / per_row;
    if (op->chunk < MIN_CHUNK) op->chunk = MIN_CHUNK;
    if (op->chunk > per_thread) op->chunk = per_thread;
    op->chunk_w = CHUNK_FLOATS / per_row; /* the products' inner dimension: at least MIN_CHUNK_W */
    if (op->chunk_w < MIN_CHUNK_W) op->chunk_w = MIN_CHUNK_W;
    if (op->chunk_w > op->fwd.tiles) op->chunk_w = op->fwd.tiles;
    op->thr_floats = ((size_t)op->chunk * per_row + 15) & ~(size_t)15;
    op->off_z = (size_t)xis * op->chunk_w * s->c_in;
    op->off_d = op->off_z + (size_t)xis * op->chunk_w * s->c_out;
    size_t nu = (size_t)xis * s->c_in * s->c_out;
    size_t need = op->nthr * op->thr_floats, need_w = op->off_d + nu;
    mbt_status st = mbt_cpu_scratch_reserve((need > need_w ? need : need_w) * sizeof(float), "conv2d (winograd)");
    if (st == MBT_OK) {
        /* transformed weights only for the directions that use them (backward weights needs none) */
        if (dirs & MBT_CONV_DIR_FWD) op->u_fwd = malloc(nu * sizeof(float));
        if (dirs & MBT_CONV_DIR_BWD_DATA) op->u_bwd = malloc(nu * sizeof(float));
        if (((dirs & MBT_CONV_DIR_FWD) && !op->u_fwd) || ((dirs & MBT_CONV_DIR_BWD_DATA) && !op->u_bwd))
            st = MBT_FAIL(MBT_ERR_NOMEM, "conv2d (winograd): out of memory for %zu transformed weights", 2 * nu);
    }
    if (st != MBT_OK) {
        mbt_conv2d_wino_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_conv2d_wino_destroy(mbt_conv2d_wino *op) {
    if (!op) return;
    free(op->u_fwd);
    free(op->u_bwd);
    free(op);
}

/* u[xi] = (G g G^T)[xi] for one 3x3 filter g (row-major), in double, written at u + xi * stride. */
INLINE void filter_transform(const int m, const float g[9], float *u, size_t stride) {
    const int a = m + 2;
    double t[6][3];
    for (int i = 0; i < a; i++)
        for (int c = 0; c < 3; c++) t[i][c] = GM(m, i, 0) * g[c] + GM(m, i, 1) * g[3 + c] + GM(m, i, 2) * g[6 + c];
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++)
            u[(size_t)(i * a + j) * stride] = (float)(t[i][0] * GM(m, j, 0) + t[i][1] * GM(m, j, 1) + t[i][2] * GM(m, j, 2));
}

mbt_status mbt_conv2d_wino_set_weights(mbt_conv2d_wino *op, const float *w) {
    int ci_n = op->s.c_in, co_n = op->s.c_out, m = op->fwd.m;
    size_t plane = (size_t)ci_n * co_n;
#pragma omp parallel for schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int ci = 0; ci < ci_n; ci++) {
            const float *g = w + ((size_t)co * ci_n + ci) * 9;
            float flip[9];
            for (int i = 0; i < 9; i++) flip[i] = g[8 - i];
            float *uf = op->u_fwd ? op->u_fwd + (size_t)ci * co_n + co : NULL; /* [xi][ci][co] */
            float *ub = op->u_bwd ? op->u_bwd + (size_t)co * ci_n + ci : NULL; /* [xi][co][ci] */
            if (uf && m == 2) filter_transform(2, g, uf, plane);
            if (uf && m == 4) filter_transform(4, g, uf, plane);
            if (ub && m == 2) filter_transform(2, flip, ub, plane);
            if (ub && m == 4) filter_transform(4, flip, ub, plane);
        }
    return MBT_OK;
}

/* V rows [0, nt) for tiles [t0, t0 + nt) of g on x: V[xi][i][c] at v + xi * plane + i * c_in + c. */
INLINE void input_transform_m(const int m, const wgeom *g, int B, const float *x, long t0, long nt, float *v,
                              size_t plane) {
    const int a = m + 2;
    size_t img_size = (size_t)g->c_in * g->h * g->w;
    int per_img = g->th * g->tw;
    for (long i = 0; i < nt; i++) {
        long t = t0 + i;
        int img = (int)(t / per_img), r = (int)(t % per_img);
        int ih0 = m * (r / g->tw) - g->pad, iw0 = m * (r % g->tw) - g->pad;
        int inside = ih0 >= 0 && iw0 >= 0 && ih0 + a <= g->h && iw0 + a <= g->w;
        const float *xi = x + img * img_size;
        for (int cb = 0; cb < g->c_in / B; cb++)
            for (int q = 0; q < B; q += 8) {
                const float *base = xi + (size_t)cb * g->h * g->w * B + q;
                f8 d[6][6], t4[6][6];
                for (int p = 0; p < a; p++)
                    for (int b = 0; b < a; b++) {
                        int ih = ih0 + p, iw = iw0 + b;
                        if (inside || (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w))
                            d[p][b] = ld8(base + ((size_t)ih * g->w + iw) * B);
                        else
                            d[p][b] = (f8){0};
                    }
                for (int p = 0; p < a; p++)
                    for (int b = 0; b < a; b++) {
                        f8 s = {0};
                        for (int k = 0; k < a; k++)
                            if (BT(m, p, k) != 0) s += BT(m, p, k) * d[k][b];
                        t4[p][b] = s;
                    }
                float *dst = v + i * g->c_in + cb * B + q;
                for (int p = 0; p < a; p++)
                    for (int b = 0; b < a; b++) {
                        f8 s = {0};
                        for (int k = 0; k < a; k++)
                            if (BT(m, b, k) != 0) s += BT(m, b, k) * t4[p][k];
                        st8(dst + (p * a + b) * plane, s);
                    }
            }
    }
}

static void input_transform(const wgeom *g, int B, const float *x, long t0, long nt, float *v, size_t plane) {
    if (g->m == 2) input_transform_m(2, g, B, x, t0, nt, v, plane);
    else input_transform_m(4, g, B, x, t0, nt, v, plane);
}

/* y of tiles [t0, t0 + nt) = A^T M A, M[xi][i][co] at mm + xi * plane + i * c_out + co. */
INLINE void output_transform_m(const int m, const wgeom *g, int B, const float *mm, size_t plane, long t0, long nt,
                               float *y) {
    const int a = m + 2;
    size_t img_size = (size_t)g->c_out * g->ho * g->wo;
    int per_img = g->th * g->tw;
    for (long i = 0; i < nt; i++) {
        long t = t0 + i;
        int img = (int)(t / per_img), r = (int)(t % per_img);
        int oh0 = m * (r / g->tw), ow0 = m * (r % g->tw);
        float *yi = y + img * img_size;
        for (int ob = 0; ob < g->c_out / B; ob++)
            for (int q = 0; q < B; q += 8) {
                const float *src = mm + i * g->c_out + ob * B + q;
                f8 s[4][6];
                for (int p = 0; p < m; p++)
                    for (int b = 0; b < a; b++) {
                        f8 acc = {0};
                        for (int k = 0; k < a; k++)
                            if (AT(m, p, k) != 0) acc += AT(m, p, k) * ld8(src + (k * a + b) * plane);
                        s[p][b] = acc;
                    }
                float *base = yi + (size_t)ob * g->ho * g->wo * B + q;
                for (int p = 0; p < m && oh0 + p < g->ho; p++)
                    for (int c = 0; c < m && ow0 + c < g->wo; c++) {
                        f8 acc = {0};
                        for (int k = 0; k < a; k++)
                            if (AT(m, c, k) != 0) acc += AT(m, c, k) * s[p][k];
                        st8(base + ((size_t)(oh0 + p) * g->wo + ow0 + c) * B, acc);
                    }
            }
    }
}

static void output_transform(const wgeom *g, int B, const float *mm, size_t plane, long t0, long nt, float *y) {
    if (g->m == 2) output_transform_m(2, g, B, mm, plane, t0, nt, y);
    else output_transform_m(4, g, B, mm, plane, t0, nt, y);
}

/* Z rows for tiles [t0, t0 + nt) of dy (blocked, g's output): Z[xi][i][co] = (A e A^T)[xi]. */
INLINE void grad_transform_m(const int m, const wgeom *g, int B, const float *dy, long t0, long nt, float *z,
                             size_t plane) {
    const int a = m + 2;
    size_t img_size = (size_t)g->c_out * g->ho * g->wo;
    int per_img = g->th * g->tw;
    for (long i = 0; i < nt; i++) {
        long t = t0 + i;
        int img = (int)(t / per_img), r = (int)(t % per_img);
        int oh0 = m * (r / g->tw), ow0 = m * (r % g->tw);
        const float *yi = dy + img * img_size;
        for (int ob = 0; ob < g->c_out / B; ob++)
            for (int q = 0; q < B; q += 8) {
                const float *base = yi + (size_t)ob * g->ho * g->wo * B + q;
                f8 e[4][4], zr[6][4];
                for (int p = 0; p < m; p++)
                    for (int c = 0; c < m; c++)
                        e[p][c] = oh0 + p < g->ho && ow0 + c < g->wo
                                      ? ld8(base + ((size_t)(oh0 + p) * g->wo + ow0 + c) * B)
                                      : (f8){0};
                for (int p = 0; p < a; p++) /* A e: A[p][k] = A^T[k][p] */
                    for (int c = 0; c < m; c++) {
                        f8 acc = {0};
                        for (int k = 0; k < m; k++)
                            if (AT(m, k, p) != 0) acc += AT(m, k, p) * e[k][c];
                        zr[p][c] = acc;
                    }
                float *dst = z + i * g->c_out + ob * B + q;
                for (int p = 0; p < a; p++)
                    for (int b = 0; b < a; b++) {
                        f8 acc = {0};
                        for (int k = 0; k < m; k++)
                            if (AT(m, k, b) != 0) acc += AT(m, k, b) * zr[p][k];
                        st8(dst + (p * a + b) * plane, acc);
                    }
            }
    }
}

static void grad_transform(const wgeom *g, int B, const float *dy, long t0, long nt, float *z, size_t plane) {
    if (g->m == 2) grad_transform_m(2, g, B, dy, t0, nt, z, plane);
    else grad_transform_m(4, g, B, dy, t0, nt, z, plane);
}

static int threads_for(const mbt_conv2d_wino *op) {
    int t = omp_get_max_threads();
    return t < op->nthr ? t : op->nthr;
}

static mbt_status sgemm_failed(const mbt_conv2d_wino *op, const char *dir, dnnl_status_t ds) {
    const mbt_conv2d_shape *s = &op->s;
    return MBT_FAIL(MBT_ERR_BACKEND,
                    "conv2d (winograd) %s: oneDNN sgemm failed (%s) for n=%d c_in=%d %dx%d c_out=%d", dir,
                    mbt_dnnl_status_name(ds), s->n, s->c_in, s->h, s->w, s->c_out);
}

/* g's convolution of x with transformed weights u into y, over all tiles (a parallel region). */
static dnnl_status_t run_conv(const mbt_conv2d_wino *op, const wgeom *g, const float *x, const float *u, float *y) {
    float *scratch = mbt_cpu_scratch();
    dnnl_status_t err = dnnl_success;
#pragma omp parallel num_threads(threads_for(op))
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        float *v = scratch + tid * op->thr_floats, *m = v + (size_t)g->xis * op->chunk * g->c_in;
        size_t pv = (size_t)op->chunk * g->c_in, pm = (size_t)op->chunk * g->c_out;
        for (long t = g->tiles * tid / nt, end = g->tiles * (tid + 1) / nt; t < end; t += op->chunk) {
            long n = end - t < op->chunk ? end - t : op->chunk;
            input_transform(g, op->B, x, t, n, v, pv);
            for (int xi = 0; xi < g->xis; xi++) {
                dnnl_status_t ds = dnnl_sgemm('N', 'N', n, g->c_out, g->c_in, 1.0f, v + xi * pv, g->c_in,
                                              u + (size_t)xi * g->c_in * g->c_out, g->c_out, 0.0f, m + xi * pm,
                                              g->c_out);
                if (ds != dnnl_success) {
#pragma omp atomic write
                    err = ds;
                }
            }
            output_transform(g, op->B, m, pm, t, n, y);
        }
    }
    return err;
}

static mbt_status not_planned(const char *dir, int dirs) {
    return MBT_FAIL(MBT_ERR_ARG, "conv2d (winograd): %s called on an op made for directions %d only", dir, dirs);
}

mbt_status mbt_conv2d_wino_forward(mbt_conv2d_wino *op, const float *x, float *y) {
    if (!(op->dirs & MBT_CONV_DIR_FWD)) return not_planned("forward", op->dirs);
    dnnl_status_t ds = run_conv(op, &op->fwd, x, op->u_fwd, y);
    return ds == dnnl_success ? MBT_OK : sgemm_failed(op, "forward", ds);
}

/* dw[co][ci] (3x3) += G^T D G for D = d[xi][co][ci] (in a parallel region), 8 input channels at a time. */
INLINE void add_weight_grads_m(const int m, const mbt_conv2d_wino *op, const float *d, float *dw) {
    const int a = m + 2;
    int ci_n = op->s.c_in, co_n = op->s.c_out;
    size_t plane = (size_t)ci_n * co_n;
#pragma omp for schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int ci = 0; ci < ci_n; ci += 8) {
            const float *src = d + (size_t)co * ci_n + ci;
            f8 t[3][6], r[9];
            for (int u = 0; u < 3; u++)
                for (int b = 0; b < a; b++) {
                    f8 acc = {0};
                    for (int k = 0; k < a; k++)
                        if (GM(m, k, u) != 0) acc += (float)GM(m, k, u) * ld8(src + (k * a + b) * plane);
                    t[u][b] = acc;
                }
            for (int u = 0; u < 3; u++)
                for (int v = 0; v < 3; v++) {
                    f8 acc = {0};
                    for (int k = 0; k < a; k++)
                        if (GM(m, k, v) != 0) acc += (float)GM(m, k, v) * t[u][k];
                    r[u * 3 + v] = acc;
                }
            float *out = dw + ((size_t)co * ci_n + ci) * 9;
            for (int c = 0; c < 8; c++)
                for (int k = 0; k < 9; k++) out[c * 9 + k] += r[k][c];
        }
}

mbt_status mbt_conv2d_wino_backward(mbt_conv2d_wino *op, const float *x, const float *dy, float *dx, float *dw) {
    if (dx && !(op->dirs & MBT_CONV_DIR_BWD_DATA)) return not_planned("backward data", op->dirs);
    if (dw && !(op->dirs & MBT_CONV_DIR_BWD_WEIGHTS)) return not_planned("backward weights", op->dirs);
    if (dx) {
        dnnl_status_t ds = run_conv(op, &op->bwd, dy, op->u_bwd, dx);
        if (ds != dnnl_success) return sgemm_failed(op, "backward data", ds);
    }
    if (!dw) return MBT_OK;
    const wgeom *g = &op->fwd;
    int ci_n = op->s.c_in, co_n = op->s.c_out, B = op->B;
    float *scratch = mbt_cpu_scratch(), *v = scratch, *z = scratch + op->off_z, *d = scratch + op->off_d;
    size_t pv = (size_t)op->chunk_w * ci_n, pz = (size_t)op->chunk_w * co_n;
    dnnl_status_t err = dnnl_success;
#pragma omp parallel num_threads(threads_for(op))
    {
        for (long t0 = 0; t0 < g->tiles; t0 += op->chunk_w) {
            long n = g->tiles - t0 < op->chunk_w ? g->tiles - t0 : op->chunk_w;
#pragma omp for schedule(static)
            for (long i = 0; i < n; i++) {
                input_transform(g, B, x, t0 + i, 1, v + i * ci_n, pv);
                grad_transform(g, B, dy, t0 + i, 1, z + i * co_n, pz);
            }
#pragma omp for schedule(static)
            for (int xi = 0; xi < g->xis; xi++) {
                dnnl_status_t ds = dnnl_sgemm('T', 'N', co_n, ci_n, n, 1.0f, z + xi * pz, co_n, v + xi * pv, ci_n,
                                              t0 ? 1.0f : 0.0f, d + (size_t)xi * ci_n * co_n, ci_n);
                if (ds != dnnl_success) {
#pragma omp atomic write
                    err = ds;
                }
            }
        }
        if (g->m == 2) add_weight_grads_m(2, op, d, dw);
        else add_weight_grads_m(4, op, d, dw);
    }
    return err == dnnl_success ? MBT_OK : sgemm_failed(op, "backward weights", err);
}
