/* 8-bit RGB images (rows of interleaved R, G, B bytes) whose buffers grow once and are reused. */
#ifndef MBT_IMAGE_H
#define MBT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    uint8_t *data;   /* height rows of width * 3 bytes, no padding */
    int width, height;
    size_t capacity; /* bytes allocated */
} mbt_image;

/* Sets the size of img to width x height, growing its buffer if needed (contents undefined).
 * An all-zero mbt_image is a valid empty image. */
mbt_status mbt_image_reserve(mbt_image *img, int width, int height);
void mbt_image_free(mbt_image *img);

#endif
