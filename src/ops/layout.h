/* Conversions between PyTorch's NCHW and a backend's native activation layout (for inputs,
 * tests and feature export; never inside the training step's hot path). */
#ifndef MBT_LAYOUT_H
#define MBT_LAYOUT_H

#include "core/tensor.h"

/* native[n][c/b][h*w][b] <- nchw[n][c][h*w] (CPU: b = mbt_cpu_channel_block()); c % b == 0. */
mbt_status mbt_layout_from_nchw(mbt_device device, int n, int c, int hw, const float *nchw, float *native);
mbt_status mbt_layout_to_nchw(mbt_device device, int n, int c, int hw, const float *native, float *nchw);

#endif
