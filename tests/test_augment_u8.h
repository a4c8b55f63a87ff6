/* Reader of the uint8/float64 fixture files written by tools/make_augment_fixtures.py (format described
 * there): magic "MBTU8\0\0\0", records [u32 name length, name, u8 kind, u32 ndim, i64 dims, data]. */
#ifndef MBT_TEST_AUGMENT_U8_H
#define MBT_TEST_AUGMENT_U8_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[64];
    int kind; /* 0 uint8, 1 float64 */
    int ndim;
    int64_t dims[4];
    size_t numel;
    const void *data;
} u8fix_array;

typedef struct {
    unsigned char *buf;
    u8fix_array *arrays;
    size_t count;
} u8fix_file;

/* Loads MIXBT_FIXTURES/name; returns 0, or -1 with a message on stderr. */
static inline int u8fix_load(u8fix_file *f, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", MIXBT_FIXTURES, name);
    memset(f, 0, sizeof *f);
    FILE *fh = fopen(path, "rb");
    if (!fh) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    fseek(fh, 0, SEEK_END);
    long len = ftell(fh);
    fseek(fh, 0, SEEK_SET);
    f->buf = malloc((size_t)len);
    if (!f->buf || fread(f->buf, 1, (size_t)len, fh) != (size_t)len || len < 8 || memcmp(f->buf, "MBTU8\0\0\0", 8)) {
        fprintf(stderr, "%s: not a fixture file\n", path);
        fclose(fh);
        return -1;
    }
    fclose(fh);
    size_t at = 8, cap = 0;
    while (at < (size_t)len) {
        if (f->count == cap) {
            cap = cap ? 2 * cap : 64;
            f->arrays = realloc(f->arrays, cap * sizeof *f->arrays);
        }
        u8fix_array *a = &f->arrays[f->count++];
        uint32_t nl, nd;
        memcpy(&nl, f->buf + at, 4);
        at += 4;
        snprintf(a->name, sizeof a->name, "%.*s", (int)nl, (const char *)f->buf + at);
        at += nl;
        a->kind = f->buf[at++];
        memcpy(&nd, f->buf + at, 4);
        at += 4;
        a->ndim = (int)nd;
        a->numel = 1;
        for (uint32_t i = 0; i < nd; i++) {
            memcpy(&a->dims[i], f->buf + at, 8);
            at += 8;
            a->numel *= (size_t)a->dims[i];
        }
        a->data = f->buf + at;
        at += a->numel * (a->kind ? 8 : 1);
        if (at > (size_t)len) {
            fprintf(stderr, "%s: truncated at %s\n", path, a->name);
            return -1;
        }
    }
    return 0;
}

static inline const u8fix_array *u8fix_get(const u8fix_file *f, const char *name) {
    for (size_t i = 0; i < f->count; i++)
        if (!strcmp(f->arrays[i].name, name)) return &f->arrays[i];
    fprintf(stderr, "fixture array %s is missing\n", name);
    return NULL;
}

/* Element i of a float64 array (the data may be unaligned). */
static inline double u8fix_f64(const u8fix_array *a, size_t i) {
    double v;
    memcpy(&v, (const unsigned char *)a->data + 8 * i, 8);
    return v;
}

static inline void u8fix_free(u8fix_file *f) {
    free(f->buf);
    free(f->arrays);
    memset(f, 0, sizeof *f);
}

#endif
