/* JPEG and PNG decoding into RGB with PIL's conversions (see decode.h). */
#include "data/decode.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "data/ppm.h"

#define MAX_PIXELS (1u << 28) /* refuse images over 268 million pixels */

void mbt_file_buffer_free(mbt_file_buffer *b) {
    free(b->data);
    b->data = NULL;
    b->capacity = 0;
}

/* ---- JPEG ---------------------------------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_error *e = (jpeg_error *)cinfo->err;
    e->base.format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* Warnings stay off stderr; a premature end of the data is an error, as PIL reports a truncated file. */
static void jpeg_warn(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(cinfo);
}

/* PIL's CMYK -> RGB with the Adobe (inverted) convention of its JPEG reader: c = 255 - stored, then
 * R = (255 - k) - round((255 - k) * c / 255) in PIL's integer form. */
static void cmyk_row_to_rgb(const unsigned char *in, unsigned char *out, int width) {
    for (int x = 0; x < width; x++) {
        int nk = in[4 * x + 3]; /* 255 - k, since k = 255 - stored */
        for (int c = 0; c < 3; c++) {
            int v = 255 - in[4 * x + c];
            int t = v * nk + 128;
            int m = ((t >> 8) + t) >> 8;
            int r = nk - m;
            out[3 * x + c] = (unsigned char)(r < 0 ? 0 : r > 255 ? 255 : r);
        }
    }
}

static mbt_status decode_jpeg(const void *buf, size_t len, const char *what, mbt_image *img) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error err;
    volatile int created = 0;
    unsigned char *volatile cmyk = NULL;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_fail;
    err.base.emit_message = jpeg_warn;
    if (setjmp(err.jump)) {
        if (created) jpeg_destroy_decompress(&cinfo);
        free(cmyk);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: cannot decode the JPEG image (%s)", what, err.message);
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    jpeg_mem_src(&cinfo, (const unsigned char *)buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    if ((size_t)w * (size_t)h > MAX_PIXELS || cinfo.output_components != (is_cmyk ? 4 : 3)) {
        jpeg_destroy_decompress(&cinfo);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: JPEG image of %dx%d with %d components is not supported", what, w, h,
                        cinfo.output_components);
    }
    mbt_status st = mbt_image_reserve(img, w, h);
    if (st == MBT_OK && is_cmyk && !(cmyk = malloc((size_t)w * 4))) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", what);
    if (st != MBT_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = img->data + (size_t)cinfo.output_scanline * w * 3;
        if (is_cmyk) {
            JSAMPROW r = cmyk;
            jpeg_read_scanlines(&cinfo, &r, 1);
            cmyk_row_to_rgb(cmyk, row, w);
        } else {
            JSAMPROW r = row;
            jpeg_read_scanlines(&cinfo, &r, 1);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk);
    return MBT_OK;
}

/* ---- PNG ----------------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *data;
    size_t len, at;
    char message[256];
} png_source;

static void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
    png_source *s = png_get_io_ptr(png);
    if (n > s->len - s->at) png_error(png, "the file is truncated");
    memcpy(out, s->data + s->at, n);
    s->at += n;
}

static void png_fail(png_structp png, png_const_charp msg) {
    png_source *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", msg);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static mbt_status decode_png(const void *buf, size_t len, const char *what, mbt_image *img) {
    png_source src = {buf, len, 0, "unknown error"};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: cannot create a PNG reader", what);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: cannot decode the PNG image (%s)", what, src.message);
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if ((size_t)w * (size_t)h > MAX_PIXELS) png_error(png, "the image is too large");
    if (depth == 16) png_set_strip_16(png); /* the high byte */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    /* alpha dropped, also the alpha a palette's tRNS chunk expands to (png_set_palette_to_rgb expands it) */
    if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row layout after conversion to RGB");
    mbt_status st = mbt_image_reserve(img, (int)w, (int)h);
    if (st == MBT_OK && !(rows = malloc(h * sizeof *rows))) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", what);
    if (st != MBT_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = img->data + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return MBT_OK;
}

/* ---- entry points -------------------------------------------------------------------------------- */

mbt_status mbt_image_decode(const void *buf, size_t len, const char *what, mbt_image *img) {
    const unsigned char *b = buf;
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return decode_jpeg(buf, len, what, img);
    if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return decode_png(buf, len, what, img);
    if (mbt_ppm_signature(buf, len)) return mbt_ppm_decode(buf, len, what, img);
    return MBT_FAIL(MBT_ERR_FORMAT, "%s: not a JPEG or PNG image (nor PPM; %zu bytes, unknown signature)", what, len);
}

mbt_status mbt_image_load(const char *path, mbt_file_buffer *fb, mbt_image *img) {
    FILE *f = fopen(path, "rb");
    if (!f) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    size_t len = 0;
    for (;;) {
        if (len == fb->capacity) {
            size_t cap = fb->capacity ? 2 * fb->capacity : 65536;
            unsigned char *p = realloc(fb->data, cap);
            if (!p) {
                fclose(f);
                return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory reading the file", path);
            }
            fb->data = p;
            fb->capacity = cap;
        }
        size_t got = fread(fb->data + len, 1, fb->capacity - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) return MBT_FAIL(MBT_ERR_IO, "%s: read error", path);
    return mbt_image_decode(fb->data, len, path, img);
}
