/* Test helper for the io tests: reads the *.expect files of tools/make_io_fixtures.py (the exact
 * bytes PyTorch/numpy hold for each tensor) and compares state-dict tensors with them bit for bit. */
#ifndef MBT_TEST_IO_EXPECT_H
#define MBT_TEST_IO_EXPECT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/tensor.h"
#include "io/read_file.h"
#include "io/state_dict.h"

#ifndef MIXBT_FIXTURES
#define MIXBT_FIXTURES "tests/fixtures"
#endif

typedef struct {
    char name[256];
    char dtype[8];
    int ndim;
    int64_t shape[8];
    size_t nbytes;
    const unsigned char *data;
} io_expect_item;

typedef struct {
    io_expect_item items[64];
    size_t n;
    void *buf;
} io_expect;

static inline const char *io_fixture(const char *name) {
    static char path[4][1024];
    static int at;
    at = (at + 1) % 4;
    snprintf(path[at], sizeof path[at], "%s/%s", MIXBT_FIXTURES, name);
    return path[at];
}

static inline int io_expect_load(io_expect *e, const char *name) {
    memset(e, 0, sizeof *e);
    size_t len;
    if (mbt_read_file(io_fixture(name), 0, &e->buf, &len)) {
        fprintf(stderr, "cannot read %s: %s\n", name, mbt_error_message());
        return -1;
    }
    const unsigned char *p = e->buf, *end = p + len;
    if (len < 8 || memcmp(p, "MBTRAW1", 8)) return -1;
    p += 8;
#define IO_TAKE(dst, n)                    \
    do {                                   \
        if ((size_t)(end - p) < (n)) return -1; \
        memcpy((dst), p, (n));             \
        p += (n);                          \
    } while (0)
    while (p < end && e->n < 64) {
        io_expect_item *it = &e->items[e->n];
        uint32_t nl, dl, nd;
        uint64_t nb;
        IO_TAKE(&nl, 4);
        if (nl >= sizeof it->name) return -1;
        IO_TAKE(it->name, nl);
        IO_TAKE(&dl, 4);
        if (dl >= sizeof it->dtype) return -1;
        IO_TAKE(it->dtype, dl);
        IO_TAKE(&nd, 4);
        if (nd > 8) return -1;
        it->ndim = (int)nd;
        IO_TAKE(it->shape, 8 * (size_t)nd);
        IO_TAKE(&nb, 8);
        if ((uint64_t)(end - p) < nb) return -1;
        it->nbytes = (size_t)nb;
        it->data = p;
        p += nb;
        e->n++;
    }
#undef IO_TAKE
    return 0;
}

static inline void io_expect_free(io_expect *e) {
    free(e->buf);
    memset(e, 0, sizeof *e);
}

static inline const io_expect_item *io_expect_get(const io_expect *e, const char *name) {
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->items[i].name, name)) return &e->items[i];
    fprintf(stderr, "expectation '%s' not found\n", name);
    return NULL;
}

/* 1 if tensor t has x's dtype, shape and exact bytes (prints the first difference otherwise). */
static inline int io_tensor_matches(const mbt_sd_tensor *t, const io_expect_item *x) {
    if (!t || !x) return 0;
    char a[160], b[160];
    if (strcmp(mbt_dtype_name(t->dtype), x->dtype)) {
        fprintf(stderr, "tensor '%s': dtype %s, expected %s\n", t->name, mbt_dtype_name(t->dtype), x->dtype);
        return 0;
    }
    int same = t->ndim == x->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == x->shape[d];
    if (!same) {
        fprintf(stderr, "tensor '%s': shape %s, expected %s\n", t->name, mbt_shape_str(a, sizeof a, t->ndim, t->shape),
                mbt_shape_str(b, sizeof b, x->ndim, x->shape));
        return 0;
    }
    if (t->nbytes != x->nbytes) {
        fprintf(stderr, "tensor '%s': %zu bytes, expected %zu\n", t->name, t->nbytes, x->nbytes);
        return 0;
    }
    for (size_t i = 0; i < x->nbytes; i++)
        if (((const unsigned char *)t->data)[i] != x->data[i]) {
            fprintf(stderr, "tensor '%s': byte %zu is 0x%02x, expected 0x%02x\n", t->name, i,
                    ((const unsigned char *)t->data)[i], x->data[i]);
            return 0;
        }
    return 1;
}

/* Checks that sd holds exactly the expected tensors, in order, bit for bit. */
static inline void io_check_state_dict(const mbt_state_dict *sd, const io_expect *e, const char *label) {
    CHECK_MSG(sd->count == e->n, "%s: %zu tensors, expected %zu", label, sd->count, e->n);
    for (size_t i = 0; i < e->n && i < sd->count; i++) {
        CHECK_MSG(!strcmp(sd->tensors[i].name, e->items[i].name), "%s: tensor %zu is '%s', expected '%s'", label, i,
                  sd->tensors[i].name, e->items[i].name);
        CHECK_MSG(io_tensor_matches(&sd->tensors[i], &e->items[i]), "%s: tensor '%s' differs", label,
                  e->items[i].name);
    }
}

/* 1 if the last error message contains every given fragment (NULL-terminated list); prints it if not. */
static inline int io_error_has(const char *first, ...) {
    const char *msg = mbt_error_message();
    va_list ap;
    va_start(ap, first);
    int ok = 1;
    for (const char *s = first; s; s = va_arg(ap, const char *))
        if (!strstr(msg, s)) ok = 0;
    va_end(ap);
    if (!ok) fprintf(stderr, "error message lacks an expected fragment: %s\n", msg);
    return ok;
}

#endif
