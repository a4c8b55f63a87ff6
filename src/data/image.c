/* 8-bit RGB image buffers. */
#include "data/image.h"

#include <stdlib.h>

mbt_status mbt_image_reserve(mbt_image *img, int width, int height) {
    if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
        return MBT_FAIL(MBT_ERR_ARG, "image size %dx%d is out of range (1..65535)", width, height);
    size_t need = (size_t)width * (size_t)height * 3;
    if (need > img->capacity) {
        uint8_t *p = realloc(img->data, need);
        if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "cannot allocate a %dx%d image", width, height);
        img->data = p;
        img->capacity = need;
    }
    img->width = width;
    img->height = height;
    return MBT_OK;
}

void mbt_image_free(mbt_image *img) {
    free(img->data);
    img->data = NULL;
    img->width = img->height = 0;
    img->capacity = 0;
}
