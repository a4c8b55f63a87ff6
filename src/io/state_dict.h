/* State dicts: an ordered list of named tensors of any checkpoint dtype, plus string metadata. */
#ifndef MBT_STATE_DICT_H
#define MBT_STATE_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define MBT_SD_MAX_DIMS 8

/* Element types of checkpoint tensors (all little-endian in memory and on disk). */
typedef enum {
    MBT_DTYPE_F32 = 0,
    MBT_DTYPE_F16,
    MBT_DTYPE_BF16,
    MBT_DTYPE_F64,
    MBT_DTYPE_I64,
    MBT_DTYPE_I32,
    MBT_DTYPE_U8,
    MBT_DTYPE_COUNT
} mbt_dtype;

/* Bytes per element (0 for an invalid dtype). */
size_t mbt_dtype_size(mbt_dtype dtype);
/* Short lower-case name: "f32", "f16", "bf16", "f64", "i64", "i32", "u8". */
const char *mbt_dtype_name(mbt_dtype dtype);
/* safetensors' name: "F32", "F16", "BF16", "F64", "I64", "I32", "U8". */
const char *mbt_dtype_safetensors_name(mbt_dtype dtype);
/* Parses either name form (case-insensitive); MBT_ERR_ARG for anything else. */
mbt_status mbt_dtype_parse(const char *name, mbt_dtype *dtype);
/* 1 for the floating-point dtypes. */
int mbt_dtype_is_float(mbt_dtype dtype);

/* Scalar conversions (IEEE binary16 and bfloat16 as raw bits). To-f32 conversions are exact; the
 * from-f32 ones round to nearest even and keep NaN a NaN. */
float mbt_f16_to_f32(uint16_t h);
float mbt_bf16_to_f32(uint16_t b);
uint16_t mbt_f32_to_f16(float f);
uint16_t mbt_f32_to_bf16(float f);

/* How mbt_state_dict_add treats the data pointer. */
typedef enum {
    MBT_SD_COPY = 0, /* copy the bytes; the state dict owns the copy */
    MBT_SD_BORROW,   /* keep the pointer; the caller keeps the bytes alive and unchanged */
    MBT_SD_TAKE      /* take ownership of a malloc'ed buffer (freed by the state dict, also on error) */
} mbt_sd_mode;

typedef struct {
    char *name;
    mbt_dtype dtype;
    int ndim; /* 0 = scalar */
    int64_t shape[MBT_SD_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    void *data; /* contiguous, row-major, little-endian; NULL only when nbytes == 0 */
    int owned;  /* data is freed with the state dict */
} mbt_sd_tensor;

typedef struct {
    char *key;
    char *value;
} mbt_sd_meta;

typedef struct {
    mbt_sd_tensor *tensors;
    size_t count, cap;
    mbt_sd_meta *meta;
    size_t meta_count, meta_cap;
    void **buffers; /* backing buffers that borrowed tensors point into, freed with the state dict */
    size_t n_buffers, buffers_cap;
    size_t *index; /* open-addressing hash of names: tensor index + 1, 0 = empty */
    size_t index_cap;
    int index_valid;
} mbt_state_dict;

void mbt_state_dict_init(mbt_state_dict *sd);
/* Frees names, owned data, metadata and backing buffers; leaves an empty, initialised state dict. */
void mbt_state_dict_free(mbt_state_dict *sd);

/* Number of elements of a shape, with overflow detection: MBT_ERR_FORMAT naming `what` if the product
 * or product * elem_size exceeds SIZE_MAX (or 2^62), or a dimension is negative or ndim > 8. */
mbt_status mbt_shape_numel(const char *what, int ndim, const int64_t *shape, size_t elem_size, size_t *numel,
                           size_t *nbytes);

/* Appends a tensor called `name` (copied). `data` holds numel * dtype size bytes (may be NULL when that
 * is 0). MBT_ERR_ARG on a duplicate name or a bad shape. With MBT_SD_TAKE the buffer is freed on error. */
mbt_status mbt_state_dict_add(mbt_state_dict *sd, const char *name, mbt_dtype dtype, int ndim, const int64_t *shape,
                              const void *data, mbt_sd_mode mode);
/* The tensor called name, or NULL. */
const mbt_sd_tensor *mbt_state_dict_find(const mbt_state_dict *sd, const char *name);
/* Index of the tensor called name, or -1. */
long mbt_state_dict_index(const mbt_state_dict *sd, const char *name);
/* Renames tensor i without checking for duplicates (the hash index is dropped until the next
 * mbt_state_dict_reindex; lookups scan meanwhile). Use for batch renames, then reindex. */
mbt_status mbt_state_dict_set_name(mbt_state_dict *sd, size_t i, const char *name);
/* Removes tensor i (keeping the order of the others); drops the hash index. */
void mbt_state_dict_remove(mbt_state_dict *sd, size_t i);
/* Rebuilds the name index; MBT_ERR_ARG naming the first duplicate name (e.g. after a rename). */
mbt_status mbt_state_dict_reindex(mbt_state_dict *sd);
/* Hands a malloc'ed buffer to the state dict (freed with it), for borrowed tensors that point into it.
 * On failure the buffer is freed. */
mbt_status mbt_state_dict_adopt(mbt_state_dict *sd, void *buffer);
/* Makes every tensor own its data (copies borrowed ones), so that the source may go away. */
mbt_status mbt_state_dict_own_all(mbt_state_dict *sd);

/* Sets (replacing) a metadata entry; both strings are copied. */
mbt_status mbt_state_dict_set_meta(mbt_state_dict *sd, const char *key, const char *value);
/* The value of a metadata key, or NULL. */
const char *mbt_state_dict_get_meta(const mbt_state_dict *sd, const char *key);

/* Converts a floating-point tensor (f32, f16, bf16, f64) to n = numel floats in dst (f64 rounds to
 * nearest). MBT_ERR_ARG if n differs from numel or the dtype is an integer one (message names t). */
mbt_status mbt_sd_tensor_to_f32(const mbt_sd_tensor *t, float *dst, size_t n);
/* Converts an integer tensor (i64, i32, u8) to n = numel int64 values. */
mbt_status mbt_sd_tensor_to_i64(const mbt_sd_tensor *t, int64_t *dst, size_t n);
/* Total bytes of tensor data. */
size_t mbt_state_dict_nbytes(const mbt_state_dict *sd);

#endif
