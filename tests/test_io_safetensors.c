/* safetensors: reading files written by Python, writing (layout, alignment, atomic replacement) and
 * reading back, and rejecting malformed headers with messages naming the file and the tensor. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/safetensors.h"
#include "test_io_expect.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char p[4][512];
    static int at;
    at = (at + 1) % 4;
    snprintf(p[at], sizeof p[at], "%s/%s", tmpdir, name);
    return p[at];
}

static void test_read_python(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_py_safetensors.expect") == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_safetensors_read(io_fixture("io_py.safetensors"), &sd));
    io_check_state_dict(&sd, &e, "io_py.safetensors");
    const char *note = mbt_state_dict_get_meta(&sd, "note");
    CHECK(note && !strcmp(note, "quoted \"text\", tab\t and \xc3\xa9")); /* JSON escapes decoded */
    CHECK(mbt_state_dict_get_meta(&sd, "format") && !strcmp(mbt_state_dict_get_meta(&sd, "format"), "pt"));
    CHECK(sd.meta_count == 2);
    mbt_state_dict_free(&sd);

    /* odd header length: tensor data are misaligned in the file buffer, so the reader copies them */
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_safetensors_read(io_fixture("io_py_unaligned.safetensors"), &sd));
    CHECK(sd.count == 3);
    for (size_t i = 0; i < sd.count; i++) {
        const mbt_sd_tensor *t = &sd.tensors[i];
        CHECK((uintptr_t)t->data % mbt_dtype_size(t->dtype) == 0);
        CHECK(io_tensor_matches(t, io_expect_get(&e, t->name)));
    }
    float f32[12];
    CHECK_OK(mbt_sd_tensor_to_f32(mbt_state_dict_find(&sd, "model.f32"), f32, 12));
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) n += de->d_name[0] != '.' || strstr(de->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_write_read(void) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_safetensors_read(io_fixture("io_py.safetensors"), &sd));
    CHECK_OK(mbt_state_dict_set_meta(&sd, "mixbt", "a \\ backslash, \"quotes\", \x01 control"));
    const char *out = tmp_path("rt.safetensors");
    CHECK_OK(mbt_safetensors_write(out, &sd));
    CHECK(count_files(tmpdir) == 1); /* no temporary file left behind */
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));

    mbt_state_dict back;
    mbt_state_dict_init(&back);
    CHECK_OK(mbt_safetensors_read(out, &back));
    CHECK(back.count == sd.count);
    for (size_t i = 0; i < sd.count && i < back.count; i++) {
        const mbt_sd_tensor *a = &sd.tensors[i], *b = &back.tensors[i];
        CHECK_MSG(!strcmp(a->name, b->name) && a->dtype == b->dtype && a->ndim == b->ndim && a->nbytes == b->nbytes &&
                      !memcmp(a->shape, b->shape, sizeof a->shape) && (!a->nbytes || !memcmp(a->data, b->data, a->nbytes)),
                  "tensor %zu ('%s') changed in the round trip", i, a->name);
        CHECK((uintptr_t)b->data % mbt_dtype_size(b->dtype) == 0);
        CHECK(!b->owned || !b->nbytes); /* aligned layout: nothing had to be copied */
    }
    CHECK(back.meta_count == 3 && !strcmp(mbt_state_dict_get_meta(&back, "mixbt"), mbt_state_dict_get_meta(&sd, "mixbt")));

    /* the file: header padded to 8, valid JSON that a plain parser reads, offsets without gaps */
    void *buf;
    size_t len;
    if (!CHECK_OK(mbt_read_file(out, 0, &buf, &len))) {
        mbt_state_dict_free(&back);
        mbt_state_dict_free(&sd);
        return;
    }
    uint64_t hl;
    memcpy(&hl, buf, 8);
    CHECK((8 + hl) % 8 == 0);
    cJSON *h = cJSON_ParseWithLength((char *)buf + 8, hl);
    CHECK(h != NULL);
    size_t covered = 0;
    for (cJSON *it = h ? h->child : NULL; it; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) continue;
        cJSON *o = cJSON_GetObjectItem(it, "data_offsets");
        covered += (size_t)(cJSON_GetArrayItem(o, 1)->valuedouble - cJSON_GetArrayItem(o, 0)->valuedouble);
    }
    CHECK(covered == len - 8 - hl && covered == mbt_state_dict_nbytes(&sd));
    cJSON_Delete(h);
    free(buf);

    /* overwrite in place: the new content replaces the old atomically */
    mbt_state_dict_remove(&sd, 0);
    CHECK_OK(mbt_safetensors_write(out, &sd));
    mbt_state_dict_free(&back);
    mbt_state_dict_init(&back);
    CHECK_OK(mbt_safetensors_read(out, &back));
    CHECK(back.count == sd.count && count_files(tmpdir) == 1);
    mbt_state_dict_free(&back);

    /* an unwritable destination fails with a message and leaves nothing behind */
    CHECK(mbt_safetensors_write(tmp_path("no/such/dir/x.safetensors"), &sd) == MBT_ERR_IO);
    CHECK(io_error_has("no/such/dir/x.safetensors", NULL));
    unlink(out);
    mbt_state_dict_free(&sd);

    /* empty state dict */
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_safetensors_write(out, &sd));
    CHECK_OK(mbt_safetensors_read(out, &sd));
    CHECK(sd.count == 0);
    unlink(out);
    mbt_state_dict_free(&sd);
}

/* Builds a file image: 8-byte length, header text, then `data_len` bytes of data. */
static unsigned char *image(const char *header, size_t data_len, size_t *len) {
    size_t hl = strlen(header);
    *len = 8 + hl + data_len;
    unsigned char *b = calloc(1, *len + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < data_len; i++) b[8 + hl + i] = (unsigned char)i;
    return b;
}

static mbt_status parse_header(const char *header, size_t data_len) {
    size_t len;
    unsigned char *b = image(header, data_len, &len);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_error_clear();
    mbt_status s = mbt_safetensors_parse(b, len, "bad.safetensors", MBT_SD_COPY, &sd);
    if (s) CHECK(sd.count == 0 && strstr(mbt_error_message(), "bad.safetensors"));
    mbt_state_dict_free(&sd);
    free(b);
    return s;
}

static void test_malformed(void) {
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8) == MBT_OK);
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 8) == MBT_ERR_FORMAT);
    CHECK(io_error_has("tensor 'a'", "outside the data section", NULL));
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8) == MBT_ERR_FORMAT);
    CHECK(io_error_has("tensor 'a'", "need 12", NULL));
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8) == MBT_ERR_FORMAT);
    CHECK(io_error_has("'a'", "'b'", "overlap", NULL));
    CHECK(parse_header("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", 8) == MBT_ERR_UNSUPPORTED);
    CHECK(io_error_has("tensor 'a'", "BOOL", NULL));
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 8) ==
          MBT_ERR_FORMAT);
    CHECK(io_error_has("9 dimensions", NULL));
    CHECK(parse_header("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8) ==
          MBT_ERR_FORMAT);
    CHECK(io_error_has("tensor 'a'", NULL));
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e300]}}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8) == MBT_ERR_FORMAT);
    CHECK(io_error_has("data_offsets", NULL));
    CHECK(parse_header("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":[1,2]}", 8) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"__metadata__\":{\"k\":1}}", 0) == MBT_ERR_FORMAT);
    CHECK(io_error_has("metadata \"k\"", NULL));
    CHECK(parse_header("{\"__metadata__\":[]}", 0) == MBT_ERR_FORMAT);
    CHECK(parse_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                       "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 8) == MBT_ERR_ARG);
    CHECK(io_error_has("duplicate", "'a'", NULL));
    CHECK(parse_header("{\"a\":", 8) == MBT_ERR_FORMAT);
    CHECK(io_error_has("invalid JSON", NULL));
    CHECK(parse_header("{}  x", 0) == MBT_ERR_FORMAT);
    CHECK(parse_header("[]", 0) == MBT_ERR_FORMAT);
    CHECK(parse_header("{}      ", 0) == MBT_OK);
    CHECK(parse_header("{\"\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 8) == MBT_ERR_FORMAT);
    CHECK(io_error_has("UTF-8", NULL));
    CHECK(parse_header("{\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                       8) == MBT_OK);
    /* the writer refuses names Python could not decode */
    mbt_state_dict w;
    mbt_state_dict_init(&w);
    uint8_t one = 1;
    int64_t s1[1] = {1};
    static const char *const bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"};
    for (int i = 0; i < 5; i++) {
        CHECK_OK(mbt_state_dict_add(&w, bad[i], MBT_DTYPE_U8, 1, s1, &one, MBT_SD_BORROW));
        CHECK(mbt_safetensors_write(tmp_path("utf8.safetensors"), &w) == MBT_ERR_ARG);
        CHECK(io_error_has("UTF-8", NULL));
        mbt_state_dict_remove(&w, 0);
    }
    mbt_state_dict_free(&w);
    /* a deeply nested header does not exhaust the stack (cJSON limits nesting) */
    char deep[4200] = "{\"x\":";
    for (int i = 0; i < 2000; i++) strcat(deep, "[");
    CHECK(parse_header(deep, 0) == MBT_ERR_FORMAT);

    /* header length: larger than the file, beyond the limit, too short a file */
    size_t len;
    unsigned char *b = image("{}", 0, &len);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    b[0] = 200;
    CHECK(mbt_safetensors_parse(b, len, "bad.safetensors", MBT_SD_COPY, &sd) == MBT_ERR_FORMAT);
    CHECK(io_error_has("bad.safetensors", "exceeds the file", NULL));
    memset(b, 0xff, 8);
    CHECK(mbt_safetensors_parse(b, len, "bad.safetensors", MBT_SD_COPY, &sd) == MBT_ERR_FORMAT);
    CHECK(io_error_has("exceeds the limit", NULL));
    CHECK(mbt_safetensors_parse(b, 5, "bad.safetensors", MBT_SD_COPY, &sd) == MBT_ERR_FORMAT);
    free(b);

    /* every truncation of a real file fails, none crashes */
    void *buf;
    CHECK_OK(mbt_read_file(io_fixture("io_py.safetensors"), 0, &buf, &len));
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        mbt_state_dict t;
        mbt_state_dict_init(&t);
        accepted += mbt_safetensors_parse(buf, cut, "cut", MBT_SD_BORROW, &t) == MBT_OK;
        mbt_state_dict_free(&t);
    }
    CHECK_MSG(accepted == 0, "%d truncated files accepted", accepted);
    free(buf);
    mbt_state_dict_free(&sd);

    /* a missing file names itself */
    mbt_state_dict_init(&sd);
    CHECK(mbt_safetensors_read(tmp_path("missing.safetensors"), &sd) == MBT_ERR_IO);
    CHECK(io_error_has("missing.safetensors", NULL));
    mbt_state_dict_free(&sd);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mixbt_io_st_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_read_python();
    test_write_read();
    test_malformed();
    rmdir(tmpdir);
    return check_report("test_io_safetensors");
}
