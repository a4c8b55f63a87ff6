/* Layout conversions: dispatch to the backend of the device. */
#include "ops/layout.h"

#include "ops/dispatch.h"

mbt_status mbt_layout_from_nchw(mbt_device device, int n, int c, int hw, const float *nchw, float *native) {
    MBT_DISPATCH("layout", device, mbt_layout_from_nchw_cpu(n, c, hw, nchw, native),
                 mbt_layout_from_nchw_cuda(n, c, hw, nchw, native));
}

mbt_status mbt_layout_to_nchw(mbt_device device, int n, int c, int hw, const float *native, float *nchw) {
    MBT_DISPATCH("layout", device, mbt_layout_to_nchw_cpu(n, c, hw, native, nchw),
                 mbt_layout_to_nchw_cuda(n, c, hw, native, nchw));
}
