/* Converting checkpoints in every direction, inspecting them, and the PyTorch round trip: torch.save
 * writes, mixbt reads and writes .pth, and (when /usr/bin/python3 has torch) torch.load reads mixbt's
 * file back bit-identical and load_state_dict accepts it. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/checkpoint_file.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "test_io_expect.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char p[8][512];
    static int at;
    at = (at + 1) % 8;
    snprintf(p[at], sizeof p[at], "%s/%s", tmpdir, name);
    return p[at];
}

static void check_file(const char *path, const char *key, const char *expect, const char *label) {
    io_expect e;
    CHECK(io_expect_load(&e, expect) == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_ckpt_read(path, key, &sd));
    io_check_state_dict(&sd, &e, label);
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

/* Offsets of the data of each "<x>/data/<n>" entry, from the zip's local headers, must be multiples of 64. */
static int storages_aligned(const char *path, int *entries) {
    void *buf;
    size_t len;
    *entries = 0;
    if (mbt_read_file(path, 0, &buf, &len)) return 0;
    const unsigned char *b = buf;
    size_t off = 0;
    int ok = 1;
    while (off + 30 <= len && !memcmp(b + off, "PK\x03\x04", 4)) {
        size_t csize = b[off + 18] | b[off + 19] << 8 | (size_t)b[off + 20] << 16 | (size_t)b[off + 21] << 24;
        size_t nlen = b[off + 26] | b[off + 27] << 8, xlen = b[off + 28] | b[off + 29] << 8;
        size_t data = off + 30 + nlen + xlen;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(nlen < 255 ? nlen : 255), (const char *)b + off + 30);
        if (strstr(name, "/data/")) {
            (*entries)++;
            if (data % 64) {
                fprintf(stderr, "%s: entry %s data at offset %zu\n", path, name, data);
                ok = 0;
            }
        }
        off = data + csize;
    }
    free(buf);
    return ok;
}

static void test_convert(void) {
    const char *st = tmp_path("a.safetensors"), *pth = tmp_path("b.pth"), *pt = tmp_path("c.pt"),
               *st2 = tmp_path("d.safetensors");
    /* .pth -> .safetensors -> .pth -> .pt -> .safetensors, every file read back against torch's bytes */
    CHECK_OK(mbt_ckpt_convert(io_fixture("io_dtypes.pth"), st, NULL));
    check_file(st, NULL, "io_dtypes.expect", "pth->safetensors");
    CHECK_OK(mbt_ckpt_convert(st, pth, NULL));
    check_file(pth, NULL, "io_dtypes.expect", "safetensors->pth");
    CHECK_OK(mbt_ckpt_convert(pth, pt, NULL));
    check_file(pt, NULL, "io_dtypes.expect", "pth->pt");
    CHECK_OK(mbt_ckpt_convert(pt, st2, NULL));
    check_file(st2, NULL, "io_dtypes.expect", "pt->safetensors");
    int n;
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_ckpt_read(pth, NULL, &sd));
    CHECK(storages_aligned(pth, &n) && n == (int)sd.count); /* one 64-byte aligned storage per tensor */
    /* the same state dict gives the same bytes (fixed time stamps), with the default file mode */
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    CHECK_OK(mbt_read_file(pth, 0, &b1, &l1));
    sleep(2); /* zip times have a 2-second resolution */
    CHECK_OK(mbt_pth_write(pth, &sd));
    CHECK_OK(mbt_read_file(pth, 0, &b2, &l2));
    CHECK(b1 && b2 && l1 == l2 && !memcmp(b1, b2, l1));
    free(b1);
    free(b2);
    struct stat stt;
    mode_t mask = umask(0);
    umask(mask);
    CHECK(stat(pth, &stt) == 0 && (stt.st_mode & 0777) == (0666 & ~mask));
    mbt_state_dict_free(&sd);
    /* metadata: a .pth source is recorded; safetensors -> safetensors keeps metadata */
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_safetensors_read(st, &sd));
    CHECK(mbt_state_dict_get_meta(&sd, "format") && !strcmp(mbt_state_dict_get_meta(&sd, "format"), "pt"));
    CHECK(mbt_state_dict_get_meta(&sd, "source") && !strcmp(mbt_state_dict_get_meta(&sd, "source"), "io_dtypes.pth"));
    mbt_state_dict_free(&sd);
    CHECK_OK(mbt_ckpt_convert(io_fixture("io_py.safetensors"), st2, NULL));
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_ckpt_read(st2, NULL, &sd));
    CHECK(mbt_state_dict_get_meta(&sd, "note") && sd.meta_count == 2);
    mbt_state_dict_free(&sd);
    /* nested checkpoint, by key */
    CHECK_OK(mbt_ckpt_convert(io_fixture("io_nested.pth"), st, "model"));
    check_file(st, NULL, "io_nested.expect", "nested->safetensors");
    /* errors */
    CHECK(mbt_ckpt_convert(io_fixture("io_dtypes.pth"), tmp_path("x.bin"), NULL) == MBT_ERR_ARG);
    CHECK(io_error_has("x.bin", "extension", NULL));
    CHECK(mbt_ckpt_convert(tmp_path("missing.pth"), st, NULL) == MBT_ERR_IO);
    CHECK(io_error_has("missing.pth", NULL));
    CHECK(mbt_ckpt_convert(io_fixture("io_py.safetensors"), pth, "model") == MBT_ERR_ARG);
    CHECK(mbt_ckpt_convert(io_fixture("io_legacy.pth"), st, NULL) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("_use_new_zipfile_serialization=True", NULL));
    CHECK(mbt_ckpt_convert(io_fixture("io_keymap_resnet18.txt"), st, NULL) == MBT_ERR_FORMAT);
    /* a name Python could not decode is refused by the .pth writer */
    mbt_state_dict_init(&sd);
    int64_t s1[1] = {1};
    float one = 1;
    CHECK_OK(mbt_state_dict_add(&sd, "bad\xff", MBT_DTYPE_F32, 1, s1, &one, MBT_SD_BORROW));
    CHECK(mbt_pth_write(tmp_path("utf8.pth"), &sd) == MBT_ERR_ARG);
    CHECK(io_error_has("UTF-8", NULL));
    mbt_state_dict_free(&sd);
    /* format detection */
    CHECK(mbt_ckpt_format_from_path("x/y.PTH") == MBT_CKPT_PTH && mbt_ckpt_format_from_path("a.pth.tar") == MBT_CKPT_PTH);
    CHECK(mbt_ckpt_format_from_path("m.safetensors") == MBT_CKPT_SAFETENSORS);
    CHECK(mbt_ckpt_format_from_path("m.bin") == MBT_CKPT_UNKNOWN);
    mbt_ckpt_format f;
    CHECK_OK(mbt_ckpt_format_sniff(pt, &f));
    CHECK(f == MBT_CKPT_PTH);
    CHECK_OK(mbt_ckpt_format_sniff(st2, &f));
    CHECK(f == MBT_CKPT_SAFETENSORS);
    /* a safetensors file whose header length's first byte is 0x80 (a legacy pickle's first byte too) is
     * safetensors: its ninth byte is '{' (a length ending in 0x80 comes once in 256 files) */
    const char *odd = tmp_path("odd.safetensors");
    int found = 0;
    for (int pad = 0; pad < 300 && !found; pad++) {
        char value[320];
        memset(value, 'x', (size_t)pad);
        value[pad] = 0;
        mbt_state_dict_init(&sd);
        CHECK_OK(mbt_state_dict_add(&sd, "w", MBT_DTYPE_F32, 1, s1, &one, MBT_SD_BORROW));
        CHECK_OK(mbt_state_dict_set_meta(&sd, "pad", value));
        CHECK_OK(mbt_safetensors_write(odd, &sd));
        mbt_state_dict_free(&sd);
        unsigned char first = 0;
        FILE *fp = fopen(odd, "rb");
        if (fp) {
            found = fread(&first, 1, 1, fp) == 1 && first == 0x80;
            fclose(fp);
        }
    }
    CHECK_MSG(found, "no header length ending in 0x80 was made");
    CHECK_OK(mbt_ckpt_format_sniff(odd, &f));
    CHECK_MSG(f == MBT_CKPT_SAFETENSORS, "a safetensors file starting with 0x80 sniffed as %s", mbt_ckpt_format_name(f));
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_ckpt_read(odd, NULL, &sd));
    mbt_state_dict_free(&sd);
    unlink(odd);
    unlink(st);
    unlink(pth);
    unlink(pt);
    unlink(st2);
}

static void test_inspect(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_dtypes.expect") == 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK_OK(mbt_ckpt_inspect(io_fixture("io_dtypes.pth"), NULL, out));
    fclose(out);
    /* every tensor on its own line with its dtype and shape */
    for (size_t i = 0; i < e.n; i++) {
        char shape[128];
        mbt_shape_str(shape, sizeof shape, e.items[i].ndim, e.items[i].shape);
        int found = 0;
        for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            size_t nl = strlen(e.items[i].name);
            char *end = strchr(line, '\n');
            size_t ll = end ? (size_t)(end - line) : strlen(line);
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s", (int)ll, line);
            if (!strncmp(buf, e.items[i].name, nl) && buf[nl] == ' ' && strstr(buf, shape) &&
                strstr(buf + nl, e.items[i].dtype))
                found = 1;
        }
        CHECK_MSG(found, "inspect does not list '%s' %s %s", e.items[i].name, e.items[i].dtype, shape);
    }
    char total[64];
    snprintf(total, sizeof total, "%zu tensors", e.n);
    CHECK(strstr(text, total) && strstr(text, "pytorch checkpoint"));
    free(text);
    text = NULL;
    out = open_memstream(&text, &len);
    CHECK_OK(mbt_ckpt_inspect(io_fixture("io_py.safetensors"), NULL, out));
    fclose(out);
    CHECK(strstr(text, "safetensors checkpoint") && strstr(text, "metadata format = pt") && strstr(text, "11 tensors"));
    free(text);
    io_expect_free(&e);
}

static int have_torch(void) {
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

static void test_torch_roundtrip(void) {
    if (!have_torch()) {
        printf("SKIP torch round trip: /usr/bin/python3 with torch is not available (mixbt reads torch's files, "
               "but torch.load of mixbt's files is not checked)\n");
        return;
    }
    const char *tool = MIXBT_FIXTURES "/../../tools/make_io_fixtures.py";
    const char *a = tmp_path("mixbt_dtypes.pth"), *b = tmp_path("mixbt_nested.pth"), *s = tmp_path("via.safetensors"),
               *c = tmp_path("via_st.pth");
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_dtypes.pth"), NULL, &sd));
    CHECK_OK(mbt_pth_write(a, &sd));
    mbt_state_dict_free(&sd);
    CHECK_OK(mbt_ckpt_convert(io_fixture("io_nested.pth"), b, "model"));
    CHECK_OK(mbt_ckpt_convert(io_fixture("io_dtypes.pth"), s, NULL));
    CHECK_OK(mbt_ckpt_convert(s, c, NULL));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s check-pth %s %s", tool, a, io_fixture("io_dtypes.pth"));
    CHECK_MSG(system(cmd) == 0, "torch.load of mixbt's %s failed or differs", a);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s check-pth %s %s", tool, c, io_fixture("io_dtypes.pth"));
    CHECK_MSG(system(cmd) == 0, "torch.load of mixbt's %s failed or differs", c);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s check-pth %s %s model", tool, b, io_fixture("io_nested.pth"));
    CHECK_MSG(system(cmd) == 0, "torch.load / load_state_dict of mixbt's %s failed", b);
    unlink(a);
    unlink(b);
    unlink(s);
    unlink(c);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mixbt_io_cv_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_convert();
    test_inspect();
    test_torch_roundtrip();
    rmdir(tmpdir);
    return check_report("test_io_convert");
}
