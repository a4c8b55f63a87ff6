/* Reader of fixture files written by tools/fixture_io.py: named float64 arrays from PyTorch.
 * Format: magic "MBTFIX1\0", then records of [u32 name length, name, u32 ndim, i64 dims[ndim],
 * f64 data[prod(dims)]], all little-endian. Usage in a test:
 *     fixture_file fx;
 *     if (fixture_load(&fx, "x.bin")) ...;            // tests/fixtures/x.bin
 *     const fixture_array *a = fixture_get(&fx, "w");  // a->data, a->numel, a->dims[0..ndim)
 *     fixture_free(&fx);
 * Python side: tools/fixture_io.py (FixtureWriter). */
#ifndef MBT_TEST_FIXTURE_H
#define MBT_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name;
    int ndim;
    int64_t dims[8];
    size_t numel;
    double *data;
} fixture_array;

typedef struct {
    fixture_array *arrays;
    size_t count;
} fixture_file;

/* Loads path (relative names are taken under MIXBT_FIXTURES); returns 0, or -1 with a message. */
int fixture_load(fixture_file *f, const char *path);
/* The array called name, or NULL (and a message on stderr). */
const fixture_array *fixture_get(const fixture_file *f, const char *name);
/* Scalar value of a one-element array called name (NAN when missing). */
double fixture_scalar(const fixture_file *f, const char *name);
void fixture_free(fixture_file *f);

#endif
