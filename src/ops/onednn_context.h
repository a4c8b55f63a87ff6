/* The CPU backend's shared state: the oneDNN engine and stream, the activation layout it uses, and
 * one scratchpad shared by every primitive (primitives run one at a time). */
#ifndef MBT_ONEDNN_CONTEXT_H
#define MBT_ONEDNN_CONTEXT_H

#include <dnnl.h>
#include <stddef.h>

#include "core/status.h"

/* Checks a oneDNN call; on failure records "<what>: oneDNN <call> failed (status)" and returns. */
#define MBT_DNNL(what, call)                                                                   \
    do {                                                                                       \
        dnnl_status_t mbt_dnnl_s_ = (call);                                                    \
        if (mbt_dnnl_s_ != dnnl_success)                                                       \
            return MBT_FAIL(MBT_ERR_BACKEND, "%s: oneDNN %s failed (%s)", (what), #call,       \
                            mbt_dnnl_status_name(mbt_dnnl_s_));                                \
    } while (0)

const char *mbt_dnnl_status_name(dnnl_status_t s);

/* Engine and stream, created on first use. */
mbt_status mbt_cpu_backend_get(dnnl_engine_t *engine, dnnl_stream_t *stream);

/* Channel block of the native activation layout: 16 on AVX-512 machines (nChw16c), else 8 (nChw8c).
 * Native activations are [n, c/block, h, w, block]; channel counts must be multiples of the block
 * (every ResNet activation is; the network input stays NCHW). */
int mbt_cpu_channel_block(void);
dnnl_format_tag_t mbt_cpu_activation_tag(void);

/* Grows the shared scratch buffer to at least `bytes` (at set-up, never in a step); `what` names the
 * op in errors. Ops run one at a time, so every op may use the whole buffer during a call. */
mbt_status mbt_cpu_scratch_reserve(size_t bytes, const char *what);
/* The shared scratch buffer (64-byte aligned; it moves when it grows). */
void *mbt_cpu_scratch(void);

/* A primitive with its scratchpad: oneDNN in user-scratchpad mode, pointing at the shared buffer. */
typedef struct {
    dnnl_primitive_t prim;
    dnnl_memory_t scratch;  /* NULL when the primitive needs none */
} mbt_dnnl_prim;

/* Attributes with user-managed scratchpad; optionally a sum post-op (dst += result) for reorders. */
mbt_status mbt_dnnl_attr(dnnl_primitive_attr_t *attr, int accumulate);
/* Creates the primitive of `pd` and grows the shared scratchpad to fit it (at set-up, never in a step). */
mbt_status mbt_dnnl_prim_create(mbt_dnnl_prim *p, const char *what, dnnl_primitive_desc_t pd);
/* Executes with the given arguments plus the scratchpad, and waits for completion. */
mbt_status mbt_dnnl_prim_exec(mbt_dnnl_prim *p, const char *what, int nargs, dnnl_exec_arg_t *args);
void mbt_dnnl_prim_destroy(mbt_dnnl_prim *p);

/* A memory object of descriptor md without its own buffer (the handle is set before each use). */
mbt_status mbt_dnnl_memory(dnnl_memory_t *mem, const char *what, const dnnl_memory_desc_t *md, int allocate);
/* Sets a memory object's data pointer (const-cast: oneDNN does not write inputs). */
mbt_status mbt_dnnl_bind(dnnl_memory_t mem, const void *data);
/* A reorder between two memory descriptors (accumulate: dst += reordered src). */
mbt_status mbt_dnnl_reorder_create(mbt_dnnl_prim *p, const char *what, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *dst, int accumulate);

#endif
