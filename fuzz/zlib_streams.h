/* CRC-32, raw deflate and gzip streams from zlib, for the harnesses that wrap fuzzed bytes into
 * valid archives (a .pth zip, a gzipped idx file) so that the readers get past their checksums. */
#ifndef MBT_FUZZ_ZLIB_STREAMS_H
#define MBT_FUZZ_ZLIB_STREAMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

/* The CRC-32 of zip and gzip. */
static inline uint32_t fuzz_crc32(const void *data, size_t n) {
    return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)data, n);
}

/* data[0, n) deflated at the fastest level into a malloc'ed buffer: a raw deflate stream (window_bits
 * -15, a zip entry's) or a whole gzip file (16 + 15). NULL if out of memory or zlib fails. */
static inline unsigned char *fuzz_zlib_deflate(const void *data, size_t n, int window_bits, size_t *out_len) {
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 32; /* + the gzip header and trailer */
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* data[0, n) as a raw deflate stream (a zip entry's), malloc'ed. */
static inline unsigned char *fuzz_deflate_raw(const void *data, size_t n, size_t *out_len) {
    return fuzz_zlib_deflate(data, n, -15, out_len);
}

/* data[0, n) as a gzip file, malloc'ed. */
static inline unsigned char *fuzz_gzip(const void *data, size_t n, size_t *out_len) {
    return fuzz_zlib_deflate(data, n, 16 + 15, out_len);
}

#endif
