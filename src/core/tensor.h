/* Tensors: a float buffer with a shape and the device it lives on. Views into plans, never owners. */
#ifndef MBT_TENSOR_H
#define MBT_TENSOR_H

#include <stdint.h>

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MBT_MAX_DIMS 4

typedef enum { MBT_DEVICE_CPU = 0, MBT_DEVICE_CUDA = 1 } mbt_device;

typedef struct {
    float *data;
    int ndim;
    int64_t shape[MBT_MAX_DIMS];
    mbt_device device;
} mbt_tensor;

int64_t mbt_tensor_numel(const mbt_tensor *t);
/* Writes the shape as "[2,3,32,32]" into buf; returns buf (for error messages). */
const char *mbt_shape_str(char *buf, int size, int ndim, const int64_t *shape);

const char *mbt_device_name(mbt_device device);

#ifdef __cplusplus
}
#endif

#endif
