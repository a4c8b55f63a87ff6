/* The late read-back ring of loss values (methods/loss_readback.h). */
#include "methods/loss_readback.h"

#include <string.h>

mbt_status mbt_loss_readback_init(mbt_loss_readback *rb, mbt_device device, int count, const char *what) {
    memset(rb, 0, sizeof *rb);
    MBT_CHECK_ARG(count >= 1, "%s: read-back of %d values", what, count);
    rb->device = device;
    rb->count = count;
    rb->what = what;
    for (int k = 0; k < MBT_READBACK_SLOTS; k++) MBT_TRY(mbt_event_init(&rb->ready[k], device));
    return mbt_staging_alloc(device, what, (void **)&rb->host, (size_t)MBT_READBACK_SLOTS * count * sizeof(double));
}

void mbt_loss_readback_free(mbt_loss_readback *rb) {
    for (int k = 0; k < MBT_READBACK_SLOTS; k++) mbt_event_free(&rb->ready[k]); /* waits for the copies */
    if (rb->host) mbt_staging_free(rb->device, rb->host);
    memset(rb, 0, sizeof *rb);
}

mbt_status mbt_loss_readback_queue(mbt_loss_readback *rb, const double *src, int *slot) {
    MBT_CHECK_ARG(rb->host, "loss read-back: not initialised");
    MBT_CHECK_ARG(rb->pending < MBT_READBACK_SLOTS, "%s: %d calls queued and not collected", rb->what, rb->pending);
    const int k = (rb->head + rb->pending) % MBT_READBACK_SLOTS;
    const size_t bytes = (size_t)rb->count * sizeof(double);
    MBT_TRY(mbt_copy_to_host_async(rb->device, rb->host + (size_t)k * rb->count, src, bytes));
    MBT_TRY(mbt_event_record(&rb->ready[k], rb->what));
    rb->pending++;
    *slot = k;
    return MBT_OK;
}

void mbt_loss_readback_drop_newest(mbt_loss_readback *rb) {
    if (rb->pending > 0) rb->pending--;
}

mbt_status mbt_loss_readback_collect(mbt_loss_readback *rb, int *slot, const double **values) {
    MBT_CHECK_ARG(rb->host, "loss read-back: not initialised");
    MBT_CHECK_ARG(rb->pending > 0, "%s: no queued call to collect", rb->what);
    const int k = rb->head;
    rb->head = (k + 1) % MBT_READBACK_SLOTS;
    rb->pending--;
    *slot = k;
    *values = mbt_loss_readback_values(rb, k);
    return mbt_event_wait(&rb->ready[k], rb->what);
}
