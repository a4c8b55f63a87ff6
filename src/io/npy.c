/* Writing NumPy .npy files (format 1.0), whole or streamed, atomically. */
#include "io/npy.h"

#include <stdio.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c writes memory as little-endian data: port it before building on a big-endian host"
#endif

const char *mbt_npy_descr(mbt_dtype dtype) {
    switch (dtype) {
    case MBT_DTYPE_F32: return "<f4";
    case MBT_DTYPE_F16: return "<f2";
    case MBT_DTYPE_F64: return "<f8";
    case MBT_DTYPE_I64: return "<i8";
    case MBT_DTYPE_I32: return "<i4";
    case MBT_DTYPE_U8: return "|u1";
    default: return NULL;
    }
}

/* Bytes of the data of an array: MBT_ERR_ARG on a bad shape or an overflow. */
static mbt_status data_bytes(mbt_dtype dtype, int ndim, const int64_t *shape, size_t *bytes) {
    const char *descr = mbt_npy_descr(dtype);
    if (!descr) return MBT_FAIL(MBT_ERR_ARG, "npy: dtype %s has no NumPy equivalent", mbt_dtype_name(dtype));
    if (ndim < 0 || ndim > MBT_NPY_MAX_DIMS)
        return MBT_FAIL(MBT_ERR_ARG, "npy: %d dimensions (0 to %d supported)", ndim, MBT_NPY_MAX_DIMS);
    size_t numel;
    mbt_status s = mbt_shape_numel("npy array", ndim, shape, mbt_dtype_size(dtype), &numel, bytes);
    return s == MBT_OK ? MBT_OK : MBT_ERR_ARG;
}

mbt_status mbt_npy_header(mbt_dtype dtype, int ndim, const int64_t *shape, char *buf, size_t size, size_t *len) {
    size_t bytes;
    MBT_TRY(data_bytes(dtype, ndim, shape, &bytes));
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", mbt_npy_descr(dtype));
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)shape[i]);
    /* a 1-tuple needs its comma, as Python writes it */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    /* magic (6) + version (2) + u16 length (2) + dict + spaces + '\n', a multiple of the alignment */
    size_t total = 10 + (size_t)n + 1;
    total = (total + MBT_NPY_ALIGN - 1) / MBT_NPY_ALIGN * MBT_NPY_ALIGN;
    if (total > size) return MBT_FAIL(MBT_ERR_ARG, "npy: header of %zu bytes does not fit a %zu-byte buffer", total, size);
    size_t hlen = total - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', total - 10 - (size_t)n - 1);
    buf[total - 1] = '\n';
    *len = total;
    return MBT_OK;
}

mbt_status mbt_npy_writer_open(mbt_npy_writer *w, const char *path, mbt_dtype dtype, int ndim, const int64_t *shape) {
    memset(w, 0, sizeof *w);
    char header[256];
    size_t hlen, bytes;
    MBT_TRY(data_bytes(dtype, ndim, shape, &bytes));
    MBT_TRY(mbt_npy_header(dtype, ndim, shape, header, sizeof header, &hlen));
    MBT_TRY(mbt_atomic_open(&w->file, path));
    mbt_status s = mbt_atomic_write(&w->file, header, hlen);
    if (s != MBT_OK) {
        mbt_atomic_abort(&w->file);
        return s;
    }
    w->expected = bytes;
    w->open = 1;
    return MBT_OK;
}

mbt_status mbt_npy_writer_append(mbt_npy_writer *w, const void *data, size_t nbytes) {
    if (!w->open) return MBT_FAIL(MBT_ERR_ARG, "npy: append to a writer that is not open");
    if (nbytes > w->expected - w->written) {
        mbt_status s = MBT_FAIL(MBT_ERR_ARG, "%s: %zu more bytes would pass the array's %zu bytes (%zu written)",
                                w->file.path, nbytes, w->expected, w->written);
        mbt_npy_writer_abort(w);
        return s;
    }
    mbt_status s = mbt_atomic_write(&w->file, data, nbytes);
    if (s != MBT_OK) {
        mbt_npy_writer_abort(w);
        return s;
    }
    w->written += nbytes;
    return MBT_OK;
}

mbt_status mbt_npy_writer_commit(mbt_npy_writer *w) {
    if (!w->open) return MBT_FAIL(MBT_ERR_ARG, "npy: commit of a writer that is not open");
    if (w->written != w->expected) {
        mbt_status s = MBT_FAIL(MBT_ERR_ARG, "%s: only %zu of the array's %zu bytes were written; file not saved",
                                w->file.path, w->written, w->expected);
        mbt_npy_writer_abort(w);
        return s;
    }
    w->open = 0;
    return mbt_atomic_commit(&w->file);
}

void mbt_npy_writer_abort(mbt_npy_writer *w) {
    if (w->open) mbt_atomic_abort(&w->file);
    w->open = 0;
}

mbt_status mbt_npy_write(const char *path, mbt_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    mbt_npy_writer w;
    MBT_TRY(mbt_npy_writer_open(&w, path, dtype, ndim, shape));
    MBT_TRY(mbt_npy_writer_append(&w, data, w.expected));
    return mbt_npy_writer_commit(&w);
}
