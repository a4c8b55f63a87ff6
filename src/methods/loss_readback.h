/* A small ring that brings a loss's values (a few doubles in device memory) back to the host late: queue
 * copies them into a staging slot and records an event without waiting; collect waits for the oldest slot.
 * The caller keeps what it needs to finish a slot (batch, parameters) in its own array indexed by slot. */
#ifndef MBT_LOSS_READBACK_H
#define MBT_LOSS_READBACK_H

#include "core/queue.h"
#include "core/status.h"
#include "core/tensor.h"

/* Calls that may be queued and not collected yet. */
#define MBT_READBACK_SLOTS 2

typedef struct {
    mbt_device device;
    int count;         /* doubles per slot */
    const char *what;  /* names the loss in errors */
    double *host;      /* staging memory [MBT_READBACK_SLOTS][count] */
    mbt_event ready[MBT_READBACK_SLOTS];
    int head, pending; /* oldest queued slot, and how many are queued */
} mbt_loss_readback;

/* Events first (on CUDA they create the context, so call this before committing device plans). */
mbt_status mbt_loss_readback_init(mbt_loss_readback *rb, mbt_device device, int count, const char *what);
/* Waits for queued copies, then releases; a zero-filled ring is fine. */
void mbt_loss_readback_free(mbt_loss_readback *rb);

/* Queues the copy of rb->count doubles from device memory src into the next slot (*slot); MBT_ERR_ARG when
 * all slots are pending. On a synchronous device the values are there when it returns. */
mbt_status mbt_loss_readback_queue(mbt_loss_readback *rb, const double *src, int *slot);
/* Forgets the newest queued slot (its values failed the caller's checks at once). */
void mbt_loss_readback_drop_newest(mbt_loss_readback *rb);
/* Waits for the oldest queued slot and frees it: *slot and *values (valid until that slot is queued again). */
mbt_status mbt_loss_readback_collect(mbt_loss_readback *rb, int *slot, const double **values);
/* The values of a slot (no wait: for a synchronous device, or after collect). */
static inline const double *mbt_loss_readback_values(const mbt_loss_readback *rb, int slot) {
    return rb->host + (size_t)slot * rb->count;
}

#endif
