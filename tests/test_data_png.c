/* PNG variants the decoder must turn into RGB as PIL's convert("RGB") does, written here with libpng:
 * palettes of 8 and 4 bits with and without tRNS transparency (alpha dropped, the palette colours
 * kept), gray of 1, 2 and 8 bits (low depths scaled to 0..255) with and without tRNS, gray + alpha,
 * RGBA and RGB of 16 bits (the high byte), RGB with a tRNS colour key, and Adam7-interlaced RGB. The
 * expected pixels are computed from the values written. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/decode.h"

#define W 13
#define H 7

typedef struct {
    const char *name;
    int color_type, depth, interlace, trns;
} variant;

static const variant VARIANTS[] = {
    {"palette 8-bit", PNG_COLOR_TYPE_PALETTE, 8, 0, 0},
    {"palette 8-bit + tRNS", PNG_COLOR_TYPE_PALETTE, 8, 0, 1},
    {"palette 4-bit + tRNS", PNG_COLOR_TYPE_PALETTE, 4, 0, 1},
    {"gray 1-bit", PNG_COLOR_TYPE_GRAY, 1, 0, 0},
    {"gray 2-bit", PNG_COLOR_TYPE_GRAY, 2, 0, 0},
    {"gray 8-bit + tRNS", PNG_COLOR_TYPE_GRAY, 8, 0, 1},
    {"gray + alpha 8-bit", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0},
    {"RGBA 16-bit", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0},
    {"RGB 16-bit + tRNS", PNG_COLOR_TYPE_RGB, 16, 0, 1},
    {"RGB 8-bit + tRNS", PNG_COLOR_TYPE_RGB, 8, 0, 1},
    {"RGB 8-bit interlaced", PNG_COLOR_TYPE_RGB, 8, 1, 0},
    {"palette 8-bit + tRNS interlaced", PNG_COLOR_TYPE_PALETTE, 8, 1, 1},
};

/* The sample value (0 .. 2^depth - 1) of channel c at (x, y). */
static unsigned sample(int x, int y, int c, int depth) {
    unsigned v = (unsigned)(x * 37 + y * 101 + c * 59 + x * y * 7) * 2654435761u;
    return (v >> 7) & ((1u << depth) - 1);
}

static png_color palette_entry(int i) {
    png_color p = {(png_byte)(i * 53 + 7), (png_byte)(255 - i * 31), (png_byte)(i * i * 11)};
    return p;
}

typedef struct {
    unsigned char *data;
    size_t len, cap;
} membuf;

static void mem_write(png_structp png, png_bytep p, png_size_t n) {
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

static int channels_of(int type) {
    return type == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : type == PNG_COLOR_TYPE_RGB ? 3 : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
}

/* Encodes variant v into m; expected[] receives the RGB pixels PIL gives for it. */
static void encode(const variant *v, membuf *m, uint8_t *expected) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, m, mem_write, mem_flush);
    png_set_IHDR(png, info, W, H, v->depth, v->color_type, v->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int pal_n = 1 << v->depth;
    if (pal_n > 256) pal_n = 256;
    if (v->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < pal_n; i++) pal[i] = palette_entry(i);
        png_set_PLTE(png, info, pal, pal_n);
    }
    if (v->trns) {
        if (v->color_type == PNG_COLOR_TYPE_PALETTE) {
            png_byte alpha[4] = {0, 128, 255, 3};
            png_set_tRNS(png, info, alpha, 4, NULL);
        } else {
            png_color_16 key = {0, 1, 2, 3, 5};
            png_set_tRNS(png, info, NULL, 0, &key);
        }
    }
    png_write_info(png, info);
    int ch = channels_of(v->color_type);
    size_t rowbytes = ((size_t)W * ch * v->depth + 7) / 8;
    unsigned char *rows = calloc(H, rowbytes);
    for (int y = 0; y < H; y++) {
        unsigned char *row = rows + (size_t)y * rowbytes;
        for (int x = 0; x < W; x++) {
            uint8_t *e = expected + ((size_t)y * W + x) * 3;
            unsigned s[4];
            for (int c = 0; c < ch; c++) {
                s[c] = sample(x, y, c, v->depth);
                if (v->color_type == PNG_COLOR_TYPE_PALETTE && s[c] >= (unsigned)pal_n) s[c] %= (unsigned)pal_n;
                int bit = (x * ch + c) * v->depth;
                if (v->depth == 16) {
                    row[bit / 8] = (unsigned char)(s[c] >> 8);
                    row[bit / 8 + 1] = (unsigned char)s[c];
                } else if (v->depth == 8) {
                    row[bit / 8] = (unsigned char)s[c];
                } else {
                    row[bit / 8] |= (unsigned char)(s[c] << (8 - v->depth - bit % 8));
                }
            }
            if (v->color_type == PNG_COLOR_TYPE_PALETTE) {
                png_color p = palette_entry((int)s[0]);
                e[0] = p.red, e[1] = p.green, e[2] = p.blue;
            } else if (v->color_type == PNG_COLOR_TYPE_GRAY || v->color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
                unsigned g = v->depth == 16 ? s[0] >> 8 : s[0] * 255u / ((1u << v->depth) - 1);
                e[0] = e[1] = e[2] = (uint8_t)g;
            } else {
                for (int c = 0; c < 3; c++) e[c] = (uint8_t)(v->depth == 16 ? s[c] >> 8 : s[c]);
            }
        }
    }
    png_bytep ptrs[H];
    for (int y = 0; y < H; y++) ptrs[y] = rows + (size_t)y * rowbytes;
    png_write_image(png, ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
}

int main(void) {
    mbt_image img = {0};
    uint8_t expected[W * H * 3];
    for (size_t k = 0; k < sizeof VARIANTS / sizeof VARIANTS[0]; k++) {
        const variant *v = &VARIANTS[k];
        membuf m = {0};
        encode(v, &m, expected);
        mbt_status st = mbt_image_decode(m.data, m.len, v->name, &img);
        CHECK_MSG(st == MBT_OK, "%s: %s", v->name, mbt_error_message());
        if (st == MBT_OK) {
            CHECK_MSG(img.width == W && img.height == H, "%s: %dx%d", v->name, img.width, img.height);
            int bad = 0;
            for (int i = 0; i < W * H * 3 && !bad; i++)
                if (img.data[i] != expected[i]) {
                    CHECK_MSG(0, "%s: pixel %d channel %d is %d, expected %d", v->name, i / 3, i % 3, img.data[i],
                              expected[i]);
                    bad = 1;
                }
        }
        /* a truncated copy is an error naming the source */
        st = mbt_image_decode(m.data, m.len / 2, v->name, &img);
        CHECK_MSG(st == MBT_ERR_FORMAT && strstr(mbt_error_message(), v->name) != NULL, "%s truncated: status %d (%s)",
                  v->name, st, mbt_error_message());
        free(m.data);
    }
    mbt_image_free(&img);
    return check_report("test_data_png");
}
