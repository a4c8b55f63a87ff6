/* The CUDA backend's shared state: the cuDNN handle (on the context's stream), checked cuDNN calls,
 * one device workspace shared by every op (ops run one at a time on the one stream), and cuDNN
 * tensor descriptors of NCHW float or bf16 activations. Compiled only when MIXBT_HAVE_CUDA is defined. */
#ifndef MBT_CUDA_CONTEXT_H
#define MBT_CUDA_CONTEXT_H

#include <cudnn.h>
#include <stddef.h>

#include "core/cuda.h"
#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* In a function returning mbt_status: checks a cuDNN call, recording
 * "<what>: <call> failed (<cuDNN error name>)" with this file and line on failure. */
#define MBT_CUDNN(what, call)                                                                        \
    do {                                                                                             \
        cudnnStatus_t mbt_cudnn_s_ = (call);                                                         \
        if (mbt_cudnn_s_ != CUDNN_STATUS_SUCCESS)                                                    \
            return MBT_FAIL(MBT_ERR_BACKEND, "%s: %s failed (%s)", (what), #call,                    \
                            cudnnGetErrorString(mbt_cudnn_s_));                                      \
    } while (0)

/* The process's cuDNN handle, created on first use (with the CUDA context) and bound to its stream. */
mbt_status mbt_cudnn_handle(cudnnHandle_t *handle);

/* Grows the shared device workspace to at least `bytes` (at op creation, never in a step: growing
 * frees the old buffer, which synchronises the device). */
mbt_status mbt_cuda_workspace_reserve(size_t bytes);
/* The shared workspace and its size (NULL, 0 before any reservation). Valid until the next reserve. */
void *mbt_cuda_workspace(size_t *bytes);

/* A cuDNN descriptor of a packed NCHW tensor [n, c, h, w] of `type` (CUDNN_DATA_FLOAT or, for bf16
 * activations, CUDNN_DATA_BFLOAT16). */
mbt_status mbt_cudnn_tensor_nchw(cudnnTensorDescriptor_t *desc, cudnnDataType_t type, int n, int c, int h, int w);

#ifdef __cplusplus
}
#endif

#endif
