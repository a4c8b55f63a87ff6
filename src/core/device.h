/* Choosing the compute device from text ("cpu", "cuda", "cuda:N") and the few device-generic
 * operations that every layer above needs without naming a backend: host <-> device copies and
 * waiting for queued work. On the CPU they are memcpy and nothing; on CUDA they go through
 * core/cuda.h (in a build with the CUDA backend). */
#ifndef MBT_CORE_DEVICE_H
#define MBT_CORE_DEVICE_H

#include <stddef.h>

#include "core/status.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses "cpu", "cuda" (ordinal 0) or "cuda:N" into *device and *ordinal (0 for the CPU). Only the
 * text is checked: MBT_ERR_ARG naming `flag` (e.g. "--device") and the accepted forms. */
mbt_status mbt_device_parse(const char *text, const char *flag, mbt_device *device, int *ordinal);

/* Parses text as above and makes the device ready: for CUDA, fails with one clear sentence naming
 * `flag` when this build has no CUDA backend (MBT_ERR_UNSUPPORTED), when the machine has no CUDA
 * device (MBT_ERR_UNSUPPORTED) or no device N (MBT_ERR_ARG); else selects device N and creates the
 * process's CUDA context. A process uses one CUDA device: a second call with another N fails. */
mbt_status mbt_device_open(const char *text, const char *flag, mbt_device *device);

/* Copies `bytes` from host memory src to memory of `device` (dst), and back. Synchronous: when
 * they return the copy is complete (CUDA: queued on the context's stream, then waited for, so
 * earlier work on the stream is finished too). */
mbt_status mbt_device_from_host(mbt_device device, void *dst, const void *src, size_t bytes);
mbt_status mbt_device_to_host(mbt_device device, void *dst, const void *src, size_t bytes);

/* Waits until all work queued on the device is done and reports an asynchronous failure naming
 * `what` (CUDA: the context's stream). Nothing to do on the CPU. */
mbt_status mbt_device_synchronize(mbt_device device, const char *what);

/* The device memory free now (CUDA: cudaMemGetInfo on the current device); SIZE_MAX for the CPU,
 * whose memory is the host's. */
mbt_status mbt_device_free_memory(mbt_device device, size_t *bytes);

#ifdef __cplusplus
}
#endif

#endif
