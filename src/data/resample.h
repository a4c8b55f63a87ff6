/* Image resizing with the semantics of PIL's Image.resize (Pillow 9) for 8-bit RGB images: a separable
 * convolution, horizontal pass then vertical pass, each rounded to 8 bits; the filter's support is
 * widened by the downscale factor (antialiasing); coefficients normalised to sum 1 then quantised to
 * 22-bit fixed point. */
#ifndef MBT_RESAMPLE_H
#define MBT_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/image.h"

typedef enum {
    MBT_FILTER_BILINEAR = 2, /* triangle, support 1 (PIL's BILINEAR = 2) */
    MBT_FILTER_BICUBIC = 3   /* Keys cubic with a = -0.5, support 2 (PIL's BICUBIC = 3) */
} mbt_filter;

/* Reused work buffers of mbt_resample (all-zero is valid: they grow on first use). */
typedef struct {
    double *pre;
    int32_t *kx, *ky;
    int32_t *bx, *by;
    size_t cap_pre, cap_kx, cap_ky, cap_bx, cap_by;
    mbt_image tmp;
} mbt_resample_scratch;

/* dst = the w x h region of src whose top-left pixel is (x, y), resized to out_w x out_h, exactly as
 * PIL's img.crop((x, y, x + w, y + h)).resize((out_w, out_h), filter) computes it (pixels outside the
 * region are never read; a region already of the output size is copied). dst must not be src. */
mbt_status mbt_resample(const mbt_image *src, int x, int y, int w, int h, mbt_image *dst, int out_w, int out_h,
                        mbt_filter filter, mbt_resample_scratch *scratch);
void mbt_resample_scratch_free(mbt_resample_scratch *scratch);

/* Taps per output sample of resizing in_size samples to out_size with filter f (PIL's kernel size:
 * the support widened by the downscale factor, both sides, plus one). */
int mbt_resample_ksize(int in_size, int out_size, mbt_filter f);
/* PIL's coefficients for in_size -> out_size: output o reads inputs bounds[2o] .. bounds[2o] +
 * bounds[2o+1] - 1 with the weights k[o * ksize + t] (fixed point, MBT_RESAMPLE_PRECISION_BITS of
 * data/pixel_ops.h; apply with mbt_px_resample_tap). ksize from mbt_resample_ksize; pre: ksize doubles
 * of scratch. */
void mbt_resample_coeffs(int in_size, int out_size, mbt_filter f, int ksize, double *pre, int32_t *k,
                         int32_t *bounds);

#endif
