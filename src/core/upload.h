/* Host data onto the device without the host waiting: a ring of staging buffers (core/queue.h), each
 * with the event after the last copy out of it, so a buffer is refilled only once its copy is done. */
#ifndef MBT_CORE_UPLOAD_H
#define MBT_CORE_UPLOAD_H

#include <stddef.h>

#include "core/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MBT_UPLOAD_MAX_SLOTS 4

typedef struct {
    mbt_device device;
    const char *what;              /* names the upload in errors */
    int slots, cur;                /* ring size; the slot of the last mbt_upload_begin */
    size_t bytes;                  /* per slot */
    unsigned char *staging;        /* slots x bytes of staging memory */
    mbt_event copied[MBT_UPLOAD_MAX_SLOTS];
} mbt_upload;

/* `slots` (1..MBT_UPLOAD_MAX_SLOTS) staging buffers of `bytes` for uploads to `device`; `what` (a string
 * that outlives u) names it in errors. CUDA: creates the context first. */
mbt_status mbt_upload_init(mbt_upload *u, mbt_device device, int slots, size_t bytes, const char *what);
/* Waits for the copies in flight, then frees (a zeroed u is fine). */
void mbt_upload_free(mbt_upload *u);
/* The next slot's staging buffer, once the copy last queued from it is done: fill it, then queue copies
 * from it with mbt_upload_copy. With one slot it is always the same buffer. */
mbt_status mbt_upload_begin(mbt_upload *u, void **staging);
/* Queues a copy of `bytes` at `offset` of the current slot into device memory dst (ordered before all
 * work queued after it) and records the slot's event after it. */
mbt_status mbt_upload_copy(mbt_upload *u, void *dst, size_t offset, size_t bytes);
/* begin, a copy of `bytes` of host memory src into the slot, then mbt_upload_copy to dst: src may change
 * as soon as it returns. */
mbt_status mbt_upload_put(mbt_upload *u, void *dst, const void *src, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
