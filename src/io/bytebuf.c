/* Growable byte buffer. */
#include "io/bytebuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mbt_bytebuf_init(mbt_bytebuf *b) { memset(b, 0, sizeof *b); }

void mbt_bytebuf_free(mbt_bytebuf *b) {
    free(b->data);
    mbt_bytebuf_init(b);
}

static int reserve(mbt_bytebuf *b, size_t n) {
    if (b->failed) return 0;
    if (n > (size_t)-1 - b->len - 1) {
        b->failed = 1;
        return 0;
    }
    if (b->len + n + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap = cap > ((size_t)-1) / 2 ? b->len + n + 1 : 2 * cap;
    unsigned char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void mbt_bytebuf_put(mbt_bytebuf *b, const void *data, size_t n) {
    if (!reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0; /* always NUL-terminated for text use */
}

void mbt_bytebuf_byte(mbt_bytebuf *b, unsigned char c) { mbt_bytebuf_put(b, &c, 1); }
void mbt_bytebuf_str(mbt_bytebuf *b, const char *s) { mbt_bytebuf_put(b, s, strlen(s)); }

void mbt_bytebuf_printf(mbt_bytebuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        mbt_bytebuf_put(b, tmp, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mbt_bytebuf_u16le(mbt_bytebuf *b, uint16_t v) {
    unsigned char c[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    mbt_bytebuf_put(b, c, 2);
}

void mbt_bytebuf_u32le(mbt_bytebuf *b, uint32_t v) {
    unsigned char c[4];
    for (int i = 0; i < 4; i++) c[i] = (unsigned char)(v >> (8 * i));
    mbt_bytebuf_put(b, c, 4);
}

void mbt_bytebuf_u64le(mbt_bytebuf *b, uint64_t v) {
    unsigned char c[8];
    for (int i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
    mbt_bytebuf_put(b, c, 8);
}

void mbt_bytebuf_json_str(mbt_bytebuf *b, const char *s) {
    mbt_bytebuf_byte(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            mbt_bytebuf_byte(b, '\\');
            mbt_bytebuf_byte(b, *p);
        } else if (*p < 0x20) {
            mbt_bytebuf_printf(b, "\\u%04x", *p);
        } else {
            mbt_bytebuf_byte(b, *p);
        }
    }
    mbt_bytebuf_byte(b, '"');
}

int mbt_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) continue;
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
        if (more < 0 || c > 0xf4 || (c & 0xfe) == 0xc0 || end - p < more) return 0;
        unsigned cp = c & (0x3f >> more);
        for (int i = 0; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more;
    }
    return 1;
}
