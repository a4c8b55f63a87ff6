/* Asynchronous uploads through a ring of staging buffers (see upload.h). */
#include "core/upload.h"

#include <string.h>

mbt_status mbt_upload_init(mbt_upload *u, mbt_device device, int slots, size_t bytes, const char *what) {
    memset(u, 0, sizeof *u);
    MBT_CHECK_ARG(slots >= 1 && slots <= MBT_UPLOAD_MAX_SLOTS, "%s: %d upload slots (1..%d)", what, slots,
                  MBT_UPLOAD_MAX_SLOTS);
    u->device = device;
    u->what = what;
    u->slots = slots;
    u->cur = slots - 1; /* the first begin takes slot 0 */
    u->bytes = bytes;
    mbt_status st = MBT_OK;
    for (int k = 0; st == MBT_OK && k < slots; k++) st = mbt_event_init(&u->copied[k], device);
    if (st == MBT_OK) st = mbt_staging_alloc(device, what, (void **)&u->staging, (size_t)slots * bytes);
    if (st != MBT_OK) mbt_upload_free(u);
    return st;
}

void mbt_upload_free(mbt_upload *u) {
    for (int k = 0; k < MBT_UPLOAD_MAX_SLOTS; k++) mbt_event_free(&u->copied[k]);
    if (u->staging) mbt_staging_free(u->device, u->staging);
    memset(u, 0, sizeof *u);
}

mbt_status mbt_upload_begin(mbt_upload *u, void **staging) {
    u->cur = (u->cur + 1) % u->slots;
    MBT_TRY(mbt_event_wait(&u->copied[u->cur], u->what)); /* the last copy out of this slot */
    *staging = u->staging + (size_t)u->cur * u->bytes;
    return MBT_OK;
}

mbt_status mbt_upload_copy(mbt_upload *u, void *dst, size_t offset, size_t bytes) {
    MBT_CHECK_ARG(offset <= u->bytes && bytes <= u->bytes - offset, "%s: %zu bytes at %zu of a %zu-byte slot",
                  u->what, bytes, offset, u->bytes);
    MBT_TRY(mbt_copy_to_device_async(u->device, dst, u->staging + (size_t)u->cur * u->bytes + offset, bytes));
    return mbt_event_record(&u->copied[u->cur], u->what);
}

mbt_status mbt_upload_put(mbt_upload *u, void *dst, const void *src, size_t bytes) {
    MBT_CHECK_ARG(bytes <= u->bytes, "%s: %zu bytes for a %zu-byte slot", u->what, bytes, u->bytes);
    void *slot;
    MBT_TRY(mbt_upload_begin(u, &slot));
    if (bytes) memcpy(slot, src, bytes);
    return mbt_upload_copy(u, dst, 0, bytes);
}
