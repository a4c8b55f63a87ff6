/* Routing of an op call to the backend of its device: the CPU always, CUDA when built with it. */
#ifndef MBT_OPS_DISPATCH_H
#define MBT_OPS_DISPATCH_H

#include "core/tensor.h"
#include "ops/backend_cpu.h"
#ifdef MIXBT_HAVE_CUDA
#include "ops/backend_cuda.h"
#define MBT_IF_CUDA(call) call
#else
#define MBT_IF_CUDA(call) mbt_dispatch_no_cuda(what_)
#endif

/* The error of a CUDA call in a build without the CUDA backend, naming the op. */
mbt_status mbt_dispatch_no_cuda(const char *what);
/* The error of a bf16-activation op or flag on the CPU backend, naming the op. */
mbt_status mbt_dispatch_bf16_on_cpu(const char *what);
/* The error of an unknown device value, naming the op. */
mbt_status mbt_dispatch_bad_device(const char *what, mbt_device device);

/* In a function returning mbt_status: returns cpu_call or cuda_call by device. `what` names the op
 * in errors; cuda_call is not compiled in a build without CUDA. */
#define MBT_DISPATCH(what, device, cpu_call, cuda_call)              \
    do {                                                             \
        const char *what_ = (what);                                  \
        (void)what_;                                                 \
        switch (device) {                                            \
        case MBT_DEVICE_CPU: return cpu_call;                        \
        case MBT_DEVICE_CUDA: return MBT_IF_CUDA(cuda_call);         \
        }                                                            \
        return mbt_dispatch_bad_device(what_, device);               \
    } while (0)

#endif
