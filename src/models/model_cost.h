/* What a model costs: parameters and multiply-adds per image of its parts, counted from the layer shapes
 * without allocating the model, in thop's convention for convolutions and linear layers (its count_convNd:
 * output elements x (input channels x kernel height x kernel width, + 1 with a bias); count_linear:
 * output elements x in_features, bias not counted). Batch norm, ReLU, pooling and the residual additions
 * are not counted (under 1% of a ResNet's total; thop's profile adds them with version-dependent rules). */
#ifndef MBT_MODEL_COST_H
#define MBT_MODEL_COST_H

#include "models/mlp_head.h"
#include "models/model.h"

typedef struct {
    double params; /* trainable parameters (BN scale and shift included; running statistics not) */
    double macs;   /* multiply-adds of one image's forward pass */
} mbt_cost_part;

typedef struct {
    mbt_cost_part backbone;  /* stem, layer1..layer4 (the average pooling adds no multiply-adds) */
    mbt_cost_part projector; /* the Linear layers and their BN (zero for a backbone alone) */
} mbt_model_cost;

mbt_status mbt_model_cost_of(const mbt_model_config *cfg, mbt_model_cost *cost);

/* The same for a baseline's head (models/mlp_head.h): its Linear layers (weights and biases, the bias not
 * counted in multiply-adds as thop's count_linear) and their batch norms. */
mbt_status mbt_head_cost_of(const mbt_head_config *cfg, mbt_cost_part *cost);

#endif
