/* Pretrained encoders for evaluation: a checkpoint (mixbt safetensors, or a PyTorch .pth) is read, its
 * layout and architecture worked out, and loaded by name into a model.
 *
 * Layouts accepted: the reference's small-data Model (f.* backbone, g.* projector), the ImageNet Barlow
 * Twins model (backbone.* torchvision names, projector.<i>; 224-px stem), and a bare torchvision ResNet
 * state dict (conv1.*, layer*.*, fc.* ignored: read as the ImageNet backbone for a 7x7 conv1, as the
 * small-data backbone with the 32-px stem for a 3x3 one). In a .pth they may be nested under
 * 'state_dict' / 'model' / 'model_state_dict' or another single dict of tensors, with
 * DistributedDataParallel's 'module.' prefix on every name, and with extra entries (a linear probe's
 * fc.*, ...) that are ignored and listed. The architecture comes from (highest first) the caller's
 * override, the "mixbt.config" metadata of a mixbt checkpoint (arch, feature_dim, image_size when
 * present), then the tensors themselves: the stem (f.3 is layer1: CIFAR stem, 32 px; f.4: the 64-px
 * stem with max pooling; backbone.*: 224 px), bottleneck blocks (conv3: ResNet-50) and the projector's
 * Linear layers. Every backbone entry must be present with its shape; the projector only when the
 * caller needs the head. */
#ifndef MBT_EVALUATE_MODEL_H
#define MBT_EVALUATE_MODEL_H

#include <stdio.h>

#include "core/status.h"
#include "models/model.h"

typedef struct {
    const char *checkpoint; /* .safetensors (any, mixbt's with its config) or .pth / .pt */
    const char *arch;       /* "resnet18" / "resnet50" to override, NULL: from the checkpoint */
    int batch;              /* images per forward call */
    int training;           /* build for training-mode (batch-statistics) forwards too */
    int need_head;          /* the projector must be in the checkpoint */
} mbt_eval_model_options;

typedef struct {
    mbt_model_config config;  /* the model built */
    char dataset[32];         /* the pretraining dataset named by a mixbt checkpoint ("" if unknown) */
    char format[24];          /* "safetensors" or "PyTorch .pth" */
    int has_config;           /* the checkpoint carried mixbt's configuration */
    int head_loaded;          /* the projector's entries were all present and loaded */
    size_t n_loaded;          /* entries loaded */
    size_t n_ignored;         /* checkpoint entries the model has no place for */
} mbt_eval_model_info;

/* Reads opt->checkpoint, builds the model (CPU) and loads it. On success *model is ready for
 * mbt_model_forward_eval (and mbt_model_forward_train when opt->training). Notes about ignored
 * entries go to log (may be NULL). Errors (one line, naming the file): unreadable file, none of the
 * layouts above, or entries
 * that do not fit the architecture: "N missing (first names), M of another shape (name: checkpoint
 * f32 [..], model float [..])". */
mbt_status mbt_eval_model_load(const mbt_eval_model_options *opt, mbt_model **model, mbt_eval_model_info *info,
                               FILE *log);

/* Prints a note to log (may be NULL) when the checkpoint names another pretraining dataset than the one
 * being evaluated (legitimate for transfer, a mistake otherwise). */
void mbt_eval_model_note_dataset(const mbt_eval_model_info *info, const char *dataset, FILE *log);

/* Copies every parameter, buffer and counter of src into dst (same configuration, any batch, any
 * device: read from src's state_dict entries, so a CUDA src needs mbt_model_params_to_host first). */
mbt_status mbt_eval_model_copy_state(mbt_model *dst, mbt_model *src);
/* Copies the BN running statistics and counters only (the state a training-mode forward changes). */
mbt_status mbt_eval_model_copy_buffers(mbt_model *dst, mbt_model *src);

#endif
