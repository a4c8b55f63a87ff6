/* Tests of the .npy writer (io/npy.h): byte-for-byte equality with files numpy.save wrote
 * (tools/make_eval_fixtures.py), the header fields read back, streamed writes, atomicity on errors, bad
 * arguments, and, when /usr/bin/python3 with numpy is present, numpy.load of a larger written array. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/npy.h"

static char dir[64];

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, fp);
    fclose(fp);
    return b;
}

static void path_of(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", dir, name); }

/* The file written by the C writer equals numpy's. */
static void same_as_numpy(const char *fixture, mbt_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    char mine[256], theirs[512];
    path_of(mine, sizeof mine, fixture);
    snprintf(theirs, sizeof theirs, "%s/%s", MIXBT_FIXTURES, fixture);
    CHECK_OK(mbt_npy_write(mine, dtype, ndim, shape, data));
    size_t la = 0, lb = 0;
    unsigned char *a = slurp(mine, &la), *b = slurp(theirs, &lb);
    CHECK_MSG(a && b && la == lb && memcmp(a, b, la) == 0, "%s: %zu bytes written differ from numpy's %zu", fixture, la,
              lb);
    free(a);
    free(b);
}

/* Reads the header back: version 1.0, length field, alignment, the dict text and the final newline. */
static void header_fields(void) {
    int64_t shape[2] = {50000, 512};
    char h[256];
    size_t len = 0;
    CHECK_OK(mbt_npy_header(MBT_DTYPE_F32, 2, shape, h, sizeof h, &len));
    CHECK(len % 64 == 0 && len >= 64);
    CHECK(memcmp(h, "\x93NUMPY", 6) == 0 && h[6] == 1 && h[7] == 0);
    size_t hlen = (unsigned char)h[8] | ((size_t)(unsigned char)h[9] << 8);
    CHECK(hlen + 10 == len);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (50000, 512), }";
    CHECK(memcmp(h + 10, dict, strlen(dict)) == 0);
    for (size_t i = 10 + strlen(dict); i + 1 < len; i++) CHECK_MSG(h[i] == ' ', "header byte %zu is %d", i, h[i]);
    CHECK(h[len - 1] == '\n');
    CHECK(mbt_npy_header(MBT_DTYPE_F32, 2, shape, h, 32, &len) == MBT_ERR_ARG); /* buffer too small */
    CHECK(strcmp(mbt_npy_descr(MBT_DTYPE_I64), "<i8") == 0 && mbt_npy_descr(MBT_DTYPE_BF16) == NULL);
}

static int count_entries(void) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void streaming_and_errors(const float *f32) {
    char p[256], q[256];
    int64_t shape[2] = {3, 5};
    /* pieces of 7 and 8 floats give numpy's bytes */
    path_of(p, sizeof p, "pieces.npy");
    mbt_npy_writer w;
    CHECK_OK(mbt_npy_writer_open(&w, p, MBT_DTYPE_F32, 2, shape));
    CHECK_OK(mbt_npy_writer_append(&w, f32, 7 * sizeof(float)));
    CHECK(access(p, F_OK) != 0); /* nothing published before the commit */
    CHECK_OK(mbt_npy_writer_append(&w, f32 + 7, 8 * sizeof(float)));
    CHECK_OK(mbt_npy_writer_commit(&w));
    size_t la = 0, lb = 0;
    char ref[512];
    snprintf(ref, sizeof ref, "%s/eval_npy_f32.npy", MIXBT_FIXTURES);
    unsigned char *a = slurp(p, &la), *b = slurp(ref, &lb);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
    free(a);
    int before = count_entries();
    /* too many bytes: error, writer aborted, the existing file is kept as it was */
    CHECK_OK(mbt_npy_writer_open(&w, p, MBT_DTYPE_F32, 2, shape));
    CHECK(mbt_npy_writer_append(&w, f32, 16 * sizeof(float)) == MBT_ERR_ARG);
    CHECK(strstr(mbt_error_message(), "pieces.npy") != NULL);
    CHECK(mbt_npy_writer_commit(&w) == MBT_ERR_ARG); /* released */
    a = slurp(p, &la);
    CHECK(a && la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
    /* too few bytes: commit fails, nothing published */
    path_of(q, sizeof q, "short.npy");
    CHECK_OK(mbt_npy_writer_open(&w, q, MBT_DTYPE_F32, 2, shape));
    CHECK_OK(mbt_npy_writer_append(&w, f32, 14 * sizeof(float)));
    CHECK(mbt_npy_writer_commit(&w) == MBT_ERR_ARG);
    CHECK(strstr(mbt_error_message(), "56 of the array's 60 bytes") != NULL);
    CHECK(access(q, F_OK) != 0);
    CHECK(count_entries() == before); /* no temporary files left behind */
    /* bad arguments */
    int64_t neg[2] = {3, -1};
    CHECK(mbt_npy_write(q, MBT_DTYPE_F32, 2, neg, f32) == MBT_ERR_ARG);
    CHECK(mbt_npy_write(q, MBT_DTYPE_BF16, 2, shape, f32) == MBT_ERR_ARG);
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(mbt_npy_write(q, MBT_DTYPE_F32, 9, nine, f32) == MBT_ERR_ARG);
    CHECK(access(q, F_OK) != 0);
    path_of(q, sizeof q, "no/such/dir/x.npy");
    CHECK(mbt_npy_write(q, MBT_DTYPE_F32, 2, shape, f32) == MBT_ERR_IO);
}

/* numpy.load of a written [257, 33] float32 array and its int64 labels, when numpy is available. */
static void numpy_load(void) {
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0) {
        printf("test_eval_npy: /usr/bin/python3 with numpy not found; skipping the numpy.load check\n");
        return;
    }
    int rows = 257, cols = 33;
    float *x = malloc(sizeof(float) * rows * cols);
    int64_t *lab = malloc(sizeof(int64_t) * rows);
    double sum = 0, lsum = 0;
    for (int i = 0; i < rows * cols; i++) {
        x[i] = (float)sin(i * 0.37) * (float)(1 + i % 5);
        sum += (double)x[i] * (i % 7 + 1);
    }
    for (int i = 0; i < rows; i++) {
        lab[i] = (int64_t)(i * 31 % 10) - (i == 3 ? (int64_t)1 << 40 : 0);
        lsum += (double)lab[i] * (i + 1);
    }
    char p[256], l[256], cmd[1024];
    path_of(p, sizeof p, "big.npy");
    path_of(l, sizeof l, "big_labels.npy");
    int64_t shape[2] = {rows, cols}, lshape[1] = {rows};
    CHECK_OK(mbt_npy_write(p, MBT_DTYPE_F32, 2, shape, x));
    CHECK_OK(mbt_npy_write(l, MBT_DTYPE_I64, 1, lshape, lab));
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np, sys; a = np.load(sys.argv[1]); b = np.load(sys.argv[2]); "
             "w = np.arange(a.size) %% 7 + 1; "
             "print(a.dtype.str, a.shape[0], a.shape[1], int(a.flags.c_contiguous), repr(float((a.astype(np.float64).ravel() * w).sum())), "
             "b.dtype.str, b.shape[0], repr(float((b.astype(np.float64) * np.arange(1, b.size + 1)).sum())))\" %s %s",
             p, l);
    FILE *pp = popen(cmd, "r");
    char out[512] = "";
    if (pp) {
        if (!fgets(out, sizeof out, pp)) out[0] = 0;
        pclose(pp);
    }
    char dt[16] = "", ldt[16] = "";
    int r = 0, c = 0, contiguous = 0, lr = 0;
    double s = 0, ls = 0;
    int got = sscanf(out, "%15s %d %d %d %lf %15s %d %lf", dt, &r, &c, &contiguous, &s, ldt, &lr, &ls);
    CHECK_MSG(got == 8, "numpy.load printed '%s'", out);
    CHECK(!strcmp(dt, "<f4") && r == rows && c == cols && contiguous == 1);
    CHECK(!strcmp(ldt, "<i8") && lr == rows);
    CHECK_CLOSE(s, sum, 1e-12, 1e-9);
    CHECK_CLOSE(ls, lsum, 1e-12, 1e-9);
    free(x);
    free(lab);
}

static void cleanup(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/mbt_npy_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    float f32[15];
    for (int i = 0; i < 15; i++) f32[i] = i * 0.25f - 1.0f;
    int64_t s35[2] = {3, 5};
    same_as_numpy("eval_npy_f32.npy", MBT_DTYPE_F32, 2, s35, f32);
    int64_t i64[4] = {0, -1, (int64_t)1 << 40, 7}, s4[1] = {4};
    same_as_numpy("eval_npy_i64.npy", MBT_DTYPE_I64, 1, s4, i64);
    float scalar = 2.5f;
    same_as_numpy("eval_npy_scalar.npy", MBT_DTYPE_F32, 0, NULL, &scalar);
    int64_t s07[2] = {0, 7};
    same_as_numpy("eval_npy_empty.npy", MBT_DTYPE_F32, 2, s07, NULL);
    uint8_t u8[24];
    for (int i = 0; i < 24; i++) u8[i] = (uint8_t)i;
    int64_t s234[3] = {2, 3, 4};
    same_as_numpy("eval_npy_u8.npy", MBT_DTYPE_U8, 3, s234, u8);
    header_fields();
    streaming_and_errors(f32);
    numpy_load();
    cleanup();
    return check_report("test_eval_npy");
}
