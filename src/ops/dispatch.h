/* Routing of an op call to the backend of its device (MBT_DISPATCH, core/dispatch.h) and the
 * declarations of both backends. */
#ifndef MBT_OPS_DISPATCH_H
#define MBT_OPS_DISPATCH_H

#include "core/dispatch.h"
#include "core/tensor.h"
#include "ops/backend_cpu.h"
#ifdef MIXBT_HAVE_CUDA
#include "ops/backend_cuda.h"
#endif

/* The error of a bf16-activation op or flag on the CPU backend, naming the op. */
mbt_status mbt_dispatch_bf16_on_cpu(const char *what);

#endif
