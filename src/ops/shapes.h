/* Shape descriptions of the operations, shared by the reference and every backend. */
#ifndef MBT_OPS_SHAPES_H
#define MBT_OPS_SHAPES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int n, c_in, h, w;   /* input */
    int c_out, kernel, stride, pad;
} mbt_conv2d_shape;

static inline int mbt_conv2d_h_out(const mbt_conv2d_shape *s) { return (s->h + 2 * s->pad - s->kernel) / s->stride + 1; }
static inline int mbt_conv2d_w_out(const mbt_conv2d_shape *s) { return (s->w + 2 * s->pad - s->kernel) / s->stride + 1; }

typedef struct {
    int n, c, hw;        /* hw = 1 for BatchNorm1d */
    float eps, momentum; /* PyTorch defaults: 1e-5, 0.1 */
} mbt_batchnorm_shape;

typedef struct {
    int n, c, h, w;
    int kernel, stride, pad;
} mbt_pool_shape;

static inline int mbt_pool_h_out(const mbt_pool_shape *s) { return (s->h + 2 * s->pad - s->kernel) / s->stride + 1; }
static inline int mbt_pool_w_out(const mbt_pool_shape *s) { return (s->w + 2 * s->pad - s->kernel) / s->stride + 1; }

#ifdef __cplusplus
}
#endif

#endif
