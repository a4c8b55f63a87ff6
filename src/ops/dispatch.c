/* Errors shared by the op dispatchers. */
#include "ops/dispatch.h"

mbt_status mbt_dispatch_bf16_on_cpu(const char *what) {
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: bf16 activations are computed on the CUDA backend only", what);
}
