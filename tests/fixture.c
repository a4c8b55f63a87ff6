/* Fixture-file reader for the tests (format in fixture.h). */
#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIXBT_FIXTURES
#define MIXBT_FIXTURES "tests/fixtures"
#endif

static int read_exact(FILE *fp, void *buf, size_t n) { return fread(buf, 1, n, fp) == n ? 0 : -1; }

int fixture_load(fixture_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    char full[1024];
    if (path[0] == '/') snprintf(full, sizeof full, "%s", path);
    else snprintf(full, sizeof full, "%s/%s", MIXBT_FIXTURES, path);
    FILE *fp = fopen(full, "rb");
    if (!fp) {
        fprintf(stderr, "fixture: cannot open %s\n", full);
        return -1;
    }
    size_t file_size = 0;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long end = ftell(fp);
        file_size = end > 0 ? (size_t)end : 0;
    }
    rewind(fp);
    char magic[8];
    if (read_exact(fp, magic, 8) || memcmp(magic, "MBTFIX1", 8)) {
        fprintf(stderr, "fixture: %s is not a fixture file\n", full);
        fclose(fp);
        return -1;
    }
    size_t cap = 0;
    for (;;) {
        uint32_t len, ndim;
        if (read_exact(fp, &len, 4)) break; /* end of file */
        if (len > 4096) goto bad;
        if (f->count == cap) {
            cap = cap ? 2 * cap : 64;
            fixture_array *a = realloc(f->arrays, cap * sizeof *a);
            if (!a) goto bad;
            f->arrays = a;
        }
        fixture_array *a = &f->arrays[f->count];
        memset(a, 0, sizeof *a);
        a->name = calloc(len + 1, 1);
        if (!a->name || read_exact(fp, a->name, len) || read_exact(fp, &ndim, 4) || ndim > 8) goto bad_named;
        f->count++;
        a->ndim = (int)ndim;
        a->numel = 1;
        for (uint32_t i = 0; i < ndim; i++) {
            if (read_exact(fp, &a->dims[i], 8) || a->dims[i] < 0) goto bad;
            /* no more values than the file holds (this also rules out overflow of numel * 8) */
            if (a->dims[i] > 0 && a->numel > file_size / 8 / (size_t)a->dims[i]) goto bad;
            a->numel *= (size_t)a->dims[i];
        }
        a->data = malloc(a->numel * sizeof(double) + 1);
        if (!a->data || read_exact(fp, a->data, a->numel * sizeof(double))) goto bad;
    }
    fclose(fp);
    return 0;
bad_named:
    free(f->arrays[f->count].name);
bad:
    fprintf(stderr, "fixture: %s is truncated or malformed\n", full);
    fclose(fp);
    fixture_free(f);
    return -1;
}

const fixture_array *fixture_get(const fixture_file *f, const char *name) {
    for (size_t i = 0; i < f->count; i++)
        if (!strcmp(f->arrays[i].name, name)) return &f->arrays[i];
    fprintf(stderr, "fixture: no array named '%s'\n", name);
    return NULL;
}

double fixture_scalar(const fixture_file *f, const char *name) {
    const fixture_array *a = fixture_get(f, name);
    return a && a->numel == 1 ? a->data[0] : NAN;
}

void fixture_free(fixture_file *f) {
    for (size_t i = 0; i < f->count; i++) {
        free(f->arrays[i].name);
        free(f->arrays[i].data);
    }
    free(f->arrays);
    memset(f, 0, sizeof *f);
}
