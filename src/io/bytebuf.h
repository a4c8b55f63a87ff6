/* A growable byte buffer for building headers and pickles; allocation failure is sticky. */
#ifndef MBT_BYTEBUF_H
#define MBT_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed; /* an allocation failed; later appends do nothing */
} mbt_bytebuf;

void mbt_bytebuf_init(mbt_bytebuf *b);
void mbt_bytebuf_free(mbt_bytebuf *b);
void mbt_bytebuf_put(mbt_bytebuf *b, const void *data, size_t n);
void mbt_bytebuf_byte(mbt_bytebuf *b, unsigned char c);
void mbt_bytebuf_str(mbt_bytebuf *b, const char *s);
void mbt_bytebuf_printf(mbt_bytebuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mbt_bytebuf_u16le(mbt_bytebuf *b, uint16_t v);
void mbt_bytebuf_u32le(mbt_bytebuf *b, uint32_t v);
void mbt_bytebuf_u64le(mbt_bytebuf *b, uint64_t v);
/* 1 if s[0, n) is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). */
int mbt_utf8_valid(const char *s, size_t n);
/* Appends s as a JSON string literal (quotes, escapes for '"', '\\' and control characters). */
void mbt_bytebuf_json_str(mbt_bytebuf *b, const char *s);

#endif
