/* MD5 through OpenSSL's EVP interface: streaming contexts and whole files. */
#include "io/checksum.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

mbt_status mbt_md5_init(mbt_md5 *m) {
    m->evp = NULL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) return MBT_FAIL(MBT_ERR_NOMEM, "md5: cannot allocate an OpenSSL digest context");
    if (EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return MBT_FAIL(MBT_ERR_BACKEND, "md5: OpenSSL refused to start an MD5 digest (is MD5 disabled by policy?)");
    }
    m->evp = c;
    return MBT_OK;
}

mbt_status mbt_md5_update(mbt_md5 *m, const void *data, size_t n) {
    if (!m->evp) return MBT_FAIL(MBT_ERR_ARG, "md5: update on a context that was not initialised");
    if (n && EVP_DigestUpdate((EVP_MD_CTX *)m->evp, data, n) != 1)
        return MBT_FAIL(MBT_ERR_BACKEND, "md5: OpenSSL digest update of %zu bytes failed", n);
    return MBT_OK;
}

mbt_status mbt_md5_final(mbt_md5 *m, char hex[MBT_MD5_HEX_LEN + 1]) {
    hex[0] = 0;
    if (!m->evp) return MBT_FAIL(MBT_ERR_ARG, "md5: final on a context that was not initialised");
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex((EVP_MD_CTX *)m->evp, d, &len);
    mbt_md5_free(m);
    if (ok != 1 || len != 16) return MBT_FAIL(MBT_ERR_BACKEND, "md5: OpenSSL digest final failed (%u bytes)", len);
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 16; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[32] = 0;
    return MBT_OK;
}

void mbt_md5_free(mbt_md5 *m) {
    if (m->evp) EVP_MD_CTX_free((EVP_MD_CTX *)m->evp);
    m->evp = NULL;
}

mbt_status mbt_md5_file(const char *path, char hex[MBT_MD5_HEX_LEN + 1], mbt_bytes_progress_fn fn, void *ctx) {
    hex[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open to check its MD5: %s", path, strerror(errno));
    int64_t total = -1;
    if (fseeko(f, 0, SEEK_END) == 0) total = (int64_t)ftello(f);
    rewind(f);
    enum { CHUNK = 1 << 16 };
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for a read buffer", path);
    }
    mbt_md5 m;
    mbt_status st = mbt_md5_init(&m);
    int64_t done = 0;
    while (st == MBT_OK) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n == 0) {
            if (ferror(f)) st = MBT_FAIL(MBT_ERR_IO, "%s: read error while checking its MD5: %s", path, strerror(errno));
            break;
        }
        st = mbt_md5_update(&m, buf, n);
        done += (int64_t)n;
        if (st == MBT_OK && fn && fn(ctx, done, total))
            st = MBT_FAIL(MBT_ERR_INTERRUPTED, "%s: MD5 check cancelled", path);
    }
    fclose(f);
    free(buf);
    if (st == MBT_OK) return mbt_md5_final(&m, hex);
    mbt_md5_free(&m);
    return st;
}

int mbt_md5_is_hex(const char *s) {
    if (!s || strlen(s) != MBT_MD5_HEX_LEN) return 0;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p)) return 0;
    return 1;
}

int mbt_md5_equal(const char *a, const char *b) {
    return mbt_md5_is_hex(a) && mbt_md5_is_hex(b) && strcasecmp(a, b) == 0;
}
