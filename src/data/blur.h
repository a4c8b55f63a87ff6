/* The two filters of the ImageNet recipe of the reference (facebookresearch/barlowtwins, used as is by
 * mix-bt's main_imagenet.py), with PIL's semantics: ImageFilter.GaussianBlur(radius = sigma), which
 * PIL computes as three passes of an extended box blur per axis (not a sampled Gaussian kernel), and
 * ImageOps.solarize. Both work in place on 8-bit RGB images. */
#ifndef MBT_BLUR_H
#define MBT_BLUR_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/image.h"

/* PIL's img.filter(ImageFilter.GaussianBlur(sigma)) (Pillow 9): the box radius r + a (integer part r,
 * fraction a) is chosen so that 3 passes have variance sigma^2 (Gwosdek et al. 2011, computed in float);
 * each pass gives out[x] = (sum_{|k|<=r} in[x+k] * ww + (in[x-r-1] + in[x+r+1]) * fw + 2^23) >> 24 with
 * ww = floor(2^24 / (2(r+a) + 1)), fw = (2^24 - (2r+1) ww) / 2 and the edge pixels repeated beyond the
 * border; three passes along rows, then three along columns, each rounded to 8 bits. sigma <= 0 leaves
 * the image as it is. *line is a work buffer grown as needed (free it; NULL is a valid start). */
mbt_status mbt_image_gaussian_blur(mbt_image *img, float sigma, uint8_t **line, size_t *line_cap);

/* PIL's ImageOps.solarize(img, threshold): every value v >= threshold becomes 255 - v. */
void mbt_image_solarize(mbt_image *img, int threshold);

#endif
