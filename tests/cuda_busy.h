/* For GPU tests of host/device overlap: keeps the context's stream busy for a while (repeated memsets of
 * a large device buffer), so that work queued next waits, and a host write made right after queuing it
 * would race with any copy that still reads host memory. */
#ifndef MBT_TEST_CUDA_BUSY_H
#define MBT_TEST_CUDA_BUSY_H

#include "check.h"
#include "core/cuda.h"

/* Queues `rounds` memsets of 1 GiB (about 0.3 ms each on an H100) on a buffer allocated and freed in
 * stream order (no host wait). */
static void cuda_keep_busy(int rounds) {
    const size_t bytes = (size_t)1 << 30;
    mbt_cuda_context *ctx;
    void *buf = NULL;
    if (!CHECK_OK(mbt_cuda_context_get(&ctx))) return;
    CHECK(cudaMallocAsync(&buf, bytes, ctx->stream) == cudaSuccess);
    if (!buf) return;
    for (int r = 0; r < rounds; r++) CHECK(cudaMemsetAsync(buf, r & 0xff, bytes, ctx->stream) == cudaSuccess);
    CHECK(cudaFreeAsync(buf, ctx->stream) == cudaSuccess);
}

#endif
