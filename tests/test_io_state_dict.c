/* State dicts and dtypes: half/bfloat16 conversions against PyTorch's, names, index, ownership. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/pth.h"
#include "io/state_dict.h"
#include "test_io_expect.h"

static uint16_t u16_at(const unsigned char *p, size_t i) { return (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)); }

static void test_conversions(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_convert.expect") == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_dtypes.pth"), NULL, &sd));
    /* f16, bf16, f64 -> f32 exactly as torch's .float() */
    static const char *const from[] = {"f16", "bf16", "f64"}, *const want[] = {"f16_as_f32", "bf16_as_f32", "f64_as_f32"};
    for (int k = 0; k < 3; k++) {
        const mbt_sd_tensor *t = mbt_state_dict_find(&sd, from[k]);
        const io_expect_item *x = io_expect_get(&e, want[k]);
        CHECK(t && x);
        if (!t || !x) continue;
        float *f = malloc(t->numel * sizeof *f);
        CHECK_OK(mbt_sd_tensor_to_f32(t, f, t->numel));
        CHECK_MSG(x->nbytes == t->numel * 4 && !memcmp(f, x->data, x->nbytes), "%s -> f32 differs from torch", from[k]);
        free(f);
    }
    /* f32 -> f16 / bf16 rounding as torch's .half() / .bfloat16() (NaN: any NaN) */
    const io_expect_item *src = io_expect_get(&e, "src"), *h = io_expect_get(&e, "src_f16"), *b = io_expect_get(&e, "src_bf16");
    CHECK(src && h && b);
    size_t n = src ? src->nbytes / 4 : 0, bad_h = 0, bad_b = 0;
    for (size_t i = 0; i < n; i++) {
        float f;
        memcpy(&f, src->data + 4 * i, 4);
        uint16_t gh = mbt_f32_to_f16(f), gb = mbt_f32_to_bf16(f);
        if (gh != u16_at(h->data, i)) {
            if (bad_h++ < 5) fprintf(stderr, "f16(%.9g) = 0x%04x, torch 0x%04x\n", f, gh, u16_at(h->data, i));
        }
        if (gb != u16_at(b->data, i)) {
            if (bad_b++ < 5) fprintf(stderr, "bf16(%.9g) = 0x%04x, torch 0x%04x\n", f, gb, u16_at(b->data, i));
        }
        /* and back: exact for values the format holds */
        float rh = mbt_f16_to_f32(gh), rb = mbt_bf16_to_f32(gb);
        CHECK(mbt_f32_to_f16(rh) == gh && mbt_f32_to_bf16(rb) == gb);
    }
    CHECK_MSG(bad_h == 0 && bad_b == 0, "%zu f16 and %zu bf16 roundings differ from torch (of %zu)", bad_h, bad_b, n);
    CHECK(isnan(mbt_f16_to_f32(mbt_f32_to_f16(NAN))) && isnan(mbt_bf16_to_f32(mbt_f32_to_bf16(NAN))));

    /* integer conversions, and the wrong kind is an error naming the tensor */
    const mbt_sd_tensor *i64 = mbt_state_dict_find(&sd, "i64"), *i32 = mbt_state_dict_find(&sd, "i32"),
                        *u8 = mbt_state_dict_find(&sd, "u8");
    int64_t iv[32];
    CHECK_OK(mbt_sd_tensor_to_i64(i64, iv, i64->numel));
    CHECK(iv[0] == -((int64_t)1 << 40) && iv[4] == (int64_t)1 << 62 && iv[5] == INT64_MIN);
    CHECK_OK(mbt_sd_tensor_to_i64(i32, iv, i32->numel));
    CHECK(iv[0] == INT32_MIN && iv[3] == 123456 && iv[4] == INT32_MAX);
    CHECK_OK(mbt_sd_tensor_to_i64(u8, iv, u8->numel));
    CHECK(iv[15] == 255 && iv[1] == 17);
    float fv[32];
    CHECK(mbt_sd_tensor_to_f32(i64, fv, i64->numel) == MBT_ERR_ARG);
    CHECK(io_error_has("'i64'", "integer", NULL));
    CHECK(mbt_sd_tensor_to_i64(mbt_state_dict_find(&sd, "f32"), iv, 12) == MBT_ERR_ARG);
    CHECK(mbt_sd_tensor_to_f32(mbt_state_dict_find(&sd, "f32"), fv, 11) == MBT_ERR_ARG);
    CHECK(io_error_has("'f32'", "12 elements", "11", NULL));
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

static void test_dtype_names(void) {
    for (int d = 0; d < MBT_DTYPE_COUNT; d++) {
        mbt_dtype p;
        CHECK_OK(mbt_dtype_parse(mbt_dtype_name((mbt_dtype)d), &p));
        CHECK(p == (mbt_dtype)d);
        CHECK_OK(mbt_dtype_parse(mbt_dtype_safetensors_name((mbt_dtype)d), &p));
        CHECK(p == (mbt_dtype)d);
    }
    mbt_dtype p;
    CHECK(mbt_dtype_parse("f8", &p) == MBT_ERR_ARG);
    CHECK(mbt_dtype_size(MBT_DTYPE_BF16) == 2 && mbt_dtype_size(MBT_DTYPE_I64) == 8 && mbt_dtype_size(MBT_DTYPE_U8) == 1);
    CHECK(mbt_dtype_size((mbt_dtype)99) == 0);
}

static void test_dict_ops(void) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    float a[6] = {1, 2, 3, 4, 5, 6};
    int64_t s23[2] = {2, 3}, s6[1] = {6};
    char name[32];
    /* many tensors: the hash index must find every one */
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "layer%d.weight", i);
        CHECK_OK(mbt_state_dict_add(&sd, name, MBT_DTYPE_F32, 2, s23, a, i % 2 ? MBT_SD_COPY : MBT_SD_BORROW));
    }
    int found = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "layer%d.weight", i);
        found += mbt_state_dict_index(&sd, name) == i;
    }
    CHECK(found == 1000 && mbt_state_dict_find(&sd, "layer1000.weight") == NULL);
    CHECK(mbt_state_dict_add(&sd, "layer7.weight", MBT_DTYPE_F32, 1, s6, a, MBT_SD_COPY) == MBT_ERR_ARG);
    CHECK(io_error_has("duplicate", "'layer7.weight'", NULL));
    CHECK(sd.count == 1000);
    /* copies are independent, borrowed tensors see the source */
    a[0] = 42;
    CHECK(((float *)sd.tensors[0].data)[0] == 42 && ((float *)sd.tensors[1].data)[0] == 1);
    CHECK_OK(mbt_state_dict_own_all(&sd));
    a[0] = 1;
    CHECK(((float *)sd.tensors[0].data)[0] == 42 && sd.tensors[0].owned);
    /* rename + reindex, duplicates detected at reindex */
    CHECK_OK(mbt_state_dict_set_name(&sd, 3, "renamed"));
    CHECK(mbt_state_dict_index(&sd, "renamed") == 3 && mbt_state_dict_index(&sd, "layer3.weight") == -1);
    CHECK_OK(mbt_state_dict_reindex(&sd));
    CHECK(mbt_state_dict_index(&sd, "renamed") == 3);
    CHECK_OK(mbt_state_dict_set_name(&sd, 4, "renamed"));
    CHECK(mbt_state_dict_reindex(&sd) == MBT_ERR_ARG);
    CHECK(io_error_has("'renamed'", NULL));
    mbt_state_dict_remove(&sd, 4);
    CHECK_OK(mbt_state_dict_reindex(&sd));
    CHECK(sd.count == 999 && mbt_state_dict_index(&sd, "layer5.weight") == 4);
    /* shapes: bad ones refused with the name; TAKE frees on error */
    int64_t neg[1] = {-1}, huge[3] = {(int64_t)1 << 40, (int64_t)1 << 40, 16};
    CHECK(mbt_state_dict_add(&sd, "neg", MBT_DTYPE_F32, 1, neg, a, MBT_SD_COPY) == MBT_ERR_FORMAT);
    CHECK(io_error_has("neg", "negative", NULL));
    CHECK(mbt_state_dict_add(&sd, "huge", MBT_DTYPE_F32, 3, huge, a, MBT_SD_BORROW) == MBT_ERR_FORMAT);
    CHECK(mbt_state_dict_add(&sd, "nine", MBT_DTYPE_F32, 9, huge, a, MBT_SD_BORROW) == MBT_ERR_FORMAT);
    CHECK(mbt_state_dict_add(&sd, "nodata", MBT_DTYPE_F32, 1, s6, NULL, MBT_SD_BORROW) == MBT_ERR_ARG);
    CHECK(mbt_state_dict_add(&sd, "layer9.weight", MBT_DTYPE_F32, 1, s6, malloc(24), MBT_SD_TAKE) == MBT_ERR_ARG);
    int64_t zero[2] = {0, 5};
    CHECK_OK(mbt_state_dict_add(&sd, "empty", MBT_DTYPE_F32, 2, zero, NULL, MBT_SD_COPY));
    CHECK(mbt_state_dict_find(&sd, "empty")->numel == 0);
    CHECK_OK(mbt_state_dict_add(&sd, "scalar", MBT_DTYPE_I64, 0, NULL, (int64_t[]){7}, MBT_SD_COPY));
    CHECK(mbt_state_dict_find(&sd, "scalar")->numel == 1 && mbt_state_dict_find(&sd, "scalar")->nbytes == 8);
    CHECK(mbt_state_dict_nbytes(&sd) == 999 * 24 + 8);
    /* metadata */
    CHECK_OK(mbt_state_dict_set_meta(&sd, "k", "v1"));
    CHECK_OK(mbt_state_dict_set_meta(&sd, "k", "v2"));
    CHECK(sd.meta_count == 1 && !strcmp(mbt_state_dict_get_meta(&sd, "k"), "v2") && !mbt_state_dict_get_meta(&sd, "x"));
    mbt_state_dict_free(&sd);
    CHECK(sd.count == 0 && sd.tensors == NULL);
}

int main(void) {
    test_dtype_names();
    test_conversions();
    test_dict_ops();
    return check_report("test_io_state_dict");
}
