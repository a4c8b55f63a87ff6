/* NCHW <-> blocked nChw{8,16}c conversions on the CPU. */
#include "ops/onednn_context.h"
#include "ops/backend_cpu.h"

static mbt_status convert(int n, int c, int hw, const float *src, float *dst, int to_native) {
    int b = mbt_cpu_channel_block();
    if (c % b) return MBT_FAIL(MBT_ERR_SHAPE, "layout: %d channels is not a multiple of %d", c, b);
#pragma omp parallel for collapse(2)
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                size_t plain = ((size_t)i * c + ch) * hw + p;
                size_t blocked = (((size_t)i * (c / b) + ch / b) * hw + p) * b + ch % b;
                if (to_native)
                    dst[blocked] = src[plain];
                else
                    dst[plain] = src[blocked];
            }
    return MBT_OK;
}

mbt_status mbt_layout_from_nchw_cpu(int n, int c, int hw, const float *nchw, float *native) {
    return convert(n, c, hw, nchw, native, 1);
}

mbt_status mbt_layout_to_nchw_cpu(int n, int c, int hw, const float *native, float *nchw) {
    return convert(n, c, hw, native, nchw, 0);
}
