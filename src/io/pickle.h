/* A safe reader of Python pickles (protocols 2-5, the binary opcodes that torch.save and pickle.dump
 * write): it builds a tree of values and executes nothing. Only whitelisted globals are understood,
 * each by a fixed C implementation; any other global is an error naming it (module.name).
 *
 * Profiles (bit flags) choose the whitelist:
 *   MBT_PICKLE_TORCH: collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter
 *     (/ _rebuild_parameter_with_state), torch.{Float,Half,BFloat16,Double,Long,Int,Byte}Storage and
 *     persistent ids ('storage', type, key, location, numel) -> TENSOR and STORAGE values,
 *     and _codecs.encode(s, 'latin1') (how Python 3 writes bytes in protocol 2).
 *   MBT_PICKLE_NUMPY: collections.OrderedDict, numpy.core.multiarray._reconstruct + numpy.ndarray +
 *     numpy.dtype with BUILD state, numpy.core.numeric._frombuffer (protocol 5), numpy.core.multiarray.
 *     scalar (0-d), also under numpy._core (numpy 2), _codecs.encode -> NDARRAY values (u1, i4, i8, f2,
 *     f4, f8; little-endian, C order). Python 2 strings (STRING opcodes) become BYTES (encoding='bytes').
 *
 * Limits against hostile input: nesting depth (MBT_PICKLE_MAX_DEPTH, for both the MARK stack and the
 * final value graph), memo size (MBT_PICKLE_MAX_MEMO), every declared length checked against the bytes
 * left, integers beyond 64 bits rejected, cyclic structures rejected (the tree is checked after STOP),
 * memory linear in the input size. Every failure is a status with a message naming the source, the
 * byte offset and the opcode. */
#ifndef MBT_PICKLE_H
#define MBT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "io/state_dict.h"

#define MBT_PICKLE_TORCH 1u
#define MBT_PICKLE_NUMPY 2u

#define MBT_PICKLE_MAX_DEPTH 128
#define MBT_PICKLE_MAX_MEMO (1u << 20)

typedef enum {
    MBT_PV_NONE = 0,
    MBT_PV_BOOL,
    MBT_PV_INT,
    MBT_PV_FLOAT,
    MBT_PV_STR,   /* UTF-8 text as stored (not validated) */
    MBT_PV_BYTES,
    MBT_PV_TUPLE,
    MBT_PV_LIST,
    MBT_PV_DICT,  /* dict and OrderedDict: insertion order kept */
    MBT_PV_GLOBAL,
    MBT_PV_STORAGE,
    MBT_PV_TENSOR,
    MBT_PV_NDARRAY,
    MBT_PV_DTYPE
} mbt_pv_kind;

typedef struct mbt_pickle mbt_pickle;
typedef struct mbt_pvalue mbt_pvalue;

/* A torch storage named by a persistent id: its element type, zip entry key, location, numel. */
typedef struct {
    mbt_dtype dtype;
    const char *type_name; /* "torch.FloatStorage" */
    const char *key;       /* NUL-terminated */
    const char *location;  /* "cpu", "cuda:0" ... */
    int64_t numel;
} mbt_pv_storage;

/* A torch tensor: a strided view of a storage (torch._utils._rebuild_tensor_v2 arguments). */
typedef struct {
    mbt_pv_storage storage;
    int64_t offset;
    int ndim;
    int64_t sizes[MBT_SD_MAX_DIMS];
    int64_t strides[MBT_SD_MAX_DIMS];
    int requires_grad;
    int is_parameter; /* came through _rebuild_parameter */
} mbt_pv_tensor;

/* A numpy array (C order, little-endian) whose bytes point into the pickle's memory. */
typedef struct {
    mbt_dtype dtype;
    int ndim;
    int64_t shape[MBT_SD_MAX_DIMS];
    size_t numel;
    const void *data;
    size_t nbytes;
} mbt_pv_ndarray;

/* Parses a pickle held in buf[0, len). `what` names the source in messages (a file name). The result
 * borrows buf: keep it alive and unchanged until mbt_pickle_destroy. */
mbt_status mbt_pickle_parse(mbt_pickle **out, const void *buf, size_t len, unsigned profile, const char *what);
void mbt_pickle_destroy(mbt_pickle *p);
/* The unpickled object. */
const mbt_pvalue *mbt_pickle_root(const mbt_pickle *p);

mbt_pv_kind mbt_pvalue_kind(const mbt_pvalue *v);
/* "int", "dict", "tensor" ... (for messages). */
const char *mbt_pv_kind_name(mbt_pv_kind kind);
/* Items of a tuple, list or dict; bytes of a str or bytes; 0 otherwise. */
size_t mbt_pvalue_len(const mbt_pvalue *v);
/* Element i of a tuple or list (NULL if out of range or not a sequence). */
const mbt_pvalue *mbt_pvalue_item(const mbt_pvalue *v, size_t i);
/* Key / value of the i-th dict entry (NULL if out of range or not a dict). */
const mbt_pvalue *mbt_pvalue_dict_key(const mbt_pvalue *v, size_t i);
const mbt_pvalue *mbt_pvalue_dict_value(const mbt_pvalue *v, size_t i);
/* The value stored under a str or bytes key equal to `key` (the last binding wins), or NULL. */
const mbt_pvalue *mbt_pvalue_dict_get(const mbt_pvalue *dict, const char *key);
/* The bytes of a str or bytes value (not NUL-terminated), or NULL for other kinds. */
const char *mbt_pvalue_bytes(const mbt_pvalue *v, size_t *len);
/* 1 if v is a str or bytes value equal to s. */
int mbt_pvalue_equals(const mbt_pvalue *v, const char *s);
/* A bool or int value; MBT_ERR_FORMAT for other kinds. */
mbt_status mbt_pvalue_int(const mbt_pvalue *v, int64_t *out);
/* A float, int or bool value as a double. */
mbt_status mbt_pvalue_float(const mbt_pvalue *v, double *out);
/* A list or tuple of ints as a malloc'ed array (*out may be NULL when *n == 0; free it). */
mbt_status mbt_pvalue_int_list(const mbt_pvalue *v, int64_t **out, size_t *n);
/* Torch values (MBT_ERR_FORMAT naming the kind when v is something else). */
mbt_status mbt_pvalue_tensor(const mbt_pvalue *v, mbt_pv_tensor *out);
/* A numpy array of any supported dtype. */
mbt_status mbt_pvalue_ndarray(const mbt_pvalue *v, mbt_pv_ndarray *out);
/* A numpy uint8 array: its shape and bytes (MBT_ERR_FORMAT naming the dtype if it is another one). */
mbt_status mbt_pvalue_ndarray_u8(const mbt_pvalue *v, int *ndim, int64_t shape[MBT_SD_MAX_DIMS],
                                 const uint8_t **data);

#endif
