/* Checkpoint dtypes: sizes, names, half-precision conversions and tensor conversions to f32 / i64. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "io/state_dict.h"

static const struct {
    const char *name, *st_name;
    size_t size;
    int is_float;
} dtype_info[MBT_DTYPE_COUNT] = {
    [MBT_DTYPE_F32] = {"f32", "F32", 4, 1},  [MBT_DTYPE_F16] = {"f16", "F16", 2, 1},
    [MBT_DTYPE_BF16] = {"bf16", "BF16", 2, 1}, [MBT_DTYPE_F64] = {"f64", "F64", 8, 1},
    [MBT_DTYPE_I64] = {"i64", "I64", 8, 0},  [MBT_DTYPE_I32] = {"i32", "I32", 4, 0},
    [MBT_DTYPE_U8] = {"u8", "U8", 1, 0},
};

static int valid(mbt_dtype d) { return (int)d >= 0 && d < MBT_DTYPE_COUNT; }

size_t mbt_dtype_size(mbt_dtype dtype) { return valid(dtype) ? dtype_info[dtype].size : 0; }
const char *mbt_dtype_name(mbt_dtype dtype) { return valid(dtype) ? dtype_info[dtype].name : "invalid"; }
const char *mbt_dtype_safetensors_name(mbt_dtype dtype) { return valid(dtype) ? dtype_info[dtype].st_name : "INVALID"; }
int mbt_dtype_is_float(mbt_dtype dtype) { return valid(dtype) && dtype_info[dtype].is_float; }

mbt_status mbt_dtype_parse(const char *name, mbt_dtype *dtype) {
    for (int d = 0; d < MBT_DTYPE_COUNT; d++)
        if (!strcasecmp(name, dtype_info[d].name)) {
            *dtype = (mbt_dtype)d;
            return MBT_OK;
        }
    return MBT_FAIL(MBT_ERR_ARG, "unknown dtype '%s' (expected f32, f16, bf16, f64, i64, i32 or u8)", name);
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float mbt_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

float mbt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13)); /* inf, NaN (payload kept) */
    if (exp == 0) {
        float v = ldexpf((float)man, -24); /* zero and subnormals: exact */
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t mbt_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fff + ((u >> 16) & 1);                                               /* round to nearest even */
    return (uint16_t)(u >> 16);
}

uint16_t mbt_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00 | (uint16_t)((a >> 13) & 0x3ff); /* NaN */
    if (a >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: inf */
    if (a < 0x38800000u) {                     /* below the smallest normal 2^-14: subnormal or zero */
        float v = bits_f32(a);
        /* v * 2^24 rounded to nearest even gives the subnormal mantissa (rintf uses the current mode). */
        return sign | (uint16_t)rintf(v * 16777216.0f);
    }
    uint32_t r = a + 0xfff + ((a >> 13) & 1); /* round to nearest even at bit 13 */
    return sign | (uint16_t)(((r >> 13) - (112u << 10)) & 0x7fff);
}

mbt_status mbt_sd_tensor_to_f32(const mbt_sd_tensor *t, float *dst, size_t n) {
    if (n != t->numel)
        return MBT_FAIL(MBT_ERR_ARG, "tensor '%s': %zu elements, destination holds %zu", t->name, t->numel, n);
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case MBT_DTYPE_F32: if (n) memcpy(dst, p, n * 4); return MBT_OK;
    case MBT_DTYPE_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = mbt_f16_to_f32(h);
        }
        return MBT_OK;
    case MBT_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = mbt_bf16_to_f32(h);
        }
        return MBT_OK;
    case MBT_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return MBT_OK;
    default:
        return MBT_FAIL(MBT_ERR_ARG, "tensor '%s' has integer dtype %s, a floating-point tensor is expected", t->name,
                        mbt_dtype_name(t->dtype));
    }
}

mbt_status mbt_sd_tensor_to_i64(const mbt_sd_tensor *t, int64_t *dst, size_t n) {
    if (n != t->numel)
        return MBT_FAIL(MBT_ERR_ARG, "tensor '%s': %zu elements, destination holds %zu", t->name, t->numel, n);
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case MBT_DTYPE_I64: if (n) memcpy(dst, p, n * 8); return MBT_OK;
    case MBT_DTYPE_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = v;
        }
        return MBT_OK;
    case MBT_DTYPE_U8:
        for (size_t i = 0; i < n; i++) dst[i] = p[i];
        return MBT_OK;
    default:
        return MBT_FAIL(MBT_ERR_ARG, "tensor '%s' has floating-point dtype %s, an integer tensor is expected", t->name,
                        mbt_dtype_name(t->dtype));
    }
}
