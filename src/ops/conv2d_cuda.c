/* conv2d on the CUDA backend: cuDNN forward, backward data and backward filter on NCHW float
 * activations with OIHW weights.
 *
 * Algorithms are chosen once per distinct (shape, math mode) by cudnnFind*Algorithm (timed runs
 * on cuDNN's own buffers; the heuristics of cudnnGet*Algorithm_v7 when finding fails, e.g. out of
 * memory) and kept in a process-wide table, so building a second model of the same shapes searches
 * nothing. Among the results that fit MAX_WORKSPACE the fastest deterministic one is taken (the
 * fastest of any kind if none is deterministic). The shared workspace (ops/cuda_context.h) is grown
 * at creation to what the chosen algorithms need.
 *
 * Math: fp32 data with TF32 tensor cores allowed (CUDNN_DEFAULT_MATH / the found algorithm's math
 * type) unless MIXBT_NO_TF32=1, then CUDNN_FMA_MATH (plain fp32, no tensor cores). Algorithms whose
 * math type is CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION are never taken: on fp32 data they may convert
 * to FP16, which is below TF32 precision.
 *
 * bf16 (MBT_CONV_BF16): x, y, dx and dy are bf16 and so is the op's weight copy (rounded from the fp32
 * weights at set_weights); cuDNN accumulates in fp32 (CUDNN_DATA_FLOAT convolution) on tensor cores.
 * The weight gradient comes out of cuDNN in bf16 (its filter type) into the op's scratch and is added
 * to the caller's fp32 dw. An MBT_CONV_INPUT_NCHW op takes the network's fp32 input and rounds it to
 * bf16 in its own buffer in forward and again in backward (another slot's forward may have used the
 * buffer in between). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cuda.h"
#include "ops/backend_cuda.h"
#include "ops/cuda_context.h"

#define MAX_WORKSPACE ((size_t)1 << 30)
#define N_RESULTS 16

/* The chosen algorithm of one direction. */
typedef struct {
    int done;    /* searched */
    int algo;    /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    cudnnMathType_t math;
    size_t memory;
} choice_t;

enum { FWD, BWD_DATA, BWD_FILTER, N_DIRS };

typedef struct {
    mbt_conv2d_shape shape;
    int tf32, bf16;
    choice_t dir[N_DIRS];
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache;
static size_t cache_count, cache_capacity;

struct mbt_conv2d_cuda {
    mbt_conv2d_shape s;
    int flags;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv;
    choice_t dir[N_DIRS];
    void *w;     /* OIHW copy of the weights last set (device; bf16 for a bf16 op) */
    int bf16;    /* MBT_CONV_BF16 */
    void *x16;   /* bf16 op with fp32 NCHW input: the input rounded to bf16 */
    void *dw16;  /* bf16 op: the weight gradient as cuDNN writes it */
};

static const char *WHAT = "conv2d (cuda)";

static int math_allowed(cudnnMathType_t m) { return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION; }

/* Picks from results sorted fastest first: the first usable deterministic one, else the first usable. */
#define PICK(results, count, out)                                                                          \
    do {                                                                                                   \
        int pick_ = -1;                                                                                    \
        for (int pass_ = 0; pass_ < 2 && pick_ < 0; pass_++)                                               \
            for (int i_ = 0; i_ < (count) && pick_ < 0; i_++)                                              \
                if ((results)[i_].status == CUDNN_STATUS_SUCCESS && (results)[i_].memory <= MAX_WORKSPACE && \
                    math_allowed((results)[i_].mathType) &&                                                \
                    (pass_ == 1 || (results)[i_].determinism == CUDNN_DETERMINISTIC))                      \
                    pick_ = i_;                                                                            \
        if (pick_ >= 0) {                                                                                  \
            (out)->done = 1;                                                                               \
            (out)->algo = (int)(results)[pick_].algo;                                                      \
            (out)->math = (results)[pick_].mathType;                                                       \
            (out)->memory = (results)[pick_].memory;                                                       \
        }                                                                                                  \
    } while (0)

/* Searches the algorithm of direction d for op (whose descriptors are set), by timing, else heuristics. */
static mbt_status search(mbt_conv2d_cuda *op, cudnnHandle_t h, int d) {
    choice_t *c = &op->dir[d];
    int n = 0;
    c->done = 0;
    if (d == FWD) {
        cudnnConvolutionFwdAlgoPerf_t r[N_RESULTS];
        if (cudnnFindConvolutionForwardAlgorithm(h, op->x_desc, op->w_desc, op->conv, op->y_desc, N_RESULTS, &n, r) ==
            CUDNN_STATUS_SUCCESS)
            PICK(r, n, c);
        (void)cudaGetLastError(); /* a failed timing run (out of memory) is not sticky */
        if (!c->done) {
            MBT_CUDNN(WHAT, cudnnGetConvolutionForwardAlgorithm_v7(h, op->x_desc, op->w_desc, op->conv, op->y_desc,
                                                                   N_RESULTS, &n, r));
            PICK(r, n, c);
        }
    } else if (d == BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t r[N_RESULTS];
        if (cudnnFindConvolutionBackwardDataAlgorithm(h, op->w_desc, op->y_desc, op->conv, op->x_desc, N_RESULTS, &n,
                                                      r) == CUDNN_STATUS_SUCCESS)
            PICK(r, n, c);
        (void)cudaGetLastError();
        if (!c->done) {
            MBT_CUDNN(WHAT, cudnnGetConvolutionBackwardDataAlgorithm_v7(h, op->w_desc, op->y_desc, op->conv,
                                                                        op->x_desc, N_RESULTS, &n, r));
            PICK(r, n, c);
        }
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t r[N_RESULTS];
        if (cudnnFindConvolutionBackwardFilterAlgorithm(h, op->x_desc, op->y_desc, op->conv, op->w_desc, N_RESULTS,
                                                        &n, r) == CUDNN_STATUS_SUCCESS)
            PICK(r, n, c);
        (void)cudaGetLastError();
        if (!c->done) {
            MBT_CUDNN(WHAT, cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, op->x_desc, op->y_desc, op->conv,
                                                                          op->w_desc, N_RESULTS, &n, r));
            PICK(r, n, c);
        }
    }
    if (!c->done) {
        static const char *names[N_DIRS] = {"forward", "backward data", "backward filter"};
        const mbt_conv2d_shape *s = &op->s;
        return MBT_FAIL(MBT_ERR_BACKEND,
                        "%s: cuDNN has no %s algorithm within %zu MiB of workspace for n=%d c_in=%d %dx%d c_out=%d "
                        "kernel=%d stride=%d pad=%d",
                        WHAT, names[d], MAX_WORKSPACE >> 20, s->n, s->c_in, s->h, s->w, s->c_out, s->kernel,
                        s->stride, s->pad);
    }
    if (!op->bf16 && !mbt_cuda_tf32_enabled()) c->math = CUDNN_FMA_MATH;
    return MBT_OK;
}

static cache_entry *cache_find(const mbt_conv2d_shape *s, int tf32, int bf16) {
    for (size_t i = 0; i < cache_count; i++)
        if (!memcmp(&cache[i].shape, s, sizeof *s) && cache[i].tf32 == tf32 && cache[i].bf16 == bf16)
            return &cache[i];
    return NULL;
}

/* The algorithms of the directions op needs: from the table, else searched and added to it. */
static mbt_status choose_algorithms(mbt_conv2d_cuda *op, cudnnHandle_t h) {
    int need[N_DIRS] = {1, !(op->flags & (MBT_CONV_INFERENCE | MBT_CONV_INPUT_NCHW)),
                        !(op->flags & MBT_CONV_INFERENCE)};
    int tf32 = op->bf16 ? 0 : mbt_cuda_tf32_enabled(); /* MIXBT_NO_TF32 does not concern bf16 data */
    pthread_mutex_lock(&cache_lock); /* searches are serialised: they time kernels on the one GPU */
    mbt_status st = MBT_OK;
    cache_entry *e = cache_find(&op->s, tf32, op->bf16);
    if (!e) {
        if (cache_count == cache_capacity) {
            size_t cap = cache_capacity ? 2 * cache_capacity : 32;
            cache_entry *grown = realloc(cache, cap * sizeof *grown);
            if (!grown) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory for the algorithm table", WHAT);
            else {
                cache = grown;
                cache_capacity = cap;
            }
        }
        if (st == MBT_OK) {
            e = &cache[cache_count++];
            memset(e, 0, sizeof *e);
            e->shape = op->s;
            e->tf32 = tf32;
            e->bf16 = op->bf16;
        }
    }
    for (int d = 0; d < N_DIRS && st == MBT_OK; d++) {
        if (!need[d]) continue;
        if (!e->dir[d].done) {
            st = search(op, h, d);
            if (st == MBT_OK) e->dir[d] = op->dir[d];
        }
        op->dir[d] = e->dir[d];
    }
    pthread_mutex_unlock(&cache_lock);
    MBT_TRY(st);
    size_t ws = 0;
    for (int d = 0; d < N_DIRS; d++)
        if (need[d] && op->dir[d].memory > ws) ws = op->dir[d].memory;
    return mbt_cuda_workspace_reserve(ws);
}

static size_t weight_count(const mbt_conv2d_shape *s) { return (size_t)s->c_out * s->c_in * s->kernel * s->kernel; }
static size_t input_count(const mbt_conv2d_shape *s) { return (size_t)s->n * s->c_in * s->h * s->w; }

static mbt_status setup(mbt_conv2d_cuda *op) {
    const mbt_conv2d_shape *s = &op->s;
    const cudnnDataType_t type = op->bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    const size_t elem = op->bf16 ? 2 : sizeof(float);
    cudnnHandle_t h;
    MBT_TRY(mbt_cudnn_handle(&h));
    MBT_TRY(mbt_cudnn_tensor_nchw(&op->x_desc, type, s->n, s->c_in, s->h, s->w));
    MBT_TRY(mbt_cudnn_tensor_nchw(&op->y_desc, type, s->n, s->c_out, mbt_conv2d_h_out(s), mbt_conv2d_w_out(s)));
    MBT_CUDNN(WHAT, cudnnCreateFilterDescriptor(&op->w_desc));
    MBT_CUDNN(WHAT, cudnnSetFilter4dDescriptor(op->w_desc, type, CUDNN_TENSOR_NCHW, s->c_out, s->c_in, s->kernel,
                                               s->kernel));
    MBT_CUDNN(WHAT, cudnnCreateConvolutionDescriptor(&op->conv));
    MBT_CUDNN(WHAT, cudnnSetConvolution2dDescriptor(op->conv, s->pad, s->pad, s->stride, s->stride, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    MBT_CUDNN(WHAT, cudnnSetConvolutionMathType(op->conv, op->bf16                   ? CUDNN_TENSOR_OP_MATH
                                                          : mbt_cuda_tf32_enabled() ? CUDNN_DEFAULT_MATH
                                                                                    : CUDNN_FMA_MATH));
    int n, c, ho, wo; /* cuDNN's own output size must be ours */
    MBT_CUDNN(WHAT, cudnnGetConvolution2dForwardOutputDim(op->conv, op->x_desc, op->w_desc, &n, &c, &ho, &wo));
    if (n != s->n || c != s->c_out || ho != mbt_conv2d_h_out(s) || wo != mbt_conv2d_w_out(s))
        return MBT_FAIL(MBT_ERR_BACKEND, "%s: cuDNN output [%d,%d,%d,%d], expected [%d,%d,%d,%d]", WHAT, n, c, ho, wo,
                        s->n, s->c_out, mbt_conv2d_h_out(s), mbt_conv2d_w_out(s));
    MBT_TRY(mbt_cuda_alloc("conv2d (cuda) weights", &op->w, weight_count(s) * elem));
    if (op->bf16 && !(op->flags & MBT_CONV_INFERENCE))
        MBT_TRY(mbt_cuda_alloc("conv2d (cuda) bf16 weight gradient", &op->dw16, weight_count(s) * elem));
    if (op->bf16 && (op->flags & MBT_CONV_INPUT_NCHW))
        MBT_TRY(mbt_cuda_alloc("conv2d (cuda) bf16 input", &op->x16, input_count(s) * elem));
    return choose_algorithms(op, h);
}

mbt_status mbt_conv2d_cuda_create(mbt_conv2d_cuda **out, const mbt_conv2d_shape *s, int flags) {
    *out = NULL;
    if (s->n < 1 || s->c_in < 1 || s->c_out < 1 || s->h < 1 || s->w < 1 || s->kernel < 1 || s->stride < 1 ||
        s->pad < 0 || mbt_conv2d_h_out(s) < 1 || mbt_conv2d_w_out(s) < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "conv2d: invalid shape n=%d c_in=%d %dx%d c_out=%d kernel=%d stride=%d pad=%d",
                        s->n, s->c_in, s->h, s->w, s->c_out, s->kernel, s->stride, s->pad);
    mbt_conv2d_cuda *op = calloc(1, sizeof *op);
    if (!op) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", WHAT);
    op->s = *s;
    op->flags = flags;
    op->bf16 = (flags & MBT_CONV_BF16) != 0;
    mbt_status st = setup(op);
    if (st != MBT_OK) {
        mbt_conv2d_cuda_destroy(op);
        return st;
    }
    *out = op;
    return MBT_OK;
}

void mbt_conv2d_cuda_destroy(mbt_conv2d_cuda *op) {
    if (!op) return;
    if (op->x_desc) cudnnDestroyTensorDescriptor(op->x_desc);
    if (op->y_desc) cudnnDestroyTensorDescriptor(op->y_desc);
    if (op->w_desc) cudnnDestroyFilterDescriptor(op->w_desc);
    if (op->conv) cudnnDestroyConvolutionDescriptor(op->conv);
    mbt_cuda_free(op->w);
    mbt_cuda_free(op->x16);
    mbt_cuda_free(op->dw16);
    free(op);
}

mbt_status mbt_conv2d_cuda_set_weights(mbt_conv2d_cuda *op, const float *w) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    size_t n = weight_count(&op->s);
    if (op->bf16) return mbt_bf16_from_f32_cuda(n, w, op->w);
    MBT_CUDA(WHAT, cudaMemcpyAsync(op->w, w, n * sizeof(float), cudaMemcpyDeviceToDevice, ctx->stream));
    return MBT_OK;
}

/* The input as cuDNN takes it: x itself, or for a bf16 op on fp32 NCHW input, x rounded into op->x16. */
static mbt_status conv_input(mbt_conv2d_cuda *op, const float *x, const void **in) {
    *in = x;
    if (!op->x16) return MBT_OK;
    MBT_TRY(mbt_bf16_from_f32_cuda(input_count(&op->s), x, op->x16));
    *in = op->x16;
    return MBT_OK;
}

mbt_status mbt_conv2d_cuda_forward(mbt_conv2d_cuda *op, const float *x_arg, float *y) {
    cudnnHandle_t h;
    MBT_TRY(mbt_cudnn_handle(&h));
    const void *x;
    MBT_TRY(conv_input(op, x_arg, &x));
    size_t ws_bytes;
    void *ws = mbt_cuda_workspace(&ws_bytes);
    const float one = 1.0f, zero = 0.0f;
    MBT_CUDNN(WHAT, cudnnSetConvolutionMathType(op->conv, op->dir[FWD].math));
    MBT_CUDNN(WHAT, cudnnConvolutionForward(h, &one, op->x_desc, x, op->w_desc, op->w, op->conv,
                                            (cudnnConvolutionFwdAlgo_t)op->dir[FWD].algo, ws, ws_bytes, &zero,
                                            op->y_desc, y));
    return MBT_OK;
}

mbt_status mbt_conv2d_cuda_backward(mbt_conv2d_cuda *op, const float *x_arg, const float *dy, float *dx, float *dw) {
    if (op->flags & MBT_CONV_INFERENCE) return MBT_FAIL(MBT_ERR_ARG, "conv2d: backward called on an op created for inference");
    if (dx && (op->flags & MBT_CONV_INPUT_NCHW))
        return MBT_FAIL(MBT_ERR_ARG, "conv2d: no input gradient for an NCHW-input convolution (pass dx = NULL)");
    cudnnHandle_t h;
    MBT_TRY(mbt_cudnn_handle(&h));
    size_t ws_bytes;
    void *ws = mbt_cuda_workspace(&ws_bytes);
    const float one = 1.0f, zero = 0.0f;
    if (dx) { /* overwritten */
        MBT_CUDNN(WHAT, cudnnSetConvolutionMathType(op->conv, op->dir[BWD_DATA].math));
        MBT_CUDNN(WHAT, cudnnConvolutionBackwardData(h, &one, op->w_desc, op->w, op->y_desc, dy, op->conv,
                                                     (cudnnConvolutionBwdDataAlgo_t)op->dir[BWD_DATA].algo, ws,
                                                     ws_bytes, &zero, op->x_desc, dx));
    }
    if (dw) { /* accumulated: beta = 1 (bf16: written to dw16, then added to dw in fp32) */
        const void *x;
        MBT_TRY(conv_input(op, x_arg, &x));
        MBT_CUDNN(WHAT, cudnnSetConvolutionMathType(op->conv, op->dir[BWD_FILTER].math));
        MBT_CUDNN(WHAT, cudnnConvolutionBackwardFilter(h, &one, op->x_desc, x, op->y_desc, dy, op->conv,
                                                       (cudnnConvolutionBwdFilterAlgo_t)op->dir[BWD_FILTER].algo,
                                                       ws, ws_bytes, op->bf16 ? &zero : &one, op->w_desc,
                                                       op->bf16 ? op->dw16 : (void *)dw));
        if (op->bf16) MBT_TRY(mbt_bf16_accumulate_cuda(weight_count(&op->s), op->dw16, dw));
    }
    return MBT_OK;
}
