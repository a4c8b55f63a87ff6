/* NumPy .npy files (format version 1.0): the magic "\x93NUMPY", version bytes 1 0, a little-endian u16
 * header length, then the header, an ASCII Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes (as NumPy
 * itself writes), then the raw array in C order, little-endian. Written atomically, possibly row block
 * by row block (a streaming writer), so that arrays larger than memory can be written. */
#ifndef MBT_NPY_H
#define MBT_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "io/atomic_file.h"
#include "io/state_dict.h"

/* Data alignment of the header (NumPy's ARRAY_ALIGN). */
#define MBT_NPY_ALIGN 64
/* Largest number of dimensions written. */
#define MBT_NPY_MAX_DIMS 8

/* NumPy's descr of a dtype: "<f4", "<f2", "<f8", "<i8", "<i4", "|u1"; NULL for bfloat16 (NumPy has no
 * such type). */
const char *mbt_npy_descr(mbt_dtype dtype);

/* The complete header (magic to '\n') for an array of dtype and shape[ndim] (0 <= ndim <= 8, every
 * dimension >= 0) into buf of `size` bytes; *len receives its length, a multiple of 64. MBT_ERR_ARG for
 * an unsupported dtype, a bad shape or a buffer too small (256 bytes always suffice). */
mbt_status mbt_npy_header(mbt_dtype dtype, int ndim, const int64_t *shape, char *buf, size_t size, size_t *len);

/* A streaming writer: open with the array's dtype and shape, append exactly its bytes in C order in
 * any number of pieces, then commit (which publishes the file) or abort (which leaves any previous
 * file at path untouched). */
typedef struct {
    mbt_atomic_file file;
    size_t expected, written; /* data bytes */
    int open;
} mbt_npy_writer;

mbt_status mbt_npy_writer_open(mbt_npy_writer *w, const char *path, mbt_dtype dtype, int ndim, const int64_t *shape);
/* Appends nbytes of array data; MBT_ERR_ARG if that goes past the array's size (the writer is then
 * aborted). */
mbt_status mbt_npy_writer_append(mbt_npy_writer *w, const void *data, size_t nbytes);
/* MBT_ERR_ARG (and the file is not published) unless the whole array was appended. Always releases w. */
mbt_status mbt_npy_writer_commit(mbt_npy_writer *w);
/* Removes the temporary file; a no-op on a released writer. */
void mbt_npy_writer_abort(mbt_npy_writer *w);

/* Writes a whole array at once (atomically). */
mbt_status mbt_npy_write(const char *path, mbt_dtype dtype, int ndim, const int64_t *shape, const void *data);

#endif
