/* Size-planning allocator: collect sizes, allocate once, point into the block. */
#include "core/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MBT_PLAN_ALIGN 64

static void *cpu_alloc(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, MBT_PLAN_ALIGN, bytes ? bytes : MBT_PLAN_ALIGN) != 0) return NULL;
    memset(p, 0, bytes);
    return p;
}

static mbt_device_allocator allocators[2] = {{cpu_alloc, free}, {NULL, NULL}};

void mbt_plan_set_device_allocator(mbt_device device, const mbt_device_allocator *allocator) {
    allocators[device] = *allocator;
}

void mbt_plan_init(mbt_plan *plan, mbt_device device) {
    memset(plan, 0, sizeof *plan);
    plan->device = device;
}

void mbt_plan_bytes(mbt_plan *plan, void **slot, size_t bytes) {
    if (plan->deferred != MBT_OK) return;
    if (plan->committed) {
        plan->deferred = MBT_FAIL(MBT_ERR_ARG, "plan: buffer reserved after commit");
        return;
    }
    if (plan->count == plan->capacity) {
        size_t cap = plan->capacity ? 2 * plan->capacity : 64;
        mbt_plan_entry *e = realloc(plan->entries, cap * sizeof *e);
        if (!e) {
            plan->deferred = MBT_FAIL(MBT_ERR_NOMEM, "plan: cannot grow the entry table to %zu", cap);
            return;
        }
        plan->entries = e;
        plan->capacity = cap;
    }
    /* the same on every device: a model's flat parameter vector (and the Adam state saved with it) must
     * have the same layout on the CPU and the GPU, so that a run resumes on either */
    size_t rounded = (bytes + MBT_PLAN_ALIGN - 1) / MBT_PLAN_ALIGN * MBT_PLAN_ALIGN;
    plan->entries[plan->count++] = (mbt_plan_entry){slot, plan->total_bytes, bytes};
    plan->total_bytes += rounded;
    *slot = NULL;
}

void mbt_plan_floats(mbt_plan *plan, float **slot, size_t count) {
    mbt_plan_bytes(plan, (void **)slot, count * sizeof(float));
}

mbt_status mbt_plan_commit(mbt_plan *plan) {
    if (plan->deferred != MBT_OK) return plan->deferred;
    if (plan->committed) return MBT_FAIL(MBT_ERR_ARG, "plan: committed twice");
    const mbt_device_allocator *a = &allocators[plan->device];
    if (!a->alloc)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "plan: no allocator for device %s (built without it, or its context is not created yet)",
                        mbt_device_name(plan->device));
    plan->block = a->alloc(plan->total_bytes);
    if (!plan->block)
        return MBT_FAIL(MBT_ERR_NOMEM, "plan: cannot allocate %.1f MiB on %s",
                        plan->total_bytes / 1048576.0, mbt_device_name(plan->device));
    for (size_t i = 0; i < plan->count; i++)
        *plan->entries[i].slot = (char *)plan->block + plan->entries[i].offset;
    plan->committed = 1;
    return MBT_OK;
}

void mbt_plan_free(mbt_plan *plan) {
    for (size_t i = 0; i < plan->count; i++) *plan->entries[i].slot = NULL;
    if (plan->block) allocators[plan->device].release(plan->block);
    free(plan->entries);
    mbt_device device = plan->device;
    memset(plan, 0, sizeof *plan);
    plan->device = device;
}
