/* Internals shared by the pickle parser, its whitelist of globals and the value accessors. */
#ifndef MBT_PICKLE_INTERNAL_H
#define MBT_PICKLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "io/pickle.h"

typedef enum {
    PK_G_ORDERED_DICT = 0,
    PK_G_REBUILD_TENSOR_V2,
    PK_G_REBUILD_PARAMETER,
    PK_G_REBUILD_PARAMETER_STATE,
    PK_G_TORCH_STORAGE,
    PK_G_NP_RECONSTRUCT,
    PK_G_NP_NDARRAY,
    PK_G_NP_DTYPE,
    PK_G_NP_FROMBUFFER,
    PK_G_NP_SCALAR,
    PK_G_CODECS_ENCODE
} pk_global_id;

struct mbt_pvalue {
    uint8_t kind;  /* mbt_pv_kind */
    uint8_t color; /* graph check: 0 unvisited, 1 on the path, 2 done */
    uint8_t built; /* NDARRAY: state set; DTYPE: BUILD seen */
    uint32_t height;
    union {
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t n;
        } s;
        struct {            /* TUPLE, LIST: n items; DICT: n (key, value) pairs in v[2i], v[2i+1] */
            mbt_pvalue **v;
            size_t n, cap;
            mbt_pvalue *attrs; /* DICT: instance attributes set by BUILD (e.g. _metadata), or NULL */
        } seq;
        struct {
            pk_global_id id;
            mbt_dtype dtype; /* storage globals */
            const char *name;
        } g;
        mbt_pv_storage *storage;
        mbt_pv_tensor *tensor;
        mbt_pv_ndarray *nd;
        struct {
            mbt_dtype dtype;
            char order; /* '<', '|', '=', '>' */
        } dt;
    } u;
};

typedef struct pk_chunk pk_chunk;

struct mbt_pickle {
    const unsigned char *buf;
    size_t len;
    unsigned profile;
    char what[256];
    pk_chunk *chunks;
    size_t arena_bytes, arena_limit;
    mbt_pvalue *root;
    /* parser state */
    size_t pos;    /* next byte to read */
    size_t op_pos; /* offset of the current opcode */
    unsigned char op;
};

/* Records "what: pickle byte N (opcode X): message" and returns status. */
mbt_status pk_fail(const mbt_pickle *p, mbt_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Zeroed, 8-byte aligned memory from the pickle's arena (NULL when the arena limit is reached). */
void *pk_alloc(mbt_pickle *p, size_t n);
/* A new value of the given kind (NULL when out of memory). */
mbt_pvalue *pk_new(mbt_pickle *p, mbt_pv_kind kind);
/* A new tuple/list/dict holding the given items (pairs for a dict). */
mbt_pvalue *pk_new_seq(mbt_pickle *p, mbt_pv_kind kind, mbt_pvalue *const *items, size_t n);
/* Appends one item (list) or one key/value pair (dict, two items). MBT_ERR_NOMEM/FORMAT on failure. */
mbt_status pk_seq_append(mbt_pickle *p, mbt_pvalue *seq, mbt_pvalue *const *items, size_t n);

/* Resolves module.name against the profile's whitelist into a GLOBAL value, or fails naming it. */
mbt_status pk_global(mbt_pickle *p, const char *module, size_t mlen, const char *name, size_t nlen, mbt_pvalue **out);
/* REDUCE / NEWOBJ: calls a whitelisted global with an argument tuple. */
mbt_status pk_reduce(mbt_pickle *p, const mbt_pvalue *callable, const mbt_pvalue *args, mbt_pvalue **out);
mbt_status pk_newobj(mbt_pickle *p, const mbt_pvalue *cls, const mbt_pvalue *args, mbt_pvalue **out);
/* BUILD: sets the state of obj (numpy arrays and dtypes, dict attributes). */
mbt_status pk_build(mbt_pickle *p, mbt_pvalue *obj, const mbt_pvalue *state);
/* BINPERSID: resolves a torch storage persistent id. */
mbt_status pk_persistent_load(mbt_pickle *p, const mbt_pvalue *pid, mbt_pvalue **out);
/* After STOP: rejects cycles and graphs deeper than MBT_PICKLE_MAX_DEPTH. */
mbt_status pk_check_graph(mbt_pickle *p, mbt_pvalue *root);

#endif
