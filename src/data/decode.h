/* Decoding JPEG (libjpeg-turbo), PNG (libpng) and binary PPM/PGM (data/ppm.h) files into 8-bit RGB
 * images as PIL's Image.open(path).convert("RGB") gives them: grayscale replicated, CMYK converted as
 * PIL does (Adobe inverted convention), alpha dropped, palettes expanded, 16-bit samples reduced to
 * their high byte. */
#ifndef MBT_DECODE_H
#define MBT_DECODE_H

#include <stddef.h>

#include "core/status.h"
#include "data/image.h"

/* A reusable file buffer (all-zero is valid). */
typedef struct {
    unsigned char *data;
    size_t capacity;
} mbt_file_buffer;
void mbt_file_buffer_free(mbt_file_buffer *b);

/* Decodes the JPEG, PNG or PPM image held in buf[0, len) (chosen by its signature) into img. `what` names
 * the source in messages. MBT_ERR_FORMAT with the decoder's reason when it cannot be decoded. */
mbt_status mbt_image_decode(const void *buf, size_t len, const char *what, mbt_image *img);
/* Reads path into *fb (grown as needed) and decodes it. MBT_ERR_IO naming the file if unreadable. */
mbt_status mbt_image_load(const char *path, mbt_file_buffer *fb, mbt_image *img);

#endif
