/* The CPU backend's own checks (the op cases shared with CUDA are test_ops_cpu_cuda's table): the shapes
 * its convolution refuses, with their messages. */
#include <string.h>

#include "check.h"
#include "ops/conv2d.h"

static void test_bad_conv_shapes(void) {
    mbt_conv2d *op = NULL;
    mbt_conv2d_shape s = {2, 5, 8, 8, 16, 3, 1, 1}; /* 5 channels: not a multiple of the block */
    CHECK(mbt_conv2d_create(&op, MBT_DEVICE_CPU, &s, 0) == MBT_ERR_UNSUPPORTED && op == NULL);
    CHECK(strstr(mbt_error_message(), "conv2d") && strstr(mbt_error_message(), "multiples"));
    mbt_conv2d_shape z = {2, 16, 2, 2, 16, 7, 1, 0}; /* kernel larger than the input */
    CHECK(mbt_conv2d_create(&op, MBT_DEVICE_CPU, &z, 0) == MBT_ERR_SHAPE);
    CHECK(strstr(mbt_error_message(), "kernel=7") != NULL);
}

int main(void) {
    test_bad_conv_shapes();
    return check_report("test_ops_cpu");
}
