/* CRC-32 and deflate / gzip streams made of stored (uncompressed) blocks: valid input for any
 * inflater, written without zlib so that the harnesses and their regression tests need no extra
 * library. */
#ifndef MBT_FUZZ_STORED_DEFLATE_H
#define MBT_FUZZ_STORED_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The CRC-32 of zip and gzip (reflected polynomial 0xEDB88320). */
static inline uint32_t fuzz_crc32(const void *data, size_t n) {
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* data[0, n) as a raw deflate stream of stored blocks, after `head` bytes of room and before `tail`
 * bytes of room (for a gzip header and trailer), malloc'ed; NULL if out of memory. */
static inline unsigned char *fuzz_deflate_stored(const void *data, size_t n, size_t head, size_t tail, size_t *out_len) {
    size_t blocks = n ? (n + 65534) / 65535 : 1, len = head + n + 5 * blocks + tail;
    unsigned char *out = malloc(len), *q;
    if (!out) return NULL;
    q = out + head;
    const unsigned char *p = data;
    for (size_t b = 0; b < blocks; b++) {
        size_t m = n - b * 65535 < 65535 ? n - b * 65535 : 65535;
        *q++ = b + 1 == blocks; /* BFINAL on the last, BTYPE 00: stored */
        q[0] = (unsigned char)m;
        q[1] = (unsigned char)(m >> 8);
        q[2] = (unsigned char)~m;
        q[3] = (unsigned char)(~m >> 8);
        q += 4;
        if (m) memcpy(q, p + b * 65535, m);
        q += m;
    }
    *out_len = len;
    return out;
}

/* data[0, n) as a gzip file (stored blocks), malloc'ed; NULL if out of memory. */
static inline unsigned char *fuzz_gzip_stored(const void *data, size_t n, size_t *out_len) {
    unsigned char *out = fuzz_deflate_stored(data, n, 10, 8, out_len);
    if (!out) return NULL;
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    memcpy(out, hdr, sizeof hdr);
    uint32_t crc = fuzz_crc32(data, n), size = (uint32_t)n;
    unsigned char *t = out + *out_len - 8;
    for (int i = 0; i < 4; i++) {
        t[i] = (unsigned char)(crc >> (8 * i));
        t[4 + i] = (unsigned char)(size >> (8 * i));
    }
    return out;
}

#endif
