/* Checkpoint files: format detection, read/write dispatch, convert and inspect. */
#include "io/checkpoint_file.h"

#include <string.h>
#include <strings.h>

#include "core/tensor.h"
#include "io/pth.h"
#include "io/read_file.h"
#include "io/safetensors.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

mbt_ckpt_format mbt_ckpt_format_from_path(const char *path) {
    if (ends_with(path, ".safetensors")) return MBT_CKPT_SAFETENSORS;
    if (ends_with(path, ".pth") || ends_with(path, ".pt") || ends_with(path, ".pth.tar") || ends_with(path, ".ckpt"))
        return MBT_CKPT_PTH;
    return MBT_CKPT_UNKNOWN;
}

const char *mbt_ckpt_format_name(mbt_ckpt_format format) {
    switch (format) {
    case MBT_CKPT_SAFETENSORS: return "safetensors";
    case MBT_CKPT_PTH: return "pytorch";
    default: return "unknown";
    }
}

mbt_status mbt_ckpt_format_sniff(const char *path, mbt_ckpt_format *format) {
    unsigned char h[9];
    size_t n;
    *format = MBT_CKPT_UNKNOWN;
    MBT_TRY(mbt_read_file_head(path, h, sizeof h, &n));
    /* safetensors before the legacy pickle's 0x80: a header length whose first byte is 0x80 starts one file
     * in 256, and a pickle never has '{' where a safetensors header begins (byte 8: its magic number) */
    if (n >= 4 && !memcmp(h, "PK\x03\x04", 4)) *format = MBT_CKPT_PTH;
    else if (n == 9 && h[8] == '{') *format = MBT_CKPT_SAFETENSORS;
    else if (n >= 1 && h[0] == 0x80) *format = MBT_CKPT_PTH;
    else *format = mbt_ckpt_format_from_path(path);
    if (*format == MBT_CKPT_UNKNOWN)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: neither a safetensors file nor a PyTorch checkpoint", path);
    return MBT_OK;
}

mbt_status mbt_ckpt_read(const char *path, const char *key, mbt_state_dict *sd) {
    mbt_ckpt_format f;
    MBT_TRY(mbt_ckpt_format_sniff(path, &f));
    if (f == MBT_CKPT_PTH) return mbt_pth_read(path, key, sd);
    if (key && *key)
        return MBT_FAIL(MBT_ERR_ARG, "%s: a key ('%s') only selects inside PyTorch checkpoints", path, key);
    return mbt_safetensors_read(path, sd);
}

mbt_status mbt_ckpt_write(const char *path, const mbt_state_dict *sd) {
    switch (mbt_ckpt_format_from_path(path)) {
    case MBT_CKPT_SAFETENSORS: return mbt_safetensors_write(path, sd);
    case MBT_CKPT_PTH: return mbt_pth_write(path, sd);
    default:
        return MBT_FAIL(MBT_ERR_ARG, "%s: unknown checkpoint extension (use .safetensors, .pth or .pt)", path);
    }
}

mbt_status mbt_ckpt_convert(const char *in, const char *out, const char *key) {
    mbt_ckpt_format fo = mbt_ckpt_format_from_path(out);
    if (fo == MBT_CKPT_UNKNOWN)
        return MBT_FAIL(MBT_ERR_ARG, "%s: unknown checkpoint extension (use .safetensors, .pth or .pt)", out);
    mbt_ckpt_format fi;
    MBT_TRY(mbt_ckpt_format_sniff(in, &fi));
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status s = mbt_ckpt_read(in, key, &sd);
    if (!s && fi == MBT_CKPT_PTH && fo == MBT_CKPT_SAFETENSORS) {
        const char *base = strrchr(in, '/');
        s = mbt_state_dict_set_meta(&sd, "format", "pt");
        if (!s) s = mbt_state_dict_set_meta(&sd, "source", base ? base + 1 : in);
    }
    if (!s) s = mbt_ckpt_write(out, &sd);
    mbt_state_dict_free(&sd);
    return s;
}

static void human_bytes(char *buf, size_t size, size_t n) {
    if (n < 10 * 1024) snprintf(buf, size, "%zu B", n);
    else if (n < (size_t)10 << 20) snprintf(buf, size, "%.1f KiB", n / 1024.0);
    else if (n < (size_t)10 << 30) snprintf(buf, size, "%.1f MiB", n / 1048576.0);
    else snprintf(buf, size, "%.1f GiB", n / 1073741824.0);
}

void mbt_state_dict_print(const mbt_state_dict *sd, const char *title, FILE *out) {
    if (title) fprintf(out, "%s\n", title);
    for (size_t i = 0; i < sd->meta_count; i++) fprintf(out, "metadata %s = %s\n", sd->meta[i].key, sd->meta[i].value);
    size_t w = 4;
    for (size_t i = 0; i < sd->count; i++)
        if (strlen(sd->tensors[i].name) > w) w = strlen(sd->tensors[i].name);
    if (w > 60) w = 60;
    size_t numel = 0, counts[MBT_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < sd->count; i++) {
        const mbt_sd_tensor *t = &sd->tensors[i];
        char shape[200], bytes[32];
        human_bytes(bytes, sizeof bytes, t->nbytes);
        fprintf(out, "%-*s  %-4s  %-20s  %10zu  %s\n", (int)w, t->name, mbt_dtype_name(t->dtype),
                mbt_shape_str(shape, sizeof shape, t->ndim, t->shape), t->numel, bytes);
        numel += t->numel;
        counts[t->dtype]++;
    }
    char total[32];
    human_bytes(total, sizeof total, mbt_state_dict_nbytes(sd));
    fprintf(out, "%zu tensors, %zu elements, %s", sd->count, numel, total);
    for (int d = 0; d < MBT_DTYPE_COUNT; d++)
        if (counts[d]) fprintf(out, ", %zu %s", counts[d], mbt_dtype_name((mbt_dtype)d));
    fprintf(out, "\n");
}

mbt_status mbt_ckpt_inspect(const char *path, const char *key, FILE *out) {
    mbt_ckpt_format f;
    MBT_TRY(mbt_ckpt_format_sniff(path, &f));
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status s = mbt_ckpt_read(path, key, &sd);
    if (!s) {
        char title[1200];
        snprintf(title, sizeof title, "%s: %s checkpoint%s%s", path, mbt_ckpt_format_name(f), key && *key ? ", key " : "",
                 key && *key ? key : "");
        mbt_state_dict_print(&sd, title, out);
    }
    mbt_state_dict_free(&sd);
    return s;
}
