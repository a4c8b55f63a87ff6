/* Help text that the evaluation commands (knn, linear, transfer, embed) share. */
#ifndef MBT_CLI_EVAL_HELP_H
#define MBT_CLI_EVAL_HELP_H

/* What mbt_eval_model_load (tasks/evaluate_model.h) reads; docs/EVALUATION.md "Checkpoints" has the details. */
#define EVAL_CHECKPOINT_HELP                                                                                        \
    "the encoder to evaluate (required): a mixbt .safetensors of any --method (a baseline's: its encoder), or a "  \
    ".pth/.safetensors of the reference's Model (f.*), its ImageNet model (backbone.*), a torchvision ResNet or "   \
    "an ssl-sota model (model.module.*)"

#endif
