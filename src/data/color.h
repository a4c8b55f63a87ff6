/* Colour operations on 8-bit RGB pixels with the semantics of PIL (Pillow 9) as torchvision 0.14 applies
 * them to PIL images: ImageEnhance.Brightness / Contrast / Color, hue rotation through PIL's HSV
 * conversion, conversion to 'L', horizontal flip. All work in place on n packed RGB pixels; the per-pixel
 * arithmetic is data/pixel_ops.h's, shared with the CUDA augmentation. */
#ifndef MBT_COLOR_H
#define MBT_COLOR_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"

/* PIL Image.blend(degenerate, image, factor) per channel: v = d + factor * (v - d) in float, truncated
 * toward zero, clipped to [0, 255]. Brightness blends with black. */
void mbt_color_brightness(uint8_t *px, size_t n, float factor);
/* Blends with the mean of the 'L' image, rounded as int(mean + 0.5). */
void mbt_color_contrast(uint8_t *px, size_t n, float factor);
/* Blends each pixel with its own 'L' value. */
void mbt_color_saturation(uint8_t *px, size_t n, float factor);
/* torchvision adjust_hue on PIL: to PIL HSV, H += uint8(trunc(hue * 255)) modulo 256, back to RGB;
 * hue in [-0.5, 0.5]. */
void mbt_color_hue(uint8_t *px, size_t n, float hue);
/* Each pixel replaced by its 'L' value in all three channels. */
void mbt_color_grayscale(uint8_t *px, size_t n);
/* Mirrors the image left to right. */
void mbt_image_hflip(mbt_image *img);

#endif
