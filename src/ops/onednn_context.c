/* oneDNN engine, stream, layout choice and the shared scratchpad of the CPU backend. */
#include "ops/onednn_context.h"

#include <stdlib.h>

static dnnl_engine_t cpu_engine;
static dnnl_stream_t cpu_stream;
static void *scratch_buf;
static size_t scratch_size;

const char *mbt_dnnl_status_name(dnnl_status_t s) {
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented for these shapes/formats";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    }
    return "unknown status";
}

mbt_status mbt_cpu_backend_get(dnnl_engine_t *engine, dnnl_stream_t *stream) {
    if (!cpu_engine) {
        MBT_DNNL("cpu backend", dnnl_engine_create(&cpu_engine, dnnl_cpu, 0));
        MBT_DNNL("cpu backend", dnnl_stream_create(&cpu_stream, cpu_engine, dnnl_stream_default_flags));
    }
    if (engine) *engine = cpu_engine;
    if (stream) *stream = cpu_stream;
    return MBT_OK;
}

int mbt_cpu_channel_block(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
}

dnnl_format_tag_t mbt_cpu_activation_tag(void) { return mbt_cpu_channel_block() == 16 ? dnnl_nChw16c : dnnl_nChw8c; }

mbt_status mbt_dnnl_attr(dnnl_primitive_attr_t *attr, int accumulate) {
    MBT_DNNL("attr", dnnl_primitive_attr_create(attr));
    MBT_DNNL("attr", dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user));
    if (accumulate) {
        dnnl_post_ops_t po;
        MBT_DNNL("attr", dnnl_post_ops_create(&po));
        MBT_DNNL("attr", dnnl_post_ops_append_sum(po, 1.0f));
        MBT_DNNL("attr", dnnl_primitive_attr_set_post_ops(*attr, po));
        dnnl_post_ops_destroy(po);
    }
    return MBT_OK;
}

mbt_status mbt_dnnl_memory(dnnl_memory_t *mem, const char *what, const dnnl_memory_desc_t *md, int allocate) {
    dnnl_engine_t eng;
    MBT_TRY(mbt_cpu_backend_get(&eng, NULL));
    MBT_DNNL(what, dnnl_memory_create(mem, md, eng, allocate ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE));
    return MBT_OK;
}

mbt_status mbt_dnnl_bind(dnnl_memory_t mem, const void *data) {
    MBT_DNNL("bind", dnnl_memory_set_data_handle(mem, (void *)data));
    return MBT_OK;
}

mbt_status mbt_dnnl_prim_create(mbt_dnnl_prim *p, const char *what, dnnl_primitive_desc_t pd) {
    p->prim = NULL;
    p->scratch = NULL;
    MBT_DNNL(what, dnnl_primitive_create(&p->prim, pd));
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (bytes == 0) return MBT_OK;
    MBT_TRY(mbt_cpu_scratch_reserve(bytes, what));
    return mbt_dnnl_memory(&p->scratch, what, smd, 0);
}

mbt_status mbt_cpu_scratch_reserve(size_t bytes, const char *what) {
    if (bytes <= scratch_size) return MBT_OK;
    void *grown = NULL;
    if (posix_memalign(&grown, 64, bytes) != 0)
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: cannot allocate a %zu-byte scratch buffer", what, bytes);
    free(scratch_buf);
    scratch_buf = grown;
    scratch_size = bytes;
    return MBT_OK;
}

void *mbt_cpu_scratch(void) { return scratch_buf; }

mbt_status mbt_dnnl_prim_exec(mbt_dnnl_prim *p, const char *what, int nargs, dnnl_exec_arg_t *args) {
    dnnl_stream_t stream;
    MBT_TRY(mbt_cpu_backend_get(NULL, &stream));
    dnnl_exec_arg_t all[16];
    if (nargs > 15) return MBT_FAIL(MBT_ERR_ARG, "%s: too many primitive arguments (%d)", what, nargs);
    for (int i = 0; i < nargs; i++) all[i] = args[i];
    if (p->scratch) {
        MBT_TRY(mbt_dnnl_bind(p->scratch, scratch_buf));
        all[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    }
    MBT_DNNL(what, dnnl_primitive_execute(p->prim, stream, nargs, all));
    MBT_DNNL(what, dnnl_stream_wait(stream));
    return MBT_OK;
}

void mbt_dnnl_prim_destroy(mbt_dnnl_prim *p) {
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->scratch) dnnl_memory_destroy(p->scratch);
    p->prim = NULL;
    p->scratch = NULL;
}

mbt_status mbt_dnnl_reorder_create(mbt_dnnl_prim *p, const char *what, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *dst, int accumulate) {
    dnnl_engine_t eng;
    MBT_TRY(mbt_cpu_backend_get(&eng, NULL));
    dnnl_primitive_attr_t attr;
    MBT_TRY(mbt_dnnl_attr(&attr, accumulate));
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, src, eng, dst, eng, attr);
    dnnl_primitive_attr_destroy(attr);
    MBT_DNNL(what, s);
    mbt_status st = mbt_dnnl_prim_create(p, what, pd);
    dnnl_primitive_desc_destroy(pd);
    return st;
}
