/* The bodies of the fuzz targets, shared by the libFuzzer harnesses (fuzz/fuzz_*.c) and the regression
 * test that replays the corpus and past crashers (tests/test_fuzz_regress.c). Each returns 0; a
 * broken invariant calls fuzz_fail(), which aborts (a crash for libFuzzer, a failure for the test). */
#ifndef MBT_FUZZ_TARGETS_H
#define MBT_FUZZ_TARGETS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "pth_archive.h"

static void fuzz_fail(const char *what) {
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}

/* Every failure must come with a message. */
static void fuzz_check_error(mbt_status s) {
    if (s != MBT_OK && !mbt_error_message()[0]) fuzz_fail("error without a message");
}

/* Storages for pickles without an archive: a deterministic pattern of the requested size (bounded). */
static mbt_status fuzz_fake_storage(void *ctx, const mbt_pv_storage *st, size_t nbytes, void **data) {
    (void)ctx;
    if (nbytes > ((size_t)1 << 20)) return MBT_FAIL(MBT_ERR_FORMAT, "storage '%s' too large for fuzzing", st->key);
    unsigned char *b = malloc(nbytes ? nbytes : 1);
    if (!b) return MBT_FAIL(MBT_ERR_NOMEM, "no memory");
    for (size_t i = 0; i < nbytes; i++) b[i] = (unsigned char)(i * 31 + 7);
    *data = b;
    return MBT_OK;
}

/* Walks a value tree through the public accessors (bounded: the tree is checked acyclic and shallow). */
static size_t fuzz_walk(const mbt_pvalue *v, int depth) {
    size_t n = 1;
    if (depth > MBT_PICKLE_MAX_DEPTH + 1) fuzz_fail("value deeper than the limit");
    switch (mbt_pvalue_kind(v)) {
    case MBT_PV_TUPLE:
    case MBT_PV_LIST:
        for (size_t i = 0; i < mbt_pvalue_len(v) && i < 64; i++) n += fuzz_walk(mbt_pvalue_item(v, i), depth + 1);
        break;
    case MBT_PV_DICT:
        for (size_t i = 0; i < mbt_pvalue_len(v) && i < 64; i++) {
            n += fuzz_walk(mbt_pvalue_dict_key(v, i), depth + 1);
            n += fuzz_walk(mbt_pvalue_dict_value(v, i), depth + 1);
        }
        break;
    case MBT_PV_NDARRAY: {
        mbt_pv_ndarray a;
        if (mbt_pvalue_ndarray(v, &a) == MBT_OK) {
            volatile unsigned char sink = 0;
            for (size_t i = 0; i < a.nbytes; i += 97) sink ^= ((const unsigned char *)a.data)[i];
            (void)sink;
            if (a.nbytes != a.numel * mbt_dtype_size(a.dtype)) fuzz_fail("numpy array size");
        }
        break;
    }
    case MBT_PV_STR:
    case MBT_PV_BYTES: {
        size_t len;
        const char *p = mbt_pvalue_bytes(v, &len);
        if (len && !p) fuzz_fail("string without bytes");
        if (len) {
            volatile char c = p[len - 1];
            (void)c;
        }
        break;
    }
    default: break;
    }
    return n;
}

/* The pickle reader on raw bytes (both profiles), then state-dict selection and extraction against
 * fake storages: exercises view/stride/offset checks without a zip around them. */
static int fuzz_pickle_one(const uint8_t *data, size_t size) {
    mbt_pickle *p = NULL;
    mbt_status s = mbt_pickle_parse(&p, data, size, MBT_PICKLE_TORCH | MBT_PICKLE_NUMPY, "fuzz");
    fuzz_check_error(s);
    if (s) {
        if (p) fuzz_fail("failed parse returned a pickle");
        return 0;
    }
    const mbt_pvalue *root = mbt_pickle_root(p);
    fuzz_walk(root, 0);
    const mbt_pvalue *dict;
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    s = mbt_pth_select(root, NULL, "fuzz", &dict, NULL, 0);
    fuzz_check_error(s);
    if (!s) {
        s = mbt_pth_extract(dict, "fuzz", fuzz_fake_storage, NULL, &sd);
        fuzz_check_error(s);
        for (size_t i = 0; !s && i < sd.count; i++) {
            const mbt_sd_tensor *t = &sd.tensors[i];
            if (t->nbytes != t->numel * mbt_dtype_size(t->dtype)) fuzz_fail("tensor size");
            if (t->nbytes) {
                volatile unsigned char c = ((const unsigned char *)t->data)[t->nbytes - 1];
                (void)c;
            }
        }
    }
    mbt_state_dict_free(&sd);
    mbt_pickle_destroy(p);
    return 0;
}

/* A whole .pth image (zip + pickle + storages) read with key. */
static int fuzz_pth_image(const uint8_t *data, size_t size, const char *key) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status s = mbt_pth_read_memory(data, size, "fuzz.pth", key, &sd);
    fuzz_check_error(s);
    if (s && sd.count) fuzz_fail("failed read left tensors");
    for (size_t i = 0; i < sd.count; i++)
        if (sd.tensors[i].nbytes) {
            volatile unsigned char c = ((const unsigned char *)sd.tensors[i].data)[sd.tensors[i].nbytes - 1];
            (void)c;
        }
    mbt_state_dict_free(&sd);
    return 0;
}

/* The .pth reader: an input starting with "PK" is taken as the file's bytes (the archive itself is
 * fuzzed); any other is a flags byte and the pickle and storage records that fuzz/pth_archive.h
 * wraps into a valid zip, so that the pickle and the storages are what is fuzzed. */
static int fuzz_pth_one(const uint8_t *data, size_t size) {
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') return fuzz_pth_image(data, size, NULL);
    unsigned char *zip;
    size_t len;
    const char *key;
    if (fuzz_pth_build_zip(data, size, &zip, &len, &key)) fuzz_fail("building the zip archive");
    fuzz_pth_image(zip, len, key);
    free(zip);
    return 0;
}

/* safetensors: parse (borrowing and copying); a file that parses must survive a write/parse round
 * trip unchanged (header from mbt_safetensors_header, data in its layout). */
static int fuzz_safetensors_one(const uint8_t *data, size_t size) {
    mbt_state_dict a, b, c;
    mbt_state_dict_init(&a);
    mbt_state_dict_init(&b);
    mbt_state_dict_init(&c);
    mbt_status s = mbt_safetensors_parse(data, size, "fuzz.safetensors", MBT_SD_BORROW, &a);
    fuzz_check_error(s);
    mbt_status s2 = mbt_safetensors_parse(data, size, "fuzz.safetensors", MBT_SD_COPY, &b);
    if ((s == MBT_OK) != (s2 == MBT_OK)) fuzz_fail("borrow and copy parses disagree");
    if (!s) {
        char *header;
        size_t hlen;
        size_t *off = malloc((a.count ? a.count : 1) * sizeof *off);
        if (!off) fuzz_fail("malloc");
        if (mbt_safetensors_header(&a, &header, &hlen, off) == MBT_OK) {
            size_t total = mbt_state_dict_nbytes(&a), len = 8 + hlen + total;
            unsigned char *img = malloc(len);
            if (!img) fuzz_fail("malloc");
            for (int i = 0; i < 8; i++) img[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
            memcpy(img + 8, header, hlen);
            for (size_t i = 0; i < a.count; i++)
                if (a.tensors[i].nbytes) memcpy(img + 8 + hlen + off[i], a.tensors[i].data, a.tensors[i].nbytes);
            if (mbt_safetensors_parse(img, len, "round trip", MBT_SD_COPY, &c) != MBT_OK)
                fuzz_fail(mbt_error_message());
            if (c.count != a.count || c.meta_count != a.meta_count) fuzz_fail("round trip count");
            for (size_t i = 0; i < a.count; i++) {
                const mbt_sd_tensor *x = &a.tensors[i], *y = &c.tensors[i];
                if (strcmp(x->name, y->name) || x->dtype != y->dtype || x->ndim != y->ndim || x->nbytes != y->nbytes ||
                    memcmp(x->shape, y->shape, sizeof x->shape) || (x->nbytes && memcmp(x->data, y->data, x->nbytes)))
                    fuzz_fail("round trip tensor");
            }
            for (size_t i = 0; i < a.meta_count; i++)
                if (strcmp(a.meta[i].key, c.meta[i].key) || strcmp(a.meta[i].value, c.meta[i].value))
                    fuzz_fail("round trip metadata");
            free(img);
            free(header);
        }
        free(off);
    }
    mbt_state_dict_free(&a);
    mbt_state_dict_free(&b);
    mbt_state_dict_free(&c);
    return 0;
}

#endif
