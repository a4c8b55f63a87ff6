/* Deterministic parameter and input values shared with the PyTorch fixture scripts. */
#include "model_pattern.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double pattern(int64_t tag, int64_t i) {
    uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull + (uint64_t)tag * 0xD1B54A32D192ED03ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

void pattern_set_param(mbt_param *p, size_t t, const char *last_bn) {
    char last_gamma[32];
    snprintf(last_gamma, sizeof last_gamma, ".%s.weight", last_bn);
    if (p->kind == MBT_PARAM_COUNTER) {
        *p->counter = 0;
        return;
    }
    size_t fan_in = p->ndim > 1 ? p->numel / (size_t)p->shape[0] : 1;
    for (size_t i = 0; i < p->numel; i++) {
        double v = pattern((int64_t)t, (int64_t)i), val;
        if (ends_with(p->name, ".running_var")) val = 1.0 + 0.5 * (v + 1.0) / 2.0;
        else if (ends_with(p->name, ".running_mean") || (p->ndim == 1 && ends_with(p->name, ".bias"))) val = 0.1 * v;
        else if (p->ndim == 1 && ends_with(p->name, last_gamma)) val = 0.2 + 0.02 * v;
        else if (p->ndim == 1) val = 1.0 + 0.1 * v;
        else val = v * sqrt(6.0 / (double)fan_in);
        p->data[i] = (float)val;
    }
}

void pattern_set_params(mbt_model *m, const char *last_bn) {
    for (size_t t = 0; t < mbt_model_param_count(m); t++) pattern_set_param(mbt_model_param(m, t), t, last_bn);
}
