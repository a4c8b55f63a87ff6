/* Errors shared by the dispatchers (core/dispatch.h). */
#include "core/dispatch.h"

mbt_status mbt_dispatch_no_cuda(const char *what) {
    return MBT_FAIL(MBT_ERR_UNSUPPORTED,
                    "%s: this mixbt was built without the CUDA backend (rebuild where nvcc and cuDNN are found, "
                    "see docs/DESIGN.md)", what);
}

mbt_status mbt_dispatch_bad_device(const char *what, mbt_device device) {
    return MBT_FAIL(MBT_ERR_ARG, "%s: unknown device %d", what, (int)device);
}
