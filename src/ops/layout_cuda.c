/* NCHW <-> native layout on CUDA: the native activation layout is plain NCHW, so both are copies. */
#include "core/cuda.h"
#include "ops/backend_cuda.h"

static mbt_status copy(const char *what, int n, int c, int hw, const float *src, float *dst) {
    if (n < 0 || c < 0 || hw < 0) return MBT_FAIL(MBT_ERR_SHAPE, "%s: bad shape [%d, %d, %d]", what, n, c, hw);
    size_t bytes = (size_t)n * c * hw * sizeof(float);
    if (bytes == 0 || src == dst) return MBT_OK;
    mbt_cuda_context *ctx;
    MBT_TRY(mbt_cuda_context_get(&ctx));
    MBT_CUDA(what, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    return MBT_OK;
}

mbt_status mbt_layout_from_nchw_cuda(int n, int c, int hw, const float *nchw, float *native) {
    return copy("layout from NCHW (cuda)", n, c, hw, nchw, native);
}

mbt_status mbt_layout_to_nchw_cuda(int n, int c, int hw, const float *native, float *nchw) {
    return copy("layout to NCHW (cuda)", n, c, hw, native, nchw);
}
