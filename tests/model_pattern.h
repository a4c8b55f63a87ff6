/* The deterministic values the PyTorch fixture scripts also use (tools/make_model_fixtures.py,
 * tools/make_step_fixtures.py), so that no weights need to be stored in fixtures. */
#ifndef MBT_TEST_MODEL_PATTERN_H
#define MBT_TEST_MODEL_PATTERN_H

#include <stdint.h>

#include "models/model.h"

/* splitmix64 finaliser of i*G + tag*H, top 53 bits, in [-1, 1). */
double pattern(int64_t tag, int64_t i);
/* Sets every state_dict entry t of the model from pattern(t, .), scaled per kind (the scripts'
 * set_params); last_bn ("bn2" ResNet-18, "bn3" ResNet-50) names the block-final BN whose gamma starts small. */
void pattern_set_params(mbt_model *m, const char *last_bn);
/* The same for one entry, the t-th of its module's state_dict (e.g. a head's, models/mlp_head.h). */
void pattern_set_param(mbt_param *p, size_t t, const char *last_bn);

#endif
