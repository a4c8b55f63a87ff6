/* The CUDA backend's shared state: cuDNN handle, shared workspace, tensor descriptors. */
#include "ops/cuda_context.h"

#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cudnnHandle_t handle_;        /* guarded by lock until set, then read-only */
static void *workspace_;             /* guarded by lock */
static size_t workspace_bytes_;

static mbt_status create_handle(void) {
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    cudnnHandle_t h;
    MBT_CUDNN("cudnn", cudnnCreate(&h));
    cudnnStatus_t s = cudnnSetStream(h, ctx->stream);
    if (s != CUDNN_STATUS_SUCCESS) {
        cudnnDestroy(h);
        return MBT_FAIL(MBT_ERR_BACKEND, "cudnn: cudnnSetStream failed (%s)", cudnnGetErrorString(s));
    }
    handle_ = h;
    return MBT_OK;
}

mbt_status mbt_cudnn_handle(cudnnHandle_t *handle) {
    *handle = NULL;
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx)); /* binds this host thread to the device */
    pthread_mutex_lock(&lock);
    mbt_status st = handle_ ? MBT_OK : create_handle();
    *handle = handle_;
    pthread_mutex_unlock(&lock);
    return st;
}

mbt_status mbt_cuda_workspace_reserve(size_t bytes) {
    pthread_mutex_lock(&lock);
    mbt_status st = MBT_OK;
    if (bytes > workspace_bytes_) {
        void *p = NULL;
        st = mbt_cuda_alloc("cuda workspace", &p, bytes);
        if (st == MBT_OK) {
            mbt_cuda_free(workspace_); /* waits for the work that may still use it */
            workspace_ = p;
            workspace_bytes_ = bytes;
        }
    }
    pthread_mutex_unlock(&lock);
    return st;
}

void *mbt_cuda_workspace(size_t *bytes) {
    pthread_mutex_lock(&lock);
    void *p = workspace_;
    if (bytes) *bytes = workspace_bytes_;
    pthread_mutex_unlock(&lock);
    return p;
}

mbt_status mbt_cudnn_tensor_nchw(cudnnTensorDescriptor_t *desc, cudnnDataType_t type, int n, int c, int h, int w) {
    *desc = NULL;
    cudnnTensorDescriptor_t d;
    MBT_CUDNN("cudnn tensor", cudnnCreateTensorDescriptor(&d));
    cudnnStatus_t s = cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, type, n, c, h, w);
    if (s != CUDNN_STATUS_SUCCESS) {
        cudnnDestroyTensorDescriptor(d);
        return MBT_FAIL(MBT_ERR_BACKEND, "cudnn tensor [%d,%d,%d,%d]: cudnnSetTensor4dDescriptor failed (%s)", n, c,
                        h, w, cudnnGetErrorString(s));
    }
    *desc = d;
    return MBT_OK;
}
