/* The device's work queue as the layers above see it, without naming a backend: events marking a point
 * in it, host staging memory the device copies from and to while the host goes on, and asynchronous
 * copies. On the CPU work is done when the call that queues it returns: events are always complete,
 * staging memory is plain host memory and the copies are memcpy. On CUDA (core/cuda.h) they are the
 * context's stream, cudaEvent_t, pinned memory and cudaMemcpyAsync. */
#ifndef MBT_CORE_QUEUE_H
#define MBT_CORE_QUEUE_H

#include <stddef.h>

#include "core/status.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A point in the device's queue (zero-filled: an event never recorded, which mbt_event_free accepts). */
typedef struct {
    mbt_device device;
    void *handle; /* CUDA: cudaEvent_t; CPU: NULL */
} mbt_event;

/* 1 when the device's memory is the host's (the CPU): host code may use its buffers directly. */
int mbt_device_host_memory(mbt_device device);
/* 1 when queued work is done once the call that queues it returns (the CPU): results may be read at once. */
int mbt_device_synchronous(mbt_device device);

/* CUDA: creates the process's context first (and so the device allocator of plans). */
mbt_status mbt_event_init(mbt_event *e, mbt_device device);
/* Waits for the event, then releases it. */
void mbt_event_free(mbt_event *e);
/* Marks the current end of the device's queue; `what` names the caller in errors. */
mbt_status mbt_event_record(mbt_event *e, const char *what);
/* The host waits until the work queued before the last record is done (at once if never recorded). */
mbt_status mbt_event_wait(mbt_event *e, const char *what);

/* Zero-filled host memory of `bytes` that the device copies from and to without the host waiting
 * (CUDA: pinned; it must not change until the queue has passed a copy from it). */
mbt_status mbt_staging_alloc(mbt_device device, const char *what, void **ptr, size_t bytes);
/* Waits for the device's queue (copies from it may be queued), then frees; NULL is fine. */
void mbt_staging_free(mbt_device device, void *ptr);

/* Queues a copy of `bytes` from staging memory src to device memory dst, ordered before all work queued
 * after it; the host does not wait (CPU: memcpy). */
mbt_status mbt_copy_to_device_async(mbt_device device, void *dst, const void *src, size_t bytes);
/* The same from device memory src into staging memory dst: read dst after an event recorded later. */
mbt_status mbt_copy_to_host_async(mbt_device device, void *dst, const void *src, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
