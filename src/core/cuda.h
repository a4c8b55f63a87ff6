/* The CUDA runtime context (device, stream, cuBLAS handle) and checked CUDA calls. Compiled and
 * included only when MIXBT_HAVE_CUDA is defined; every CUDA-side file of every layer uses it. */
#ifndef MBT_CORE_CUDA_H
#define MBT_CORE_CUDA_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stddef.h>

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One per process (one device per process; multi-GPU runs one process per device). */
typedef struct {
    int ordinal;           /* the cudaSetDevice ordinal */
    cudaStream_t stream;   /* every kernel, copy and library call of mixbt runs on it */
    cublasHandle_t cublas; /* bound to stream; TF32 math allowed unless MIXBT_NO_TF32 is set */
} mbt_cuda_context;

/* Number of usable CUDA devices; 0 (never an error) when there is no driver or no GPU. */
int mbt_cuda_device_count(void);
/* Why mbt_cuda_device_count is 0, as a phrase: "no CUDA device found on this machine", or that the
 * installed NVIDIA driver is older than the CUDA runtime this program was built with. */
const char *mbt_cuda_no_device_reason(void);
/* Chooses the device before first use (default 0); an error naming the ordinal and the count. */
mbt_status mbt_cuda_select(int ordinal);
/* The context, created on first call on the selected device. Errors: no GPU, driver too old. */
mbt_status mbt_cuda_context_get(mbt_cuda_context **ctx);
/* Waits for all work on the context's stream; reports asynchronous kernel errors. */
mbt_status mbt_cuda_synchronize(const char *what);
/* Host <-> device copies on the context's stream (synchronous with respect to the host). */
mbt_status mbt_cuda_to_device(void *dst, const void *src, size_t bytes);
mbt_status mbt_cuda_to_host(void *dst, const void *src, size_t bytes);

const char *mbt_cublas_status_name(cublasStatus_t s);

/* 1 when TF32 tensor-core math is allowed for fp32 matrix products and convolutions (the default),
 * 0 when the environment sets MIXBT_NO_TF32=1 (exact fp32, e.g. for tests). Read once per process. */
int mbt_cuda_tf32_enabled(void);
/* Device memory of `bytes` (at least 1), zero-filled, on the context's device; `what` names the
 * buffer in the error. For op workspaces made at creation time; never call inside a training step. */
mbt_status mbt_cuda_alloc(const char *what, void **ptr, size_t bytes);
/* Frees memory from mbt_cuda_alloc (NULL is fine). Synchronises the device first. */
void mbt_cuda_free(void *ptr);
/* Pinned (page-locked) host memory of `bytes` (at least 1), zero-filled: copies from it to the device
 * are truly asynchronous, so it must not change until the stream has reached the copy. */
mbt_status mbt_cuda_host_alloc(const char *what, void **ptr, size_t bytes);
/* Frees memory from mbt_cuda_host_alloc (NULL is fine). Synchronises the device first. */
void mbt_cuda_host_free(void *ptr);

/* In a function returning mbt_status: checks a CUDA runtime / cuBLAS call, recording
 * "<what>: <call> failed (<error name>)" with this file and line on failure. */
#define MBT_CUDA(what, call)                                                                         \
    do {                                                                                             \
        cudaError_t mbt_cu_e_ = (call);                                                              \
        if (mbt_cu_e_ != cudaSuccess)                                                                \
            return MBT_FAIL(MBT_ERR_BACKEND, "%s: %s failed (%s)", (what), #call,                    \
                            cudaGetErrorString(mbt_cu_e_));                                          \
    } while (0)
#define MBT_CUBLAS(what, call)                                                                       \
    do {                                                                                             \
        cublasStatus_t mbt_cb_s_ = (call);                                                           \
        if (mbt_cb_s_ != CUBLAS_STATUS_SUCCESS)                                                      \
            return MBT_FAIL(MBT_ERR_BACKEND, "%s: %s failed (%s)", (what), #call,                    \
                            mbt_cublas_status_name(mbt_cb_s_));                                      \
    } while (0)
/* After a kernel launch: reports a launch error (bad configuration) naming the kernel. */
#define MBT_CUDA_LAUNCHED(what) MBT_CUDA((what), cudaGetLastError())

#ifdef __cplusplus
}
#endif

#endif
