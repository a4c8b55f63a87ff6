/* conv2d as matrix products over im2col patches on blocked activations, with oneDNN's sgemm.
 *
 * Patch matrix of a convolution (input blocked [n][c/B][h][w][B]). Row r = (image, output pixel),
 * column = (cb, kh, kw, cl): the B input channels of block cb at kernel tap (kh, kw), so each B-float
 * run of a row is one contiguous vector of the input (zero where the tap falls in the padding).
 * K = c_in * k * k columns. Weights are kept as matrices [c_out][K] in the same column order.
 *   forward:          Yt[r][co]  = sum_k col(x)[r][k] wr[co][k]       (rows -> blocked y)
 *   backward data:    stride 1: dx is the forward convolution of dy with the flipped, transposed
 *                     weights wt[ci][(cob, kh, kw, col)] = w[co][ci][k-1-kh][k-1-kw], padding k-1-pad;
 *                     stride > 1: dcol[r][k] = sum_co dYt[r][co] wr[co][k], scatter-added into dx
 *   backward weights: dwr[co][k] = sum_r dYt[r][co] col(x)[r][k]       (then added to dw, OIHW)
 * dYt is dy as rows [r][c_out].
 *
 * Threads. Forward and backward data split the images evenly among threads, each working through
 * its images a chunk at a time (the chunk's patch matrix, about COL_FLOATS floats, stays in the
 * caches); sgemm runs single-threaded inside the parallel region. Backward weights splits the
 * columns (groups of B) among threads, each accumulating its columns over all rows in chunks that
 * depend on the shape only, so no reduction between threads is needed.
 * Scratch (the backend's shared buffer, ops run one at a time): dYt, dwr and per-thread chunks. */
#include "ops/conv2d_impl_cpu.h"

#include <dnnl.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "ops/onednn_context.h"

enum { COL_FLOATS = 1 << 20 }; /* target size of one chunk's patch matrix (4 MiB) */

/* One convolution seen as a patch-matrix product (the forward, or backward data as a convolution). */
typedef struct {
    int c_in, h, w, c_out, k, stride, pad, wo, hwo, taps, groups;
    long K; /* c_in * taps */
} geom;

struct mbt_conv2d_gemm {
    mbt_conv2d_shape s;
    int B;                 /* channel block of the activations */
    geom fwd, bwd;         /* bwd: backward data as a convolution (stride 1 only) */
    int bwd_as_conv;       /* stride 1: backward data by the convolution bwd */
    long rows;             /* n * hwo */
    int chunk_imgs;        /* images per chunk */
    long chunk_rows;       /* chunk_imgs * hwo */
    int nthr;              /* threads the scratch was sized for */
    size_t off_dwr, off_thr, thr_floats, yt_off; /* scratch layout in floats: [dYt][dwr][thread 0]... */
    float *wr;             /* [c_out][K] */
    float *wt;             /* [c_in][c_out * taps] (bwd_as_conv) */
};

typedef float f8 __attribute__((vector_size(32)));

static inline void copy_block(float *d, const float *s, int nv) {
    for (int v = 0; v < nv; v++) {
        f8 t;
        memcpy(&t, s + 8 * v, sizeof t);
        memcpy(d + 8 * v, &t, sizeof t);
    }
}

static inline void zero_block(float *d, int nv) {
    f8 z = {0};
    for (int v = 0; v < nv; v++) memcpy(d + 8 * v, &z, sizeof z);
}

static inline void add_block(float *d, const float *s, int nv) {
    for (int v = 0; v < nv; v++) {
        f8 a, b;
        memcpy(&a, d + 8 * v, sizeof a);
        memcpy(&b, s + 8 * v, sizeof b);
        a += b;
        memcpy(d + 8 * v, &a, sizeof a);
    }
}

static geom make_geom(int c_in, int h, int w, int c_out, int k, int stride, int pad, int B) {
    geom g = {c_in, h, w, c_out, k, stride, pad, 0, 0, k * k, c_in / B * k * k, (long)c_in * k * k};
    g.wo = (w + 2 * pad - k) / stride + 1;
    g.hwo = ((h + 2 * pad - k) / stride + 1) * g.wo;
    return g;
}

mbt_status mbt_conv2d_gemm_create(mbt_conv2d_gemm **out, const mbt_conv2d_shape *s) {
    *out = NULL;
    int B = mbt_cpu_channel_block();
    if (s->n < 1 || s->c_in < 1 || s->c_out < 1 || s->kernel < 1 || s->stride < 1 || s->pad < 0 ||
        s->pad >= s->kernel || mbt_conv2d_h_out(s) < 1 || mbt_conv2d_w_out(s) < 1 || s->c_in % B || s->c_out % B ||
        B % 8)
        return MBT_FAIL(MBT_ERR_SHAPE,
                        "conv2d (gemm): invalid shape n=%d c_in=%d %dx%d c_out=%d kernel=%d stride=%d pad=%d "
                        "(channels must be multiples of %d, pad below the kernel)",
                        s->n, s->c_in, s->h, s->w, s->c_out, s->kernel, s->stride, s->pad, B);
    mbt_conv2d_gemm *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "conv2d (gemm): out of memory");
    op->s = *s;
    op->B = B;
    op->fwd = make_geom(s->c_in, s->h, s->w, s->c_out, s->kernel, s->stride, s->pad, B);
    op->bwd_as_conv = s->stride == 1;
    op->bwd = make_geom(s->c_out, mbt_conv2d_h_out(s), mbt_conv2d_w_out(s), s->c_in, s->kernel, 1,
                        s->kernel - 1 - s->pad, B);
    op->rows = (long)s->n * op->fwd.hwo;
    op->nthr = omp_get_max_threads();
    /* per-row floats of a thread's chunk: the widest patch matrix, then rows of outputs */
    long width = op->fwd.K, outw = s->c_out;
    if (op->bwd_as_conv) {
        if (op->bwd.K > width) width = op->bwd.K;
        if (s->c_in > outw) outw = s->c_in;
    }
    long px = op->fwd.hwo > op->bwd.hwo || !op->bwd_as_conv ? op->fwd.hwo : op->bwd.hwo; /* rows per image */
    int per_thread = (s->n + op->nthr - 1) / op->nthr;
    long fit = COL_FLOATS / (px * width);
    op->chunk_imgs = fit < 1 ? 1 : fit > per_thread ? per_thread : (int)fit;
    op->chunk_rows = (long)op->chunk_imgs * op->fwd.hwo;
    size_t dyt = (size_t)op->rows * s->c_out, dwr = (size_t)s->c_out * op->fwd.K;
    op->off_dwr = dyt;
    op->off_thr = dyt + dwr;
    op->yt_off = (size_t)op->chunk_imgs * px * width;
    op->thr_floats = op->yt_off + (size_t)op->chunk_imgs * px * outw;
    op->thr_floats = (op->thr_floats + 15) & ~(size_t)15; /* 64-byte aligned per thread */
    mbt_status st =
        mbt_cpu_scratch_reserve((op->off_thr + op->nthr * op->thr_floats) * sizeof(float), "conv2d (gemm)");
    size_t nw = (size_t)s->c_out * op->fwd.K;
    if (st == MBT_OK) {
        op->wr = malloc(nw * sizeof(float));
        op->wt = op->bwd_as_conv ? malloc(nw * sizeof(float)) : NULL;
        if (!op->wr || (op->bwd_as_conv && !op->wt))
            st = MBT_FAIL(MBT_ERR_NOMEM, "conv2d (gemm): out of memory for %zu weights", nw);
    }
    if (st != MBT_OK) {
        mbt_conv2d_gemm_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_conv2d_gemm_destroy(mbt_conv2d_gemm *op) {
    if (!op) return;
    free(op->wr);
    free(op->wt);
    free(op);
}

mbt_status mbt_conv2d_gemm_set_weights(mbt_conv2d_gemm *op, const float *w) {
    const mbt_conv2d_shape *s = &op->s;
    int B = op->B, k = s->kernel, taps = k * k;
    for (int co = 0; co < s->c_out; co++)
        for (int ci = 0; ci < s->c_in; ci++)
            for (int t = 0; t < taps; t++) {
                float v = w[((long)co * s->c_in + ci) * taps + t];
                op->wr[co * op->fwd.K + ((long)(ci / B) * taps + t) * B + ci % B] = v;
                if (op->wt) /* tap (kh, kw) of the transposed convolution reads w at (k-1-kh, k-1-kw) */
                    op->wt[ci * op->bwd.K + ((long)(co / B) * taps + (taps - 1 - t)) * B + co % B] = v;
            }
    return MBT_OK;
}

/* Rows [r0, r0 + nrows) of g's patch matrix of x, column groups [g0, g1), into col (row stride ld). */
static void im2col(const geom *g, int B, const float *x, long r0, long nrows, int g0, int g1, float *col, long ld) {
    size_t img_size = (size_t)g->c_in * g->h * g->w;
    int nv = B / 8;
    for (long r = 0; r < nrows; r++) {
        long row = r0 + r;
        int img = (int)(row / g->hwo), pix = (int)(row % g->hwo);
        int ih0 = pix / g->wo * g->stride - g->pad, iw0 = pix % g->wo * g->stride - g->pad;
        const float *xi = x + img * img_size;
        float *dst = col + r * ld;
        int cb = g0 / g->taps, kh = g0 % g->taps / g->k, kw = g0 % g->k;
        for (int q = g0; q < g1; q++, dst += B) {
            int ih = ih0 + kh, iw = iw0 + kw;
            if (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w)
                copy_block(dst, xi + (((size_t)cb * g->h + ih) * g->w + iw) * B, nv);
            else
                zero_block(dst, nv);
            if (++kw == g->k) {
                kw = 0;
                if (++kh == g->k) {
                    kh = 0;
                    cb++;
                }
            }
        }
    }
}

/* dx of images [img0, img0 + nimg) = the chunk's patch-gradient rows scattered back onto the input. */
static void col2im(const geom *g, int B, const float *dcol, int img0, int nimg, float *dx) {
    size_t img_size = (size_t)g->c_in * g->h * g->w;
    int nv = B / 8;
    memset(dx + img0 * img_size, 0, nimg * img_size * sizeof(float));
    for (long r = 0; r < (long)nimg * g->hwo; r++) {
        int img = img0 + (int)(r / g->hwo), pix = (int)(r % g->hwo);
        int ih0 = pix / g->wo * g->stride - g->pad, iw0 = pix % g->wo * g->stride - g->pad;
        float *xi = dx + img * img_size;
        const float *src = dcol + r * g->K;
        for (int cb = 0; cb < g->c_in / B; cb++)
            for (int kh = 0; kh < g->k; kh++)
                for (int kw = 0; kw < g->k; kw++, src += B) {
                    int ih = ih0 + kh, iw = iw0 + kw;
                    if (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w)
                        add_block(xi + (((size_t)cb * g->h + ih) * g->w + iw) * B, src, nv);
                }
    }
}

/* Between g's blocked output ([n][c_out/B][hwo][B]) and rows [r][c_out], rows [r0, r0 + nrows). */
static void rows_to_blocked(const geom *g, int B, const float *rows, long r0, long nrows, float *y) {
    int O = g->c_out;
    for (long r = 0; r < nrows; r++) {
        long row = r0 + r, img = row / g->hwo, pix = row % g->hwo;
        for (int ob = 0; ob < O / B; ob++) copy_block(y + ((img * (O / B) + ob) * g->hwo + pix) * B, rows + r * O + ob * B, B / 8);
    }
}

static void blocked_to_rows(const geom *g, int B, const float *y, long r0, long nrows, float *rows) {
    int O = g->c_out;
    for (long r = 0; r < nrows; r++) {
        long row = r0 + r, img = row / g->hwo, pix = row % g->hwo;
        for (int ob = 0; ob < O / B; ob++) copy_block(rows + r * O + ob * B, y + ((img * (O / B) + ob) * g->hwo + pix) * B, B / 8);
    }
}

static int threads_for(const mbt_conv2d_gemm *op) {
    int t = omp_get_max_threads();
    return t < op->nthr ? t : op->nthr;
}

static mbt_status sgemm_failed(const mbt_conv2d_gemm *op, const char *dir, dnnl_status_t ds) {
    const mbt_conv2d_shape *s = &op->s;
    return MBT_FAIL(MBT_ERR_BACKEND,
                    "conv2d (gemm) %s: oneDNN sgemm failed (%s) for n=%d c_in=%d %dx%d c_out=%d kernel=%d", dir,
                    mbt_dnnl_status_name(ds), s->n, s->c_in, s->h, s->w, s->c_out, s->kernel);
}

/* In a parallel region: this thread's share of images of the convolution g of x with weights
 * wm [c_out][K] into y. Returns the first sgemm failure. */
static dnnl_status_t conv_images(const mbt_conv2d_gemm *op, const geom *g, const float *x, const float *wm, float *y,
                                 float *col, float *yt) {
    int tid = omp_get_thread_num(), nt = omp_get_num_threads(), n = op->s.n;
    dnnl_status_t err = dnnl_success;
    for (int i = n * tid / nt, end = n * (tid + 1) / nt; i < end; i += op->chunk_imgs) {
        int ni = end - i < op->chunk_imgs ? end - i : op->chunk_imgs;
        long r0 = (long)i * g->hwo, nr = (long)ni * g->hwo;
        im2col(g, op->B, x, r0, nr, 0, g->groups, col, g->K);
        dnnl_status_t ds = dnnl_sgemm('N', 'T', nr, g->c_out, g->K, 1.0f, col, g->K, wm, g->K, 0.0f, yt, g->c_out);
        if (ds != dnnl_success) err = ds;
        rows_to_blocked(g, op->B, yt, r0, nr, y);
    }
    return err;
}

mbt_status mbt_conv2d_gemm_forward(mbt_conv2d_gemm *op, const float *x, float *y) {
    float *scratch = mbt_cpu_scratch();
    dnnl_status_t err = dnnl_success;
#pragma omp parallel num_threads(threads_for(op))
    {
        float *col = scratch + op->off_thr + omp_get_thread_num() * op->thr_floats;
        dnnl_status_t ds = conv_images(op, &op->fwd, x, op->wr, y, col, col + op->yt_off);
        if (ds != dnnl_success) {
#pragma omp atomic write
            err = ds;
        }
    }
    return err == dnnl_success ? MBT_OK : sgemm_failed(op, "forward", err);
}

mbt_status mbt_conv2d_gemm_backward(mbt_conv2d_gemm *op, const float *x, const float *dy, float *dx, float *dw) {
    if (!dx && !dw) return MBT_OK;
    float *scratch = mbt_cpu_scratch(), *dyt = scratch, *dwr = scratch + op->off_dwr;
    const mbt_conv2d_shape *s = &op->s;
    const geom *g = &op->fwd;
    int O = s->c_out, n = s->n, B = op->B, taps = g->taps;
    int need_dyt = dw || !op->bwd_as_conv;
    dnnl_status_t err = dnnl_success;
#pragma omp parallel num_threads(threads_for(op))
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        float *col = scratch + op->off_thr + tid * op->thr_floats;
        dnnl_status_t ds = dnnl_success;
        if (need_dyt) {
#pragma omp for schedule(static)
            for (int i = 0; i < n; i++) blocked_to_rows(g, B, dy, (long)i * g->hwo, g->hwo, dyt + (size_t)i * g->hwo * O);
        }
        if (dx && op->bwd_as_conv) ds = conv_images(op, &op->bwd, dy, op->wt, dx, col, col + op->yt_off);
        else if (dx)
            for (int i = n * tid / nt, end = n * (tid + 1) / nt; i < end; i += op->chunk_imgs) {
                int ni = end - i < op->chunk_imgs ? end - i : op->chunk_imgs;
                long r0 = (long)i * g->hwo, nr = (long)ni * g->hwo;
                dnnl_status_t d =
                    dnnl_sgemm('N', 'N', nr, g->K, O, 1.0f, dyt + r0 * O, O, op->wr, g->K, 0.0f, col, g->K);
                if (d != dnnl_success) ds = d;
                col2im(g, B, col, i, ni, dx);
            }
        int g0 = (int)((long)g->groups * tid / nt), g1 = (int)((long)g->groups * (tid + 1) / nt);
        if (dw && g1 > g0) {
            long width = (long)(g1 - g0) * B;
            for (long r0 = 0; r0 < op->rows; r0 += op->chunk_rows) {
                long nr = op->rows - r0 < op->chunk_rows ? op->rows - r0 : op->chunk_rows;
                im2col(g, B, x, r0, nr, g0, g1, col, width);
                dnnl_status_t d = dnnl_sgemm('T', 'N', O, width, nr, 1.0f, dyt + r0 * O, O, col, width,
                                             r0 ? 1.0f : 0.0f, dwr + (long)g0 * B, g->K);
                if (d != dnnl_success) ds = d;
            }
            for (int co = 0; co < O; co++)
                for (int q = g0; q < g1; q++) {
                    const float *src = dwr + co * g->K + (long)q * B;
                    float *d = dw + ((size_t)co * s->c_in + (size_t)(q / taps) * B) * taps + q % taps;
                    for (int c = 0; c < B; c++) d[(size_t)c * taps] += src[c];
                }
        }
        if (ds != dnnl_success) {
#pragma omp atomic write
            err = ds;
        }
    }
    return err == dnnl_success ? MBT_OK : sgemm_failed(op, "backward", err);
}
