/* The encoder models: torchvision ResNet-18/50 backbones with the three stems of the reference
 * recipes and a Barlow Twins projector, built from ops, with PyTorch's parameter names.
 *
 * Memory is planned once: parameters, gradients, buffers (BN running statistics) and activations
 * for `slots` forward calls of `batch` images. A training step runs forward on several slots (Mixed
 * Barlow Twins: view 1, view 2, mixed view; each is its own batch-norm batch), then backward on each,
 * accumulating parameter gradients; nothing is allocated during a step.
 *
 * Devices. A model lives on the device it is created for (MBT_DEVICE_CPU or MBT_DEVICE_CUDA): its
 * parameters, gradients, running statistics and activations are that device's memory, and so are
 * the flat vectors (mbt_model_flat_params/grads, for optimizers on the same device) and every
 * array a forward or backward call takes or returns (inputs x, dout, dfeature; outputs feature, out).
 * The state_dict entries (mbt_param.data, .grad) are always host memory, so checkpoints, state_dict
 * loading and tests read and write them the same way on every device:
 *   - CPU: they point into the model's own parameters and gradients;
 *   - CUDA: they point into a host copy. Call mbt_model_params_to_host before reading them (it
 *     downloads parameters, running statistics and gradients) and mbt_model_params_to_device after
 *     writing them (it uploads parameters and running statistics). On the CPU both are cheap and
 *     always safe to call (to_host does nothing, to_device is mbt_model_sync_params), so code that
 *     calls them around its reads and writes works on either device.
 * The num_batches_tracked counters are host integers on every device (mbt_param.counter). */
#ifndef MBT_MODEL_H
#define MBT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

#define MBT_MAX_SLOTS 4
#define MBT_MAX_PROJ_LAYERS 4

typedef enum { MBT_ARCH_RESNET18 = 0, MBT_ARCH_RESNET50 = 1 } mbt_arch;

typedef enum {
    MBT_STEM_CIFAR = 0,   /* 32 px: conv 3x3/1/1, no max pooling */
    MBT_STEM_SMALL = 1,   /* 64 px (Tiny-ImageNet, STL-10): conv 3x3/1/1 and max pool 3x3/2/1 */
    MBT_STEM_IMAGENET = 2 /* 224 px: conv 7x7/2/3 and max pool 3x3/2/1 */
} mbt_stem;

typedef enum {
    MBT_NAMES_SMALL = 0,   /* the reference's small-data Model: f.<i>.*, g.<i>.* */
    MBT_NAMES_IMAGENET = 1, /* the ImageNet Barlow Twins model: backbone.<torchvision name>, projector.<i>.* */
    MBT_NAMES_PREFIXED = 2  /* a backbone alone: <name_prefix><torchvision name> (ssl-sota: "model.module.") */
} mbt_naming;

typedef struct {
    mbt_arch arch;
    mbt_stem stem;
    mbt_naming naming;
    int image_size;                           /* input height = width */
    int proj_hidden[MBT_MAX_PROJ_LAYERS - 1]; /* Linear(no bias)+BN+ReLU layers, e.g. {512} */
    int n_proj_hidden;
    int feature_dim;                          /* projector output size */
    int proj_out_bias;                        /* the last projector Linear has a bias (small-data model) */
    int normalize_output;                     /* forward returns normalize(g(h)) (small-data model) */
    int zero_init_residual;                   /* last BN gamma of each block = 0 at init */
    int backbone_only;                        /* no projector: feature_dim = 0, out = the backbone features */
    char name_prefix[32];                     /* MBT_NAMES_PREFIXED: prefix of every state_dict name */
} mbt_model_config;

/* The reference small-data model: ResNet with the stem for image_size (32: CIFAR, else 64-px stem),
 * projector emb -> 512 -> feature_dim with bias, normalised output. */
mbt_model_config mbt_model_config_small(mbt_arch arch, int image_size, int feature_dim);
/* The ImageNet Barlow Twins model: 224-px stem, backbone.* / projector.* names, projector of the given
 * sizes (e.g. "8192-8192-8192": Linear without bias + BN + ReLU between layers), unnormalised output,
 * zero_init_residual. MBT_ERR_ARG on a bad projector text. */
mbt_status mbt_model_config_imagenet(mbt_arch arch, const char *projector, mbt_model_config *cfg);
/* The baselines' encoder (ssl-sota model.py): a torchvision ResNet trunk without fc, conv1 3x3/1/1 for
 * every size but 224 (ImageNet's 7x7 stem), max pooling removed for 32 px only; no projector (the heads are
 * models/mlp_head.h); state_dict names prefix + torchvision's ("model.module.", "model_t.module."). A
 * training forward's *out is then its *feature (unnormalised) and backward takes dout = NULL and
 * dfeature (given both, their sum is the gradient of the features); an evaluation forward's out, if
 * not NULL, receives the unnormalised features. MBT_ERR_ARG for an image size other than 32 (CIFAR),
 * 64 (STL-10 and Tiny ImageNet, which ssl-sota crops to 64 px) or 224 (ImageNet), or a prefix too long. */
mbt_status mbt_model_config_sslsota(mbt_arch arch, int image_size, const char *name_prefix, mbt_model_config *cfg);
/* Parses "8192-8192-8192" into hidden layers + output size; returns MBT_ERR_ARG on bad text. */
mbt_status mbt_model_config_set_projector(mbt_model_config *cfg, const char *spec);
const char *mbt_arch_name(mbt_arch arch);
mbt_status mbt_arch_parse(const char *name, mbt_arch *arch);
/* Backbone feature size: 512 (ResNet-18) or 2048 (ResNet-50). */
int mbt_model_embedding_dim(mbt_arch arch);

typedef enum { MBT_PARAM_WEIGHT = 0, MBT_PARAM_BUFFER = 1, MBT_PARAM_COUNTER = 2 } mbt_param_kind;

/* One state_dict entry: a trainable tensor (data + grad), a float buffer (running statistics) or an
 * int64 counter (num_batches_tracked). */
typedef struct {
    char name[96];
    mbt_param_kind kind;
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;      /* WEIGHT, BUFFER (host memory: see "Devices" above) */
    float *grad;      /* WEIGHT (host memory: see "Devices" above) */
    int64_t *counter; /* COUNTER */
} mbt_param;

typedef struct mbt_model mbt_model;

/* The number format of the backbone's activations. BF16: every convolution, batch norm, pooling and
 * residual activation of the backbone and its gradient is stored in bf16 and the convolutions run on
 * bf16 weights rounded from the fp32 ones (cuDNN accumulating in fp32); parameters, gradients, BN
 * statistics, the pooled features, the projector and everything after it stay fp32. CUDA only. */
typedef enum { MBT_PRECISION_FP32 = 0, MBT_PRECISION_BF16 = 1 } mbt_precision;
const char *mbt_precision_name(mbt_precision precision);
/* "fp32" or "bf16"; MBT_ERR_ARG naming the text otherwise. */
mbt_status mbt_precision_parse(const char *name, mbt_precision *precision);

/* Builds the model for `batch` images per forward call and `slots` calls in flight before backward
 * (training = 0: evaluation only, one slot, no gradients). Parameters are zero until init or load. */
mbt_status mbt_model_create(mbt_model **model, const mbt_model_config *cfg, int batch, int slots, int training,
                            mbt_device device);
/* The same with the backbone's activations in `precision` (mbt_model_create is MBT_PRECISION_FP32).
 * Every other function works alike in both; a state_dict or checkpoint does not depend on it. */
mbt_status mbt_model_create_precision(mbt_model **model, const mbt_model_config *cfg, int batch, int slots,
                                      int training, mbt_device device, mbt_precision precision);
mbt_precision mbt_model_precision(const mbt_model *model);
void mbt_model_destroy(mbt_model *model);
const mbt_model_config *mbt_model_get_config(const mbt_model *model);
int mbt_model_batch(const mbt_model *model);
mbt_device mbt_model_device(const mbt_model *model);

/* PyTorch's default initialisation (SPEC section 1) from a counter-based stream of `seed`, drawn on
 * the host and uploaded: the same values on every device. */
mbt_status mbt_model_init_params(mbt_model *model, uint64_t seed);

/* The state_dict entries in PyTorch's order. */
size_t mbt_model_param_count(const mbt_model *model);
mbt_param *mbt_model_param(mbt_model *model, size_t index);
mbt_param *mbt_model_find_param(mbt_model *model, const char *name);
/* All trainable parameters and all their gradients as flat vectors of mbt_model_flat_size floats
 * (same order, the same on every device), in the model's device memory: for optimizers and all-reduce. */
float *mbt_model_flat_params(mbt_model *model);
float *mbt_model_flat_grads(mbt_model *model);
size_t mbt_model_flat_size(const mbt_model *model);
/* Floating-point operations of one image's forward pass (convolutions and linear layers, 2 per
 * multiply-add); a training pass costs about three times as much. */
double mbt_model_forward_flops(const mbt_model *model);
/* Bytes of activation memory planned. */
size_t mbt_model_activation_bytes(const mbt_model *model);

/* Call after the parameters in the model's device memory change (an optimizer step on the flat
 * vector) and before the next forward: refreshes the ops' copies of the weights. On the CPU, where
 * the entries are that memory, this is also what to call after writing mbt_param.data. */
mbt_status mbt_model_sync_params(mbt_model *model);
/* CUDA: uploads the host copy of the parameters and running statistics (what was written through
 * mbt_param.data: a loaded checkpoint, a state_dict) to the device, then mbt_model_sync_params.
 * CPU: mbt_model_sync_params. Synchronous. */
mbt_status mbt_model_params_to_device(mbt_model *model);
/* CUDA: downloads the parameters, running statistics and (training model) gradients into the host
 * copy that mbt_param.data/.grad point to, after all queued work. CPU: nothing. Synchronous. */
mbt_status mbt_model_params_to_host(mbt_model *model);
mbt_status mbt_model_zero_grads(mbt_model *model);

/* Training forward of `batch` NCHW images x on a slot. x must stay unchanged until the slot's
 * backward. *feature receives the backbone features [batch, emb] (not normalised) and *out the
 * projector output [batch, feature_dim] (normalised if cfg.normalize_output); both stay valid
 * until the slot is reused. Either may be NULL. */
mbt_status mbt_model_forward_train(mbt_model *model, int slot, const float *x, const float **feature, const float **out);
/* Backward of a slot's forward from dout = dL/d(out) [batch, feature_dim] (and optionally
 * dfeature = dL/d(feature), may be NULL); accumulates into the parameter gradients. */
mbt_status mbt_model_backward(mbt_model *model, int slot, const float *dout, const float *dfeature);

/* Evaluation forward (running BN statistics) of n <= batch NCHW images. feature [n, emb] receives
 * L2-normalised backbone features, out [n, feature_dim] the projector output (each may be NULL).
 * Uses slot 0's activation memory. x, feature and out are the model's device memory (on CUDA the
 * results are queued: read them with a synchronous copy, e.g. mbt_device_to_host). */
mbt_status mbt_model_forward_eval(mbt_model *model, int n, const float *x, float *feature, float *out);
/* The same with feature [n, emb] receiving the backbone features as they are (not normalised), as the
 * reference's linear probe and transfer evaluation feed their classifier. */
mbt_status mbt_model_forward_eval_raw(mbt_model *model, int n, const float *x, float *feature, float *out);

#endif
