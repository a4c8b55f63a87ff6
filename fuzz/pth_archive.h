/* Wraps fuzzed pickle and storage bytes into a valid torch.save zip (the zip headers written here in
 * memory, the entries deflated and checksummed by zlib: building the archive through libzip cost
 * 178 us to 1.5 ms per input, more than reading it), so that the
 * .pth harness gets past the archive's CRC checks to the pickle parser and the storage extraction.
 * Input layout: one flags byte, then parts separated by FUZZ_SEP (fuzz/parts.h): the first is
 * <prefix>/data.pkl, part k (k >= 1) is the storage record <prefix>/data/<k-1>. Flags: bit 0 deflates
 * data.pkl, bit 1 the records; bit 2 adds <prefix>/byteorder ("little", or "big" with bit 3); bit 4
 * adds <prefix>/version; bits 5-6 pick the key (NULL, "model", "state_dict", "model/backbone"); bit 7
 * adds <prefix>/constants.pkl (a TorchScript archive, rejected). */
#ifndef MBT_FUZZ_PTH_ARCHIVE_H
#define MBT_FUZZ_PTH_ARCHIVE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parts.h"
#include "zlib_streams.h"

#define FUZZ_PTH_MAX_RECORDS 64

/* A growing zip image and its central directory. */
typedef struct {
    unsigned char *buf, *cd;
    size_t len, cap, cd_len, cd_cap;
    int entries, failed;
} fuzz_zip;

static void fuzz_zip_put(unsigned char **b, size_t *len, size_t *cap, const void *data, size_t n, int *failed) {
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n) c *= 2;
        unsigned char *p = realloc(*b, c);
        if (!p) {
            *failed = 1;
            return;
        }
        *b = p;
        *cap = c;
    }
    if (n) memcpy(*b + *len, data, n);
    *len += n;
}

/* Little-endian fields. */
static void fuzz_le(unsigned char *p, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Appends the entry name holding data[0, n), stored or deflated. */
static void fuzz_zip_add(fuzz_zip *z, const char *name, const void *data, size_t n, int deflate) {
    size_t clen = n, nlen = strlen(name);
    unsigned char *packed = deflate ? fuzz_deflate_raw(data, n, &clen) : NULL;
    if (deflate && !packed) {
        z->failed = 1;
        clen = n;
    }
    uint32_t crc = fuzz_crc32(data, n), offset = (uint32_t)z->len;
    unsigned char h[46];
    memset(h, 0, sizeof h);
    fuzz_le(h, 0x04034b50, 4);
    fuzz_le(h + 4, 20, 2);
    fuzz_le(h + 8, deflate ? 8 : 0, 2);
    fuzz_le(h + 12, 0x21, 2); /* 1980-01-01 */
    fuzz_le(h + 14, crc, 4);
    fuzz_le(h + 18, (uint32_t)clen, 4);
    fuzz_le(h + 22, (uint32_t)n, 4);
    fuzz_le(h + 26, (uint32_t)nlen, 2);
    fuzz_zip_put(&z->buf, &z->len, &z->cap, h, 30, &z->failed);
    fuzz_zip_put(&z->buf, &z->len, &z->cap, name, nlen, &z->failed);
    fuzz_zip_put(&z->buf, &z->len, &z->cap, packed ? packed : data, clen, &z->failed);
    free(packed);
    memset(h, 0, sizeof h);
    fuzz_le(h, 0x02014b50, 4);
    fuzz_le(h + 4, 20, 2);
    fuzz_le(h + 6, 20, 2);
    fuzz_le(h + 10, deflate ? 8 : 0, 2);
    fuzz_le(h + 14, 0x21, 2);
    fuzz_le(h + 16, crc, 4);
    fuzz_le(h + 20, (uint32_t)clen, 4);
    fuzz_le(h + 24, (uint32_t)n, 4);
    fuzz_le(h + 28, (uint32_t)nlen, 2);
    fuzz_le(h + 42, offset, 4);
    fuzz_zip_put(&z->cd, &z->cd_len, &z->cd_cap, h, 46, &z->failed);
    fuzz_zip_put(&z->cd, &z->cd_len, &z->cd_cap, name, nlen, &z->failed);
    z->entries++;
}

/* The zip image built from data (see the top of this file) into a malloc'ed *out; *key the key to
 * read with. Returns 0, or -1 if out of memory (the fuzz target then aborts). */
static int fuzz_pth_build_zip(const uint8_t *data, size_t size, unsigned char **out, size_t *out_len, const char **key) {
    static const char *const keys[4] = {NULL, "model", "state_dict", "model/backbone"};
    uint8_t flags = size ? data[0] : 0;
    const uint8_t *p = size ? data + 1 : data, *end = data + size;
    *key = keys[(flags >> 5) & 3];
    fuzz_zip z = {0};
    for (int part = 0; p && part <= FUZZ_PTH_MAX_RECORDS; part++) {
        size_t len;
        const uint8_t *body = fuzz_next_part(&p, end, &len);
        char name[64];
        if (part == 0) snprintf(name, sizeof name, "archive/data.pkl");
        else snprintf(name, sizeof name, "archive/data/%d", part - 1);
        fuzz_zip_add(&z, name, body, len, part == 0 ? flags & 1 : flags & 2);
    }
    if (flags & 4) fuzz_zip_add(&z, "archive/byteorder", flags & 8 ? "big" : "little", flags & 8 ? 3 : 6, 0);
    if (flags & 16) fuzz_zip_add(&z, "archive/version", "3\n", 2, 0);
    if (flags & 128) fuzz_zip_add(&z, "archive/constants.pkl", "\x80\x02).", 4, 0);
    unsigned char eocd[22];
    memset(eocd, 0, sizeof eocd);
    fuzz_le(eocd, 0x06054b50, 4);
    fuzz_le(eocd + 8, (uint32_t)z.entries, 2);
    fuzz_le(eocd + 10, (uint32_t)z.entries, 2);
    fuzz_le(eocd + 12, (uint32_t)z.cd_len, 4);
    fuzz_le(eocd + 16, (uint32_t)z.len, 4);
    fuzz_zip_put(&z.buf, &z.len, &z.cap, z.cd, z.cd_len, &z.failed);
    fuzz_zip_put(&z.buf, &z.len, &z.cap, eocd, sizeof eocd, &z.failed);
    free(z.cd);
    if (z.failed) {
        free(z.buf);
        return -1;
    }
    *out = z.buf;
    *out_len = z.len;
    return 0;
}

#endif
