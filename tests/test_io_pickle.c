/* The safe pickle reader: CIFAR-style pickles of every protocol (Python 2 and 3), numpy arrays, the
 * other values of a training checkpoint, and hostile input (depth, cycles, lengths, opcodes, globals). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "check.h"
#include "io/pickle.h"
#include "io/pth.h"
#include "io/read_file.h"
#include "test_io_expect.h"

static mbt_pickle *parse_file(const char *name, unsigned profile, void **buf) {
    size_t len;
    mbt_pickle *p = NULL;
    if (!check_ok_(mbt_read_file(io_fixture(name), 0, buf, &len), name, __FILE__, __LINE__)) return NULL;
    if (!check_ok_(mbt_pickle_parse(&p, *buf, len, profile, name), name, __FILE__, __LINE__)) return NULL;
    return p;
}

static void test_cifar(const char *name) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_cifar.expect") == 0);
    void *buf = NULL;
    mbt_pickle *p = parse_file(name, MBT_PICKLE_NUMPY, &buf);
    if (p) {
        const mbt_pvalue *root = mbt_pickle_root(p);
        CHECK(mbt_pvalue_kind(root) == MBT_PV_DICT && mbt_pvalue_len(root) == 4);
        /* data: uint8 [4, 3072], bit-exact */
        int ndim = 0;
        int64_t shape[MBT_SD_MAX_DIMS];
        const uint8_t *data = NULL;
        CHECK_OK(mbt_pvalue_ndarray_u8(mbt_pvalue_dict_get(root, "data"), &ndim, shape, &data));
        const io_expect_item *x = io_expect_get(&e, "data");
        CHECK_MSG(x && ndim == 2 && shape[0] == x->shape[0] && shape[1] == x->shape[1] &&
                      !memcmp(data, x->data, x->nbytes), "%s: data differs", name);
        /* labels: a list of ints */
        int64_t *labels;
        size_t n;
        CHECK_OK(mbt_pvalue_int_list(mbt_pvalue_dict_get(root, "labels"), &labels, &n));
        x = io_expect_get(&e, "labels");
        CHECK_MSG(x && n == 4 && !memcmp(labels, x->data, 32), "%s: labels differ", name);
        free(labels);
        /* keys are bytes (Python 2 str / Python 3 bytes): both lookups by text work */
        CHECK(mbt_pvalue_kind(mbt_pvalue_dict_key(root, 0)) == MBT_PV_BYTES);
        size_t bl;
        const char *label = mbt_pvalue_bytes(mbt_pvalue_dict_get(root, "batch_label"), &bl);
        CHECK(label && bl == 21 && !memcmp(label, "training batch 1 of 5", 21));
        const mbt_pvalue *files = mbt_pvalue_dict_get(root, "filenames");
        CHECK(mbt_pvalue_kind(files) == MBT_PV_LIST && mbt_pvalue_len(files) == 4);
        CHECK(mbt_pvalue_equals(mbt_pvalue_item(files, 1), "camion_s_000148.png"));
        CHECK(mbt_pvalue_dict_get(root, "missing") == NULL);
        /* wrong kinds are errors, not crashes */
        CHECK(mbt_pvalue_int_list(mbt_pvalue_dict_get(root, "data"), &labels, &n) == MBT_ERR_FORMAT);
        CHECK(mbt_pvalue_ndarray_u8(mbt_pvalue_dict_get(root, "labels"), &ndim, shape, &data) == MBT_ERR_FORMAT);
        CHECK(mbt_pvalue_ndarray_u8(NULL, &ndim, shape, &data) == MBT_ERR_FORMAT);
    }
    mbt_pickle_destroy(p);
    free(buf);
    io_expect_free(&e);
}

static void test_numpy_arrays(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_numpy_arrays.expect") == 0);
    void *buf = NULL;
    mbt_pickle *p = parse_file("io_numpy_arrays.pkl", MBT_PICKLE_NUMPY, &buf);
    if (p) {
        const mbt_pvalue *root = mbt_pickle_root(p);
        for (size_t i = 0; i < e.n; i++) {
            mbt_pv_ndarray a;
            CHECK_OK(mbt_pvalue_ndarray(mbt_pvalue_dict_get(root, e.items[i].name), &a));
            mbt_sd_tensor t = {.name = e.items[i].name, .dtype = a.dtype, .ndim = a.ndim, .numel = a.numel,
                               .nbytes = a.nbytes, .data = (void *)a.data};
            memcpy(t.shape, a.shape, sizeof t.shape);
            CHECK_MSG(io_tensor_matches(&t, &e.items[i]), "numpy array '%s' differs", e.items[i].name);
        }
        int nd;
        int64_t shape[8];
        const uint8_t *d;
        CHECK(mbt_pvalue_ndarray_u8(mbt_pvalue_dict_get(root, "f32"), &nd, shape, &d) == MBT_ERR_FORMAT);
        CHECK(io_error_has("f32", "uint8", NULL));
    }
    mbt_pickle_destroy(p);
    free(buf);
    io_expect_free(&e);
    /* without the numpy profile the same file names the first global it meets */
    size_t len;
    CHECK_OK(mbt_read_file(io_fixture("io_numpy_arrays.pkl"), 0, &buf, &len));
    CHECK(mbt_pickle_parse(&p, buf, len, MBT_PICKLE_TORCH, "arrays") == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("arrays", "numpy.core.multiarray._reconstruct", "not allowed", NULL));
    free(buf);
}

/* The non-tensor values of a training checkpoint (data.pkl of io_nested.pth). */
static void test_checkpoint_values(void) {
    int err = 0;
    zip_t *za = zip_open(io_fixture("io_nested.pth"), ZIP_RDONLY, &err);
    CHECK(za != NULL);
    if (!za) return;
    zip_int64_t idx = zip_name_locate(za, "io_nested/data.pkl", 0);
    zip_stat_t st;
    CHECK(idx >= 0 && zip_stat_index(za, (zip_uint64_t)idx, 0, &st) == 0);
    char *pkl = malloc(st.size);
    zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    CHECK(f && zip_fread(f, pkl, st.size) == (zip_int64_t)st.size);
    zip_fclose(f);
    zip_discard(za);
    mbt_pickle *p;
    CHECK_OK(mbt_pickle_parse(&p, pkl, st.size, MBT_PICKLE_TORCH, "nested"));
    const mbt_pvalue *r = mbt_pickle_root(p);
    int64_t i;
    double d;
    CHECK_OK(mbt_pvalue_int(mbt_pvalue_dict_get(r, "epoch"), &i));
    CHECK(i == 7);
    CHECK_OK(mbt_pvalue_float(mbt_pvalue_dict_get(r, "best_acc"), &d));
    CHECK(d == 91.25);
    CHECK_OK(mbt_pvalue_int(mbt_pvalue_dict_get(r, "big_int"), &i));
    CHECK(i == (int64_t)1 << 40);
    CHECK_OK(mbt_pvalue_int(mbt_pvalue_dict_get(r, "neg"), &i));
    CHECK(i == -5);
    CHECK(mbt_pvalue_equals(mbt_pvalue_dict_get(r, "arch"), "tiny"));
    CHECK(mbt_pvalue_kind(mbt_pvalue_dict_get(r, "arch")) == MBT_PV_STR);
    const mbt_pvalue *note = mbt_pvalue_dict_get(r, "note"); /* bytes via _codecs.encode (protocol 2) */
    CHECK(mbt_pvalue_kind(note) == MBT_PV_BYTES && mbt_pvalue_equals(note, "bytes value"));
    const mbt_pvalue *h = mbt_pvalue_dict_get(r, "history");
    CHECK(mbt_pvalue_len(h) == 3 && mbt_pvalue_kind(mbt_pvalue_item(h, 2)) == MBT_PV_NONE);
    CHECK_OK(mbt_pvalue_float(mbt_pvalue_item(h, 1), &d));
    CHECK(d == 2.5);
    const mbt_pvalue *flags = mbt_pvalue_dict_get(r, "flags");
    CHECK(mbt_pvalue_kind(flags) == MBT_PV_TUPLE && mbt_pvalue_kind(mbt_pvalue_item(flags, 0)) == MBT_PV_BOOL);
    CHECK_OK(mbt_pvalue_int(mbt_pvalue_item(flags, 0), &i));
    CHECK(i == 1);
    /* optimizer: state {int: {'momentum_buffer': tensor}}, param_groups [{lr, momentum, params: [...]}] */
    const mbt_pvalue *opt = mbt_pvalue_dict_get(r, "optimizer");
    const mbt_pvalue *group = mbt_pvalue_item(mbt_pvalue_dict_get(opt, "param_groups"), 0);
    CHECK_OK(mbt_pvalue_float(mbt_pvalue_dict_get(group, "lr"), &d));
    CHECK(d == 0.1);
    CHECK_OK(mbt_pvalue_float(mbt_pvalue_dict_get(group, "momentum"), &d));
    CHECK(d == 0.9);
    int64_t *params;
    size_t n;
    CHECK_OK(mbt_pvalue_int_list(mbt_pvalue_dict_get(group, "params"), &params, &n));
    CHECK(n == 5 && params[0] == 0 && params[4] == 4); /* conv, bn weight and bias, fc weight and bias */
    free(params);
    const mbt_pvalue *state = mbt_pvalue_dict_get(opt, "state");
    CHECK(mbt_pvalue_len(state) == 5);
    mbt_pv_tensor t;
    CHECK_OK(mbt_pvalue_tensor(mbt_pvalue_dict_get(mbt_pvalue_dict_value(state, 0), "momentum_buffer"), &t));
    CHECK(t.ndim == 4 && t.sizes[0] == 4 && t.sizes[1] == 3 && t.storage.dtype == MBT_DTYPE_F32);
    /* model: an OrderedDict with _metadata attributes (BUILD); tensors rebuilt from storages */
    const mbt_pvalue *model = mbt_pvalue_dict_get(r, "model");
    CHECK_OK(mbt_pvalue_tensor(mbt_pvalue_dict_get(model, "bn.num_batches_tracked"), &t));
    CHECK(t.ndim == 0 && t.storage.dtype == MBT_DTYPE_I64 && !strcmp(t.storage.location, "cpu"));
    CHECK(mbt_pvalue_int(model, &i) == MBT_ERR_FORMAT);
    /* finding and selecting the state dict in the tree */
    char paths[4][256];
    CHECK_OK(mbt_pth_find_state_dicts(r, paths, 4, &n));
    CHECK(n == 1 && !strcmp(paths[0], "model"));
    const mbt_pvalue *sel;
    char path[64];
    CHECK_OK(mbt_pth_select(r, NULL, "nested", &sel, path, sizeof path));
    CHECK(sel == model && !strcmp(path, "model"));
    CHECK_OK(mbt_pth_select(model, NULL, "nested", &sel, path, sizeof path));
    CHECK(sel == model && !strcmp(path, ""));
    CHECK(mbt_pth_select(mbt_pvalue_dict_get(r, "history"), NULL, "nested", &sel, NULL, 0) == MBT_ERR_FORMAT);
    CHECK(io_error_has("a list, not a dict", NULL));
    mbt_pickle_destroy(p);
    free(pkl);
}

/* ---- hostile input ---- */

static mbt_status parse_bytes(const void *b, size_t n, unsigned profile) {
    mbt_pickle *p = NULL;
    mbt_error_clear();
    mbt_status s = mbt_pickle_parse(&p, b, n, profile, "hostile");
    if (s) CHECK(p == NULL && strstr(mbt_error_message(), "hostile"));
    mbt_pickle_destroy(p);
    return s;
}

#define PARSE(lit, profile) parse_bytes(lit, sizeof(lit) - 1, profile)
#define ALL (MBT_PICKLE_TORCH | MBT_PICKLE_NUMPY)

static void test_hostile(void) {
    /* baseline: a valid pickle {'a': [1, 2]} parses */
    CHECK(PARSE("\x80\x02}q\x00X\x01\x00\x00\x00" "a]q\x01(K\x01K\x02" "es.", ALL) == MBT_OK);
    /* cycles: a list appended to itself; a dict set into itself; two lists in a ring; BUILD with self */
    CHECK(PARSE("\x80\x02]q\x00h\x00" "a.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("cyclic", NULL));
    CHECK(PARSE("\x80\x02}q\x00K\x01h\x00s.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("cyclic", NULL));
    CHECK(PARSE("\x80\x02]q\x00]q\x01h\x00" "ah\x00h\x01" "a0.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("cyclic", NULL));
    CHECK(PARSE("\x80\x02}q\x00h\x00" "b.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("BUILD", "itself", NULL));
    /* D0[1] = D1, then D1's attributes (BUILD) = D0: a cycle through attributes */
    CHECK(PARSE("\x80\x02}q\x00K\x01}q\x01sh\x01h\x00" "0.", ALL) == MBT_OK); /* without the BUILD: fine */
    CHECK(PARSE("\x80\x02}q\x00K\x01}q\x01sh\x01h\x00" "b0.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("cyclic", NULL));
    /* unhashable keys */
    CHECK(PARSE("\x80\x02}]K\x01s.", ALL) == MBT_ERR_FORMAT);
    /* shared (not cyclic) sub-lists are fine */
    CHECK(PARSE("\x80\x02]q\x00(h\x00h\x00t.", ALL) == MBT_OK);
    /* unknown opcodes, text-protocol opcodes, a too-new protocol */
    CHECK(PARSE("\x80\x02\xff.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("0xff", "byte 2", NULL));
    CHECK(PARSE("I12\n.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("INT (text protocol 0)", NULL));
    CHECK(PARSE("\x80\x06N.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(PARSE("\x80\x02\x8f.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("EMPTY_SET", NULL));
    /* unknown globals are named (GLOBAL and STACK_GLOBAL), and nothing is called */
    CHECK(PARSE("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00ls\x85R.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("'os.system'", NULL));
    CHECK(PARSE("\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("'builtins.eval'", NULL));
    CHECK(PARSE("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n.", MBT_PICKLE_NUMPY) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("'torch._utils._rebuild_tensor_v2'", NULL));
    CHECK(PARSE("\x80\x02" "ccollections\nOrderedDict\n", ALL) == MBT_ERR_FORMAT); /* no STOP */
    CHECK(PARSE("\x80\x02" "cmodule_without_newline", ALL) == MBT_ERR_FORMAT);
    /* a whitelisted global called with nonsense */
    CHECK(PARSE("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\nK\x01\x85R.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02K\x01K\x02R.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02" "ctorch\nFloatStorage\n)R.", ALL) == MBT_ERR_UNSUPPORTED);
    /* persistent ids: only torch storages, only in the torch profile */
    CHECK(PARSE("\x80\x02X\x01\x00\x00\x00xQ.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ.",
                MBT_PICKLE_NUMPY) == MBT_ERR_UNSUPPORTED);
    CHECK(PARSE("\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ.",
                MBT_PICKLE_TORCH) == MBT_OK);
    CHECK(PARSE("\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x03\x00\x00\x00" "a/bX\x03\x00\x00\x00" "cpuK\x04tQ.",
                MBT_PICKLE_TORCH) == MBT_ERR_FORMAT);
    /* declared lengths beyond the data */
    CHECK(PARSE("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x10.", ALL) == MBT_ERR_FORMAT); /* BINUNICODE8 2^60 */
    CHECK(io_error_has("truncated", NULL));
    CHECK(PARSE("\x80\x02X\xff\xff\xff\xff" "ab.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02T\xff\xff\xff\xff.", ALL) == MBT_ERR_FORMAT); /* negative BINSTRING */
    CHECK(PARSE("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN.", ALL) == MBT_ERR_FORMAT); /* FRAME */
    CHECK(PARSE("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09.", ALL) == MBT_ERR_UNSUPPORTED); /* 72-bit */
    CHECK(PARSE("\x80\x02\x8b\x00\x00\x00\x80.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02J\x01\x02", ALL) == MBT_ERR_FORMAT);
    /* memo */
    CHECK(PARSE("\x80\x02h\x05.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("memo entry 5", NULL));
    CHECK(PARSE("\x80\x02Nr\xff\xff\xff\x7f.", ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("memo index", "limit", NULL));
    CHECK(PARSE("\x80\x02q\x00.", ALL) == MBT_ERR_FORMAT);
    /* stack underflow, marks */
    CHECK(PARSE("\x80\x02" "a.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02(a.", ALL) == MBT_ERR_FORMAT); /* items below a MARK are not reachable */
    CHECK(PARSE("\x80\x02t.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02(e.", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("\x80\x02K\x01(K\x02" "e.", ALL) == MBT_ERR_FORMAT); /* APPENDS to an int */
    CHECK(PARSE("\x80\x02}(K\x01u.", ALL) == MBT_ERR_FORMAT);   /* odd SETITEMS */
    CHECK(PARSE(".", ALL) == MBT_ERR_FORMAT);
    CHECK(PARSE("", ALL) == MBT_ERR_FORMAT);
    /* numpy: wrong sizes, dtypes, orders */
    CHECK(PARSE("\x80\x02" "cnumpy\ndtype\nX\x02\x00\x00\x00" "c8\x85R.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("'c8'", NULL));
    CHECK(PARSE("\x80\x02" "cnumpy\ndtype\nX\x03\x00\x00\x00>f4\x85R.", ALL) == MBT_ERR_UNSUPPORTED);
    CHECK(PARSE("\x80\x02" "cnumpy.core.numeric\n_frombuffer\n(C\x03\x00\x00\x00" "cnumpy\ndtype\nX\x02\x00\x00\x00u1\x85R"
                "K\x04\x85X\x01\x00\x00\x00" "CtR.", ALL) == MBT_ERR_FORMAT); /* 4 elements, 3 bytes */
    CHECK(io_error_has("needs 4 bytes", NULL));
    CHECK(PARSE("\x80\x02" "cnumpy.core.numeric\n_frombuffer\n(C\x04\x00\x00\x00\x00" "cnumpy\ndtype\nX\x02\x00\x00\x00u1\x85R"
                "K\x04\x85X\x01\x00\x00\x00" "CtR.", ALL) == MBT_OK);
    CHECK(PARSE("\x80\x02" "cnumpy.core.numeric\n_frombuffer\n(C\x04\x00\x00\x00\x00" "cnumpy\ndtype\nX\x02\x00\x00\x00u1\x85R"
                "J\x00\x00\x00\x80\x85X\x01\x00\x00\x00" "CtR.", ALL) == MBT_ERR_FORMAT); /* negative dim */
    CHECK(PARSE("\x80\x02" "cnumpy.core.numeric\n_frombuffer\n(C\x04\x00\x00\x00\x00" "cnumpy\ndtype\nX\x02\x00\x00\x00u1\x85R"
                "(\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40tX\x01\x00\x00\x00" "CtR.",
                ALL) == MBT_ERR_FORMAT); /* shape overflow */
}

static void test_depth(void) {
    /* nested lists through MARK: refused at the MARK limit */
    size_t n = 10000;
    unsigned char *b = malloc(2 * n + 8);
    size_t k = 0;
    b[k++] = 0x80;
    b[k++] = 2;
    for (size_t i = 0; i < n; i++) b[k++] = '(';
    b[k++] = '.';
    CHECK(parse_bytes(b, k, ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("deeper than", NULL));
    /* nested tuples without MARK (N, TUPLE1, TUPLE1, ...): refused by the graph check */
    k = 2;
    b[k++] = 'N';
    for (size_t i = 0; i < n; i++) b[k++] = 0x85;
    b[k++] = '.';
    CHECK(parse_bytes(b, k, ALL) == MBT_ERR_FORMAT);
    CHECK(io_error_has("deeper than", NULL));
    /* exactly at the limit is fine */
    k = 2;
    b[k++] = 'N';
    for (size_t i = 0; i < MBT_PICKLE_MAX_DEPTH; i++) b[k++] = 0x85;
    b[k++] = '.';
    CHECK(parse_bytes(b, k, ALL) == MBT_OK);
    b[k - 1] = 0x85;
    b[k++] = '.';
    CHECK(parse_bytes(b, k, ALL) == MBT_ERR_FORMAT);
    /* a "billion laughs" of shared lists: linear work, accepted (no cycle) */
    k = 2;
    b[k++] = 'N';
    for (int i = 0; i < 100; i++) {
        b[k++] = '2';  /* DUP */
        b[k++] = 0x86; /* TUPLE2 of the same value twice */
    }
    b[k++] = '.';
    CHECK(parse_bytes(b, k, ALL) == MBT_OK);
    free(b);
}

/* Every prefix of a real pickle fails cleanly; byte flips never crash. */
static void test_truncations(void) {
    void *buf;
    size_t len;
    CHECK_OK(mbt_read_file(io_fixture("io_cifar_py2.pkl"), 0, &buf, &len));
    int rejected = 0, total = 0;
    for (size_t cut = 0; cut < len; cut += cut < 600 ? 1 : 97, total++) rejected += parse_bytes(buf, cut, ALL) != MBT_OK;
    CHECK_MSG(rejected == total, "%d of %d truncated pickles accepted", total - rejected, total);
    unsigned char *copy = malloc(len);
    for (size_t at = 0; at < 700; at++) {
        memcpy(copy, buf, len);
        copy[at] ^= 0xff;
        parse_bytes(copy, len, ALL);
    }
    free(copy);
    free(buf);
}

int main(void) {
    test_cifar("io_cifar_py2.pkl");
    test_cifar("io_cifar_p2.pkl");
    test_cifar("io_cifar_p4.pkl");
    test_cifar("io_cifar_p5.pkl");
    test_numpy_arrays();
    test_checkpoint_values();
    test_hostile();
    test_depth();
    test_truncations();
    return check_report("test_io_pickle");
}
