/* MD5 checksums of byte streams and files (OpenSSL's EVP digest), as lowercase hex strings. */
#ifndef MBT_CHECKSUM_H
#define MBT_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define MBT_MD5_HEX_LEN 32

/* An MD5 computation in progress (an OpenSSL EVP_MD_CTX behind the pointer). */
typedef struct {
    void *evp;
} mbt_md5;

mbt_status mbt_md5_init(mbt_md5 *m);
mbt_status mbt_md5_update(mbt_md5 *m, const void *data, size_t n);
/* Writes the digest as 32 lowercase hex digits and a NUL into hex[33], and frees m. */
mbt_status mbt_md5_final(mbt_md5 *m, char hex[MBT_MD5_HEX_LEN + 1]);
/* Frees m without a result (safe after final and on an all-zero m). */
void mbt_md5_free(mbt_md5 *m);

/* Progress of a long computation: bytes done of total; a non-zero return cancels it. */
typedef int (*mbt_bytes_progress_fn)(void *ctx, int64_t done, int64_t total);

/* The MD5 of the whole file at path, reporting progress through fn (may be NULL). MBT_ERR_IO names
 * the file on a read error; MBT_ERR_INTERRUPTED when fn cancelled. */
mbt_status mbt_md5_file(const char *path, char hex[MBT_MD5_HEX_LEN + 1], mbt_bytes_progress_fn fn, void *ctx);

/* 1 if s is exactly 32 hex digits (either case), else 0. */
int mbt_md5_is_hex(const char *s);
/* 1 if two hex digests are equal ignoring case. */
int mbt_md5_equal(const char *a, const char *b);

#endif
