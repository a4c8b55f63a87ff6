/* Routing of a call to the backend of its device, for the layers that hold per-device halves (ops, and
 * the few device kernels of core and data): the CPU always, CUDA when built with it. */
#ifndef MBT_CORE_DISPATCH_H
#define MBT_CORE_DISPATCH_H

#include "core/status.h"
#include "core/tensor.h"

#ifdef MIXBT_HAVE_CUDA
#define MBT_IF_CUDA(call) call
#else
#define MBT_IF_CUDA(call) mbt_dispatch_no_cuda(what_)
#endif

/* The error of a CUDA call in a build without the CUDA backend, naming the op. */
mbt_status mbt_dispatch_no_cuda(const char *what);
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
