/* Binary PPM / PGM decoding (see ppm.h). */
#include "data/ppm.h"

#include <string.h>

int mbt_ppm_signature(const void *buf, size_t len) {
    const unsigned char *b = buf;
    return len >= 2 && b[0] == 'P' && (b[1] == '6' || b[1] == '5');
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Reads one decimal header field at *pos, skipping whitespace and '#' comments before it; -1 if none
 * or out of range. */
static long read_field(const unsigned char *b, size_t len, size_t *pos) {
    size_t p = *pos;
    for (;;) {
        while (p < len && is_space(b[p])) p++;
        if (p < len && b[p] == '#') {
            while (p < len && b[p] != '\n' && b[p] != '\r') p++;
            continue;
        }
        break;
    }
    if (p >= len || b[p] < '0' || b[p] > '9') return -1;
    long v = 0;
    while (p < len && b[p] >= '0' && b[p] <= '9') {
        v = v * 10 + (b[p] - '0');
        if (v > 1000000) return -1;
        p++;
    }
    *pos = p;
    return v;
}

mbt_status mbt_ppm_decode(const void *buf, size_t len, const char *what, mbt_image *img) {
    const unsigned char *b = buf;
    if (!mbt_ppm_signature(buf, len))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: not a binary PPM/PGM image (no P6 or P5 signature)", what);
    int channels = b[1] == '6' ? 3 : 1;
    size_t pos = 2;
    if (pos >= len || !(is_space(b[pos]) || b[pos] == '#'))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: bad PPM header (no whitespace after the signature)", what);
    long w = read_field(b, len, &pos), h = read_field(b, len, &pos), maxval = read_field(b, len, &pos);
    if (w < 1 || h < 1 || maxval < 0)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: bad PPM header (width, height and maxval expected)", what);
    if (maxval != 255)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: PPM maxval %ld is not supported (8-bit samples, maxval 255, expected)",
                        what, maxval);
    if (pos >= len || !is_space(b[pos]))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: bad PPM header (no whitespace after maxval)", what);
    pos++;
    size_t need = (size_t)w * (size_t)h * (size_t)channels;
    if (len - pos < need)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: truncated PPM, %zu bytes of samples for a %ldx%ld image (%zu expected)", what,
                        len - pos, w, h, need);
    MBT_TRY(mbt_image_reserve(img, (int)w, (int)h));
    const unsigned char *s = b + pos;
    if (channels == 3) {
        memcpy(img->data, s, need);
    } else {
        for (size_t i = 0; i < need; i++) img->data[3 * i] = img->data[3 * i + 1] = img->data[3 * i + 2] = s[i];
    }
    return MBT_OK;
}
