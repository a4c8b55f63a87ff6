/* Size planning: declare every buffer first, then allocate them all at once and point into the block.
 *
 *   mbt_plan plan; mbt_plan_init(&plan, MBT_DEVICE_CPU);
 *   mbt_plan_floats(&plan, &layer.weight, 64 * 3 * 3 * 3);   // records &layer.weight
 *   ...
 *   mbt_plan_commit(&plan);   // one allocation; every recorded pointer now points into it
 *   ...
 *   mbt_plan_free(&plan);
 *
 * Buffers are 64-byte aligned and zero-filled. Nothing is allocated after commit, so a training
 * step that only uses planned buffers allocates nothing. Plans are grouped (parameters, gradients,
 * activations...) by using one plan per group, so that e.g. all gradients are contiguous and can be
 * all-reduced or zeroed in one call. */
#ifndef MBT_PLAN_H
#define MBT_PLAN_H

#include <stddef.h>

#include "core/status.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void **slot;  /* where to store the buffer's address at commit */
    size_t offset;
    size_t bytes;
} mbt_plan_entry;

typedef struct {
    mbt_device device;
    mbt_plan_entry *entries;
    size_t count, capacity;
    size_t total_bytes;
    void *block;  /* the single allocation, after commit */
    int committed;
    mbt_status deferred;  /* first failure during planning, reported by commit */
} mbt_plan;

void mbt_plan_init(mbt_plan *plan, mbt_device device);
/* Reserves `bytes` for *slot. Errors (out of memory for the entry table, use after commit) are
 * remembered and returned by mbt_plan_commit, so planning code needs no checks. */
void mbt_plan_bytes(mbt_plan *plan, void **slot, size_t bytes);
/* Reserves `count` floats for *slot. */
void mbt_plan_floats(mbt_plan *plan, float **slot, size_t count);
/* Allocates the block, zero-fills it and writes every slot. */
mbt_status mbt_plan_commit(mbt_plan *plan);
/* Sets every slot back to NULL and frees the block. */
void mbt_plan_free(mbt_plan *plan);
/* Number of floats in the committed block (the whole group as one vector). */
static inline size_t mbt_plan_float_count(const mbt_plan *plan) { return plan->total_bytes / sizeof(float); }

/* Hooks for device allocators (the CUDA backend registers its own). */
typedef struct {
    void *(*alloc)(size_t bytes);      /* returns zeroed memory or NULL */
    void (*release)(void *ptr);
} mbt_device_allocator;
void mbt_plan_set_device_allocator(mbt_device device, const mbt_device_allocator *allocator);

#ifdef __cplusplus
}
#endif

#endif
