/* A strict reader of binary PPM (P6) and PGM (P5) images with 8-bit samples (maxval 255), the format
 * of the GTSRB traffic-sign crops; gray samples are replicated to RGB as PIL's convert("RGB") does.
 * Written here rather than through libnetpbm, whose errors exit() the process or longjmp to one
 * process-wide buffer, which the threaded data loader cannot share. */
#ifndef MBT_PPM_H
#define MBT_PPM_H

#include <stddef.h>

#include "core/status.h"
#include "data/image.h"

/* 1 if buf starts with a P5 or P6 signature. */
int mbt_ppm_signature(const void *buf, size_t len);
/* Decodes buf[0, len) ("P6" or "P5", whitespace, width, height, maxval 255 with '#' comments allowed
 * between the fields, one whitespace byte, then the samples) into img. MBT_ERR_FORMAT naming `what`
 * for anything else: another maxval, a bad header, too few samples. Bytes after the samples are
 * ignored (PIL ignores them too). */
mbt_status mbt_ppm_decode(const void *buf, size_t len, const char *what, mbt_image *img);

#endif
