/* The CUDA runtime context: device choice, the process's stream and cuBLAS handle, checked copies,
 * and the device allocator behind CUDA plans (core/plan.h). */
#include "core/cuda.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plan.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int chosen_ordinal = 0;    /* set by mbt_cuda_select before the context exists */
static int context_ready = 0;     /* guarded by lock; the context never changes once ready */
static mbt_cuda_context context;
static _Thread_local int thread_bound = 0; /* this host thread has called cudaSetDevice(ordinal) */

int mbt_cuda_device_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* no driver or no device: not an error for the caller */
        return 0;
    }
    return n;
}

const char *mbt_cuda_no_device_reason(void) {
    static char why[160];
    int n = 0, driver = 0, runtime = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    (void)cudaGetLastError();
    /* without any driver the runtime also says "insufficient driver"; a driver version tells them apart */
    if (e == cudaErrorInsufficientDriver && cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0 &&
        cudaRuntimeGetVersion(&runtime) == cudaSuccess) {
        snprintf(why, sizeof why, "the NVIDIA driver supports CUDA %d.%d, older than this build's CUDA %d.%d runtime "
                                  "(update the driver)", driver / 1000, driver % 1000 / 10, runtime / 1000,
                 runtime % 1000 / 10);
        return why;
    }
    return "no CUDA device found on this machine";
}

int mbt_cuda_tf32_enabled(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *v = getenv("MIXBT_NO_TF32");
        cached = !(v && strcmp(v, "1") == 0);
    }
    return cached;
}

mbt_status mbt_cuda_select(int ordinal) {
    int count = mbt_cuda_device_count();
    if (ordinal < 0 || ordinal >= count)
        return MBT_FAIL(MBT_ERR_ARG, "cuda: device %d does not exist (%d CUDA device%s found)", ordinal, count,
                        count == 1 ? "" : "s");
    pthread_mutex_lock(&lock);
    int ready = context_ready, current = context.ordinal;
    if (!ready) chosen_ordinal = ordinal;
    pthread_mutex_unlock(&lock);
    if (ready && current != ordinal)
        return MBT_FAIL(MBT_ERR_ARG, "cuda: cannot select device %d: the context already runs on device %d",
                        ordinal, current);
    return MBT_OK;
}

/* Device allocator of CUDA plans: zeroed memory, or NULL (the plan reports the size). */
static void *plan_alloc(size_t bytes) {
    void *p = NULL;
    if (mbt_cuda_alloc("plan", &p, bytes) != MBT_OK) return NULL;
    return p;
}

static void plan_release(void *ptr) { mbt_cuda_free(ptr); }

static mbt_status create_context(void) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "cuda: no usable CUDA device (cudaGetDeviceCount: %s)",
                        cudaGetErrorString(e));
    }
    if (count == 0) return MBT_FAIL(MBT_ERR_UNSUPPORTED, "cuda: no CUDA device found");
    if (chosen_ordinal >= count)
        return MBT_FAIL(MBT_ERR_ARG, "cuda: device %d does not exist (%d found)", chosen_ordinal, count);
    mbt_cuda_context c = {.ordinal = chosen_ordinal};
    MBT_CUDA("cuda context", cudaSetDevice(c.ordinal));
    MBT_CUDA("cuda context", cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
    cublasStatus_t s = cublasCreate(&c.cublas);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cudaStreamDestroy(c.stream);
        return MBT_FAIL(MBT_ERR_BACKEND, "cuda context: cublasCreate failed (%s)", mbt_cublas_status_name(s));
    }
    s = cublasSetStream(c.cublas, c.stream);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSetMathMode(c.cublas, mbt_cuda_tf32_enabled() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cublasDestroy(c.cublas);
        cudaStreamDestroy(c.stream);
        return MBT_FAIL(MBT_ERR_BACKEND, "cuda context: cublasSetStream/cublasSetMathMode failed (%s)",
                        mbt_cublas_status_name(s));
    }
    context = c;
    static const mbt_device_allocator allocator = {plan_alloc, plan_release};
    mbt_plan_set_device_allocator(MBT_DEVICE_CUDA, &allocator);
    return MBT_OK;
}

mbt_status mbt_cuda_context_get(mbt_cuda_context **ctx) {
    *ctx = NULL;
    if (!thread_bound) {
        pthread_mutex_lock(&lock);
        mbt_status st = context_ready ? MBT_OK : create_context();
        if (st == MBT_OK) context_ready = 1;
        pthread_mutex_unlock(&lock);
        MBT_TRY(st);
        /* The current device is per host thread: bind this one once. */
        MBT_CUDA("cuda context", cudaSetDevice(context.ordinal));
        thread_bound = 1;
    }
    *ctx = &context;
    return MBT_OK;
}

mbt_status mbt_cuda_synchronize(const char *what) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    MBT_CUDA(what, cudaStreamSynchronize(ctx->stream));
    MBT_CUDA(what, cudaGetLastError());
    return MBT_OK;
}

mbt_status mbt_cuda_to_device(void *dst, const void *src, size_t bytes) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    if (bytes == 0) return MBT_OK;
    MBT_CUDA("copy to device", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
    MBT_CUDA("copy to device", cudaStreamSynchronize(ctx->stream));
    return MBT_OK;
}

mbt_status mbt_cuda_to_host(void *dst, const void *src, size_t bytes) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    if (bytes == 0) return MBT_OK;
    MBT_CUDA("copy to host", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
    MBT_CUDA("copy to host", cudaStreamSynchronize(ctx->stream));
    return MBT_OK;
}

mbt_status mbt_cuda_alloc(const char *what, void **ptr, size_t bytes) {
    *ptr = NULL;
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    if (bytes == 0) bytes = 1;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: cudaMalloc of %.1f MiB failed (%s)", what, bytes / 1048576.0,
                        cudaGetErrorString(e));
    }
    /* On the context's stream (non-blocking, so not ordered with the legacy default stream). */
    e = cudaMemsetAsync(p, 0, bytes, ctx->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->stream);
    if (e != cudaSuccess) {
        cudaFree(p);
        return MBT_FAIL(MBT_ERR_BACKEND, "%s: zero-filling %zu bytes of device memory failed (%s)", what, bytes,
                        cudaGetErrorString(e));
    }
    *ptr = p;
    return MBT_OK;
}

void mbt_cuda_free(void *ptr) {
    if (!ptr) return;
    mbt_cuda_context *ctx;
    (void)mbt_cuda_context_get(&ctx); /* this thread on the right device */
    cudaDeviceSynchronize();          /* explicit: queued work may still use it */
    cudaFree(ptr);
}

mbt_status mbt_cuda_host_alloc(const char *what, void **ptr, size_t bytes) {
    *ptr = NULL;
    mbt_cuda_context *ctx; /* binds this thread to the chosen device first */
    MBT_TRY(mbt_cuda_context_get(&ctx));
    if (bytes == 0) bytes = 1;
    cudaError_t e = cudaHostAlloc(ptr, bytes, cudaHostAllocDefault);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        *ptr = NULL;
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: pinned host memory of %.1f MiB: %s", what, bytes / 1048576.0,
                        cudaGetErrorString(e));
    }
    memset(*ptr, 0, bytes);
    return MBT_OK;
}

void mbt_cuda_host_free(void *ptr) {
    if (!ptr) return;
    cudaDeviceSynchronize(); /* copies still queued may read it */
    cudaFreeHost(ptr);
}

const char *mbt_cublas_status_name(cublasStatus_t s) { return cublasGetStatusName(s); }
