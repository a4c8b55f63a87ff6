/* The precision choice on every build and machine: parsing and naming "fp32" / "bf16", and the CPU
 * backend's clear refusal of bf16 activations at every entry (model, convolution, batch norm, max
 * pooling, the element-wise and average-pool functions), each with MBT_ERR_UNSUPPORTED and a message
 * naming the op. The bf16 computations themselves are checked on a GPU by test_ops_bf16_cuda and
 * test_model_cuda. */
#include <string.h>

#include "check.h"
#include "models/model.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/onednn_context.h"
#include "ops/eltwise.h"
#include "ops/pool.h"

/* The last call failed with MBT_ERR_UNSUPPORTED naming `op` and bf16. */
static void expect_refused(mbt_status st, const char *op) {
    CHECK_MSG(st == MBT_ERR_UNSUPPORTED, "%s: status %d, expected MBT_ERR_UNSUPPORTED", op, (int)st);
    const char *msg = mbt_error_message();
    CHECK_MSG(strstr(msg, op) && strstr(msg, "bf16") && strstr(msg, "CUDA"), "%s: message \"%s\"", op, msg);
}

int main(void) {
    mbt_precision p = MBT_PRECISION_BF16;
    CHECK(mbt_precision_parse("fp32", &p) == MBT_OK && p == MBT_PRECISION_FP32);
    CHECK(mbt_precision_parse("bf16", &p) == MBT_OK && p == MBT_PRECISION_BF16);
    CHECK(mbt_precision_parse("fp16", &p) == MBT_ERR_ARG && strstr(mbt_error_message(), "'fp16'"));
    CHECK(!strcmp(mbt_precision_name(MBT_PRECISION_FP32), "fp32"));
    CHECK(!strcmp(mbt_precision_name(MBT_PRECISION_BF16), "bf16"));

    mbt_model_config cfg = mbt_model_config_small(MBT_ARCH_RESNET18, 32, 16);
    mbt_model *m = (mbt_model *)&cfg;
    expect_refused(mbt_model_create_precision(&m, &cfg, 4, 2, 1, MBT_DEVICE_CPU, MBT_PRECISION_BF16), "model");
    CHECK(m == NULL);
    if (CHECK_OK(mbt_model_create_precision(&m, &cfg, 4, 2, 1, MBT_DEVICE_CPU, MBT_PRECISION_FP32))) {
        CHECK(mbt_model_precision(m) == MBT_PRECISION_FP32);
        mbt_model_destroy(m);
    }

    /* shapes the CPU backend takes in fp32: channels one activation block (8 on AVX2, 16 on AVX-512) */
    int c = mbt_cpu_channel_block();
    mbt_conv2d_shape cs = {2, c, 8, 8, c, 3, 1, 1};
    mbt_conv2d *conv = (mbt_conv2d *)&cs;
    expect_refused(mbt_conv2d_create(&conv, MBT_DEVICE_CPU, &cs, MBT_CONV_BF16), "conv2d");
    CHECK(conv == NULL);
    if (CHECK_OK(mbt_conv2d_create(&conv, MBT_DEVICE_CPU, &cs, 0))) mbt_conv2d_destroy(conv);
    mbt_batchnorm_shape bs = {2, c, 64, 1e-5f, 0.1f};
    mbt_batchnorm *bn = (mbt_batchnorm *)&bs;
    expect_refused(mbt_batchnorm_create(&bn, MBT_DEVICE_CPU, &bs, MBT_BN_BF16), "batchnorm");
    CHECK(bn == NULL);
    if (CHECK_OK(mbt_batchnorm_create(&bn, MBT_DEVICE_CPU, &bs, 0))) mbt_batchnorm_destroy(bn);
    mbt_pool_shape ps = {2, c, 8, 8, 3, 2, 1};
    mbt_maxpool *pool = (mbt_maxpool *)&ps;
    expect_refused(mbt_maxpool_create(&pool, MBT_DEVICE_CPU, &ps, MBT_POOL_TRAINING | MBT_POOL_BF16), "maxpool");
    CHECK(pool == NULL);
    if (CHECK_OK(mbt_maxpool_create(&pool, MBT_DEVICE_CPU, &ps, MBT_POOL_TRAINING))) mbt_maxpool_destroy(pool);

    float a[4] = {1, 2, 3, 4}, b[4] = {0}, y[4] = {0};
    expect_refused(mbt_add_bf16(MBT_DEVICE_CPU, 2, a, b, y), "add");
    expect_refused(mbt_add_relu_forward_bf16(MBT_DEVICE_CPU, 2, a, b, y), "add_relu");
    expect_refused(mbt_relu_backward_bf16(MBT_DEVICE_CPU, 2, a, b, y), "relu");
    expect_refused(mbt_avgpool_forward_bf16(MBT_DEVICE_CPU, 1, 1, 4, a, y), "avgpool");
    expect_refused(mbt_avgpool_backward_bf16(MBT_DEVICE_CPU, 1, 1, 4, a, y), "avgpool");
    CHECK(y[0] == 0 && y[1] == 0); /* nothing written */
    return check_report("test_precision");
}
