/* conv2d 3x3, stride 1, by Winograd's minimal filtering F(2x2, 3x3) on blocked activations: 16
 * matrix products (oneDNN's sgemm) per chunk of 2x2 output tiles, 2.25x fewer multiplications than
 * the direct convolution.
 *
 * Transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), with
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1]:
 *   forward, per tile t (a 4x4 input patch d, zero outside the image) and transform point xi:
 *     V[xi][t][ci] = (B^T d B)[xi], U[xi][ci][co] = (G g G^T)[xi], M[xi] = V[xi] U[xi] (sgemm),
 *     y tile (2x2) = A^T M A.
 *   backward data: the forward of dy with the flipped, transposed weights (3x3, padding 2 - pad).
 *   backward weights (the transposed identity, F(3x3, 2x2)): Z[xi][t][co] = (A e A^T)[xi] for
 *     the 2x2 tile e of dy, D[xi][co][ci] = sum_t Z[xi][t][co] V[xi][t][ci] (sgemm),
 *     dw[co][ci] (3x3) += G^T D G.
 * The transforms work on 8-channel vectors of the blocked layout; V, M and Z are [xi][tile][channel].
 *
 * Threads. Forward and backward data split the tiles evenly among threads, each working through
 * its tiles a chunk at a time with its own V and M (no synchronisation). Backward weights walks
 * chunks of tiles that depend on the shape only: all threads transform the chunk, then share out
 * the 16 products, each accumulating into its own D[xi]; so results do not depend on the thread
 * count. Scratch (the backend's shared buffer): per-thread V and M, or the chunk's V and Z and D. */
#include "ops/conv2d_impl_cpu.h"

#include <dnnl.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "ops/cpu_backend.h"

enum { CHUNK_FLOATS = 1 << 21 }; /* target floats of one chunk's V + M (8 MiB) */
enum { MIN_CHUNK = 64 };          /* fewest tiles per chunk (forward: the sgemm's M) */
enum { MIN_CHUNK_W = 512 };       /* backward weights (the sgemm's K) */

typedef float f8 __attribute__((vector_size(32)));

/* A stride-1 3x3 convolution seen as tiles (the forward, or backward data). */
typedef struct {
    int c_in, h, w, c_out, pad, ho, wo, th, tw; /* th x tw tiles of 2x2 outputs per image */
    long tiles;                                  /* n * th * tw */
} wgeom;

struct mbt_conv2d_wino {
    mbt_conv2d_shape s;
    int B;
    wgeom fwd, bwd;
    float *u_fwd, *u_bwd;  /* [16][c_in][c_out] of each geometry */
    long chunk, chunk_w;   /* tiles per chunk: forward/backward data (per thread), backward weights */
    int nthr;
    size_t thr_floats;     /* per-thread V + M, forward and backward data */
    size_t off_z, off_d;   /* backward weights: [V][Z][D] */
};

static inline f8 ld8(const float *p) {
    f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st8(float *p, f8 v) { memcpy(p, &v, sizeof v); }

static wgeom make_wgeom(int n, int c_in, int h, int w, int c_out, int pad) {
    wgeom g = {c_in, h, w, c_out, pad, h + 2 * pad - 2, w + 2 * pad - 2, 0, 0, 0};
    g.th = (g.ho + 1) / 2;
    g.tw = (g.wo + 1) / 2;
    g.tiles = (long)n * g.th * g.tw;
    return g;
}

int mbt_conv2d_wino_applies(const mbt_conv2d_shape *s) {
    int B = mbt_cpu_channel_block();
    return s->kernel == 3 && s->stride == 1 && s->pad <= 2 && s->n >= 1 && s->c_in % B == 0 && s->c_out % B == 0 &&
           s->c_in > 0 && s->c_out > 0 && mbt_conv2d_h_out(s) >= 1 && mbt_conv2d_w_out(s) >= 1 && B % 8 == 0;
}

mbt_status mbt_conv2d_wino_create(mbt_conv2d_wino **out, const mbt_conv2d_shape *s) {
    *out = NULL;
    if (!mbt_conv2d_wino_applies(s))
        return MBT_FAIL(MBT_ERR_SHAPE,
                        "conv2d (winograd): needs kernel 3, stride 1, pad <= 2 and channels multiples of %d; got "
                        "n=%d c_in=%d %dx%d c_out=%d kernel=%d stride=%d pad=%d",
                        mbt_cpu_channel_block(), s->n, s->c_in, s->h, s->w, s->c_out, s->kernel, s->stride, s->pad);
    mbt_conv2d_wino *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "conv2d (winograd): out of memory");
    op->s = *s;
    op->B = mbt_cpu_channel_block();
    op->fwd = make_wgeom(s->n, s->c_in, s->h, s->w, s->c_out, s->pad);
    op->bwd = make_wgeom(s->n, s->c_out, op->fwd.ho, op->fwd.wo, s->c_in, 2 - s->pad);
    op->nthr = omp_get_max_threads();
    long per_row = 16L * (s->c_in + s->c_out); /* floats of V + M (or V + Z) per tile */
    long per_thread = (op->fwd.tiles > op->bwd.tiles ? op->fwd.tiles : op->bwd.tiles) + op->nthr - 1;
    per_thread /= op->nthr;
    op->chunk = CHUNK_FLOATS / per_row;
    if (op->chunk < MIN_CHUNK) op->chunk = MIN_CHUNK;
    if (op->chunk > per_thread) op->chunk = per_thread;
    op->chunk_w = CHUNK_FLOATS / per_row; /* the products' inner dimension: at least MIN_CHUNK_W */
    if (op->chunk_w < MIN_CHUNK_W) op->chunk_w = MIN_CHUNK_W;
    if (op->chunk_w > op->fwd.tiles) op->chunk_w = op->fwd.tiles;
    op->thr_floats = ((size_t)op->chunk * per_row + 15) & ~(size_t)15;
    op->off_z = (size_t)16 * op->chunk_w * s->c_in;
    op->off_d = op->off_z + (size_t)16 * op->chunk_w * s->c_out;
    size_t need = op->nthr * op->thr_floats, need_w = op->off_d + (size_t)16 * s->c_in * s->c_out;
    size_t nu = (size_t)16 * s->c_in * s->c_out;
    mbt_status st = mbt_cpu_scratch_reserve((need > need_w ? need : need_w) * sizeof(float), "conv2d (winograd)");
    if (st == MBT_OK) {
        op->u_fwd = malloc(nu * sizeof(float));
        op->u_bwd = malloc(nu * sizeof(float));
        if (!op->u_fwd || !op->u_bwd)
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

/* u[xi] = (G g G^T)[xi] for one 3x3 filter g (row-major), written at u + xi * stride. */
static void filter_transform(const float g[9], float *u, size_t stride) {
    float t[4][3];
    for (int c = 0; c < 3; c++) {
        t[0][c] = g[c];
        t[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
        t[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
        t[3][c] = g[6 + c];
    }
    for (int a = 0; a < 4; a++) {
        float r[4] = {t[a][0], 0.5f * (t[a][0] + t[a][1] + t[a][2]), 0.5f * (t[a][0] - t[a][1] + t[a][2]), t[a][2]};
        for (int b = 0; b < 4; b++) u[(size_t)(a * 4 + b) * stride] = r[b];
    }
}

mbt_status mbt_conv2d_wino_set_weights(mbt_conv2d_wino *op, const float *w) {
    int ci_n = op->s.c_in, co_n = op->s.c_out;
    size_t plane = (size_t)ci_n * co_n;
#pragma omp parallel for schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int ci = 0; ci < ci_n; ci++) {
            const float *g = w + ((size_t)co * ci_n + ci) * 9;
            float flip[9];
            for (int i = 0; i < 9; i++) flip[i] = g[8 - i];
            filter_transform(g, op->u_fwd + (size_t)ci * co_n + co, plane);   /* [xi][ci][co] */
            filter_transform(flip, op->u_bwd + (size_t)co * ci_n + ci, plane); /* [xi][co][ci] */
        }
    return MBT_OK;
}

/* V rows [0, nt) for tiles [t0, t0 + nt) of g on x: V[xi][i][c] at v + xi * plane + i * c_in + c. */
static void input_transform(const wgeom *g, int B, const float *x, long t0, long nt, float *v, size_t plane) {
    size_t img_size = (size_t)g->c_in * g->h * g->w;
    int per_img = g->th * g->tw;
    for (long i = 0; i < nt; i++) {
        long t = t0 + i;
        int img = (int)(t / per_img), r = (int)(t % per_img);
        int ih0 = 2 * (r / g->tw) - g->pad, iw0 = 2 * (r % g->tw) - g->pad;
        int inside = ih0 >= 0 && iw0 >= 0 && ih0 + 4 <= g->h && iw0 + 4 <= g->w;
        const float *xi = x + img * img_size;
        for (int cb = 0; cb < g->c_in / B; cb++)
            for (int q = 0; q < B; q += 8) {
                const float *base = xi + (size_t)cb * g->h * g->w * B + q;
                f8 d[4][4];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        int ih = ih0 + a, iw = iw0 + b;
                        if (inside || (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w))
                            d[a][b] = ld8(base + ((size_t)ih * g->w + iw) * B);
                        else
                            d[a][b] = (f8){0};
                    }
                f8 t4[4][4];
                for (int b = 0; b < 4; b++) {
                    t4[0][b] = d[0][b] - d[2][b];
                    t4[1][b] = d[1][b] + d[2][b];
                    t4[2][b] = d[2][b] - d[1][b];
                    t4[3][b] = d[1][b] - d[3][b];
                }
                float *dst = v + i * g->c_in + cb * B + q;
                for (int a = 0; a < 4; a++) {
                    st8(dst + (a * 4 + 0) * plane, t4[a][0] - t4[a][2]);
                    st8(dst + (a * 4 + 1) * plane, t4[a][1] + t4[a][2]);
                    st8(dst + (a * 4 + 2) * plane, t4[a][2] - t4[a][1]);
                    st8(dst + (a * 4 + 3) * plane, t4[a][1] - t4[a][3]);
                }
            }
    }
}

/* y of tiles [t0, t0 + nt) = A^T M A, M[xi][i][co] at m + xi * plane + i * c_out + co. */
static void output_transform(const wgeom *g, int B, const float *m, size_t plane, long t0, long nt, float *y) {
    size_t img_size = (size_t)g->c_out * g->ho * g->wo;
    int per_img = g->th * g->tw;
    for (long i = 0; i < nt; i++) {
        long t = t0 + i;
        int img = (int)(t / per_img), r = (int)(t % per_img);
        int oh0 = 2 * (r / g->tw), ow0 = 2 * (r % g->tw);
        float *yi = y + img * img_size;
        for (int ob = 0; ob < g->c_out / B; ob++)
            for (int q = 0; q < B; q += 8) {
                const float *src = m + i * g->c_out + ob * B + q;
                f8 s[2][4];
                for (int b = 0; b < 4; b++) {
                    f8 m0 = ld8(src + (0 + b) * plane), m1 = ld8(src + (4 + b) * plane),
                       m2 = ld8(src + (8 + b) * plane), m3 = ld8(src + (12 + b) * plane);
                    s[0][b] = m0 + m1 + m2;
                    s[1][b] = m1 - m2 - m3;
                }
                float *base = yi + (size_t)ob * g->ho * g->wo * B + q;
                for (int a = 0; a < 2 && oh0 + a < g->ho; a++) {
                    st8(base + ((size_t)(oh0 + a) * g->wo + ow0) * B, s[a][0] + s[a][1] + s[a][2]);
                    if (ow0 + 1 < g->wo) st8(base + ((size_t)(oh0 + a) * g->wo + ow0 + 1) * B, s[a][1] - s[a][2] - s[a][3]);
                }
            }
    }
}

/* Z rows for tiles [t0, t0 + nt) of dy (blocked, g's output): Z[xi][i][co] = (A e A^T)[xi]. */
static void grad_transform(const wgeom *g, int B, const float *dy, long t0, long nt, float *z, size_t plane) {
    size_t img_size = (size_t)g->c_out * g->ho * g->wo;
    int per_img = g->th * g->tw;
    for (long i = 0; i < nt; i++) {
        long t = t0 + i;
        int img = (int)(t / per_img), r = (int)(t % per_img);
        int oh0 = 2 * (r / g->tw), ow0 = 2 * (r % g->tw);
        const float *yi = dy + img * img_size;
        for (int ob = 0; ob < g->c_out / B; ob++)
            for (int q = 0; q < B; q += 8) {
                const float *base = yi + (size_t)ob * g->ho * g->wo * B + q;
                f8 e[2][2];
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        e[a][b] = oh0 + a < g->ho && ow0 + b < g->wo
                                      ? ld8(base + ((size_t)(oh0 + a) * g->wo + ow0 + b) * B)
                                      : (f8){0};
                f8 zr[4][2];
                for (int b = 0; b < 2; b++) {
                    zr[0][b] = e[0][b];
                    zr[1][b] = e[0][b] + e[1][b];
                    zr[2][b] = e[0][b] - e[1][b];
                    zr[3][b] = -e[1][b];
                }
                float *dst = z + i * g->c_out + ob * B + q;
                for (int a = 0; a < 4; a++) {
                    st8(dst + (a * 4 + 0) * plane, zr[a][0]);
                    st8(dst + (a * 4 + 1) * plane, zr[a][0] + zr[a][1]);
                    st8(dst + (a * 4 + 2) * plane, zr[a][0] - zr[a][1]);
                    st8(dst + (a * 4 + 3) * plane, -zr[a][1]);
                }
            }
    }
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
        float *v = scratch + tid * op->thr_floats, *m = v + (size_t)16 * op->chunk * g->c_in;
        size_t pv = (size_t)op->chunk * g->c_in, pm = (size_t)op->chunk * g->c_out;
        for (long t = g->tiles * tid / nt, end = g->tiles * (tid + 1) / nt; t < end; t += op->chunk) {
            long n = end - t < op->chunk ? end - t : op->chunk;
            input_transform(g, op->B, x, t, n, v, pv);
            for (int xi = 0; xi < 16; xi++) {
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

mbt_status mbt_conv2d_wino_forward(mbt_conv2d_wino *op, const float *x, float *y) {
    dnnl_status_t ds = run_conv(op, &op->fwd, x, op->u_fwd, y);
    return ds == dnnl_success ? MBT_OK : sgemm_failed(op, "forward", ds);
}

/* dw[co][ci] (3x3) += G^T D G for D = d[xi][co][ci]. */
static void add_weight_grads(const mbt_conv2d_wino *op, const float *d, float *dw) {
    int ci_n = op->s.c_in, co_n = op->s.c_out;
    size_t plane = (size_t)ci_n * co_n;
#pragma omp for schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int ci = 0; ci < ci_n; ci++) {
            const float *src = d + (size_t)co * ci_n + ci;
            float t[3][4];
            for (int b = 0; b < 4; b++) {
                float d0 = src[(0 + b) * plane], d1 = src[(4 + b) * plane], d2 = src[(8 + b) * plane],
                      d3 = src[(12 + b) * plane];
                t[0][b] = d0 + 0.5f * (d1 + d2);
                t[1][b] = 0.5f * (d1 - d2);
                t[2][b] = 0.5f * (d1 + d2) + d3;
            }
            float *out = dw + ((size_t)co * ci_n + ci) * 9;
            for (int a = 0; a < 3; a++) {
                out[a * 3 + 0] += t[a][0] + 0.5f * (t[a][1] + t[a][2]);
                out[a * 3 + 1] += 0.5f * (t[a][1] - t[a][2]);
                out[a * 3 + 2] += 0.5f * (t[a][1] + t[a][2]) + t[a][3];
            }
        }
}

mbt_status mbt_conv2d_wino_backward(mbt_conv2d_wino *op, const float *x, const float *dy, float *dx, float *dw) {
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
            for (int xi = 0; xi < 16; xi++) {
                dnnl_status_t ds = dnnl_sgemm('T', 'N', co_n, ci_n, n, 1.0f, z + xi * pz, co_n, v + xi * pv, ci_n,
                                              t0 ? 1.0f : 0.0f, d + (size_t)xi * ci_n * co_n, ci_n);
                if (ds != dnnl_success) {
#pragma omp atomic write
                    err = ds;
                }
            }
        }
        add_weight_grads(op, d, dw);
    }
    return err == dnnl_success ? MBT_OK : sgemm_failed(op, "backward weights", err);
}
