/* Step parity of the ssl-sota baselines with PyTorch: one SimCLR, BYOL and W-MSE (2 and 4 views) step
 * through the method interface (tasks/method.h, tasks/ssl_step.c) on a ResNet-18 at 32 px, every
 * state_dict entry from the deterministic pattern, against SSLMethod.forward of the reference run in
 * float64 (tools/make_ssl_step_fixtures.py). Compares the loss, every parameter's gradient (norm, sum,
 * sampled entries), every BN running statistic after the step's forwards (the BYOL target's included, as
 * it runs in training mode), and BYOL's target after the EMA of the after-update hook. The entries are
 * looked up by name, so the checkpoint names and their order (the count) are checked too.
 *
 * Tolerances: a quantity may differ from float64 PyTorch by max(1e-4, 8 sens) relative (norms; sums
 * relative to norm * sqrt(numel); samples relative to the tensor's rms), where sens is the error of
 * PyTorch's own float32 run of the same step (stored per tensor). 8 rather than 4 (test_step_parity):
 * the heads' BN over 8 rows and NT-Xent's exponentials amplify float32 rounding unevenly across
 * implementations. A gradient that is exactly zero (a bias followed by BN or whitening: head.0.bias,
 * pred.0.bias, float64 norm < 1e-12) is float32 rounding noise on both sides: its norm must stay below 1e-5. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/runtime.h"
#include "fixture.h"
#include "model_pattern.h"
#include "tasks/method.h"

#define SIZE 32
#define SAMPLES 6
#define RTOL 1e-4
#define SENS_FACTOR 8
#define ZERO_GRAD 1e-5
#define EPOCH 3
#define EPOCHS 10

typedef struct {
    const char *name;
    mbt_method_kind kind;
    int batch, views, emb, head, w_size, w_iter;
} ssl_case;

static const ssl_case CASES[] = {
    {"simclr", MBT_METHOD_SIMCLR, 8, 2, 16, 32, 0, 1},
    {"byol", MBT_METHOD_BYOL, 8, 2, 16, 32, 0, 1},
    {"wmse", MBT_METHOD_WMSE, 16, 2, 4, 32, 8, 2},
    {"wmse4", MBT_METHOD_WMSE, 16, 4, 4, 32, 8, 1},
};

/* The script's sample_index: SAMPLES indices of entry t from pattern(70000 + t). */
static size_t sample_index(size_t t, int k, size_t numel) {
    return (size_t)((pattern(70000 + (int64_t)t, k) + 1.0) / 2.0 * (double)numel) % numel;
}

static double tol_of(double sens) { return fmax(RTOL, SENS_FACTOR * sens); }

/* Norm and samples of v [numel] against ref = [norm, (sum,) samples..., sens]. */
static void check_values(const char *what, const char *name, size_t t, const float *v, size_t numel,
                         const fixture_array *ref, int has_sum) {
    const double *r = ref->data;
    double tol = tol_of(r[ref->numel - 1]), norm = 0, sum = 0;
    for (size_t i = 0; i < numel; i++) {
        norm += (double)v[i] * v[i];
        sum += v[i];
    }
    norm = sqrt(norm);
    double ref_norm = r[0], rms = ref_norm / sqrt((double)numel);
    if (has_sum && ref_norm < 1e-12) { /* an exactly zero gradient: rounding noise only */
        CHECK_MSG(norm <= ZERO_GRAD, "%s %s: norm %.3g of a gradient that is exactly zero", what, name, norm);
        return;
    }
    CHECK_MSG(fabs(norm - ref_norm) <= tol * ref_norm, "%s %s: norm %.9g, PyTorch %.9g (tol %.2g)", what, name, norm,
              ref_norm, tol);
    if (has_sum)
        CHECK_MSG(fabs(sum - r[1]) <= tol * ref_norm * sqrt((double)numel), "%s %s: sum %.9g, PyTorch %.9g (tol %.2g)",
                  what, name, sum, r[1], tol);
    for (int k = 0; k < SAMPLES; k++) {
        size_t i = sample_index(t, k, numel);
        double want = r[1 + has_sum + k];
        CHECK_MSG(fabs(v[i] - want) <= tol * rms, "%s %s[%zu]: %.9g, PyTorch %.9g (tol %.2g of rms %.3g)", what, name, i,
                  v[i], want, tol, rms);
    }
}

static const fixture_array *entry_ref(const fixture_file *fx, const char *c, const char *kind, const char *name) {
    char key[256];
    snprintf(key, sizeof key, "%s/%s:%s", c, kind, name);
    return fixture_get(fx, key);
}

static void run_case(const fixture_file *fx, const ssl_case *k) {
    mbt_method_config cfg;
    mbt_method_config_defaults(&cfg);
    cfg.kind = k->kind;
    cfg.batch = k->batch;
    cfg.n_views = k->views;
    cfg.emb = k->emb;
    cfg.head_size = k->head;
    cfg.w_size = k->w_size;
    cfg.w_iter = k->w_iter;
    cfg.w_eps = 1e-2;
    mbt_method *m;
    if (!CHECK_OK(mbt_method_create(&m, &cfg, MBT_DEVICE_CPU, MBT_PRECISION_FP32))) return;
    char key[256];
    snprintf(key, sizeof key, "%s/entries", k->name);
    CHECK_MSG((double)m->n_entries == fixture_scalar(fx, key), "%s: %zu state_dict entries, PyTorch %g", k->name,
              m->n_entries, fixture_scalar(fx, key));
    for (size_t t = 0; t < m->n_entries; t++) pattern_set_param(m->entries[t], t, "bn2");
    CHECK_OK(mbt_method_params_to_device(m));

    size_t numel = (size_t)k->batch * 3 * SIZE * SIZE;
    float *x = malloc((size_t)k->views * numel * sizeof(float));
    int32_t *groups = malloc((size_t)k->w_iter * k->batch * sizeof(int32_t));
    const float *views[MBT_METHOD_MAX_VIEWS];
    for (int v = 0; v < k->views; v++) {
        for (size_t i = 0; i < numel; i++) x[(size_t)v * numel + i] = (float)pattern(1000 + v, (int64_t)i);
        views[v] = x + (size_t)v * numel;
    }
    snprintf(key, sizeof key, "%s/perms", k->name);
    const fixture_array *perms = fixture_get(fx, key);
    for (size_t i = 0; perms && i < perms->numel && i < (size_t)k->w_iter * k->batch; i++) groups[i] = (int32_t)perms->data[i];

    mbt_method_step_info info = {0, EPOCH, EPOCHS, groups};
    double loss = NAN;
    if (CHECK_OK(mbt_method_queue(m, views, &info)) && CHECK_OK(mbt_method_collect(m, &loss))) {
        snprintf(key, sizeof key, "%s/loss", k->name);
        double ref = fixture_scalar(fx, key);
        snprintf(key, sizeof key, "%s/loss_sens", k->name);
        double tol = fmax(1e-6, SENS_FACTOR * fixture_scalar(fx, key));
        CHECK_MSG(fabs(loss - ref) <= tol * fabs(ref), "%s: loss %.9g, PyTorch %.9g (tol %.2g)", k->name, loss, ref, tol);
        CHECK_OK(mbt_method_params_to_host(m));
        for (size_t t = 0; t < m->n_entries; t++) {
            mbt_param *p = m->entries[t];
            if (p->kind == MBT_PARAM_COUNTER) continue;
            int trainable = p->kind == MBT_PARAM_WEIGHT && strncmp(p->name, "model_t.", 8) && strncmp(p->name, "head_t.", 7);
            const fixture_array *ref_e = entry_ref(fx, k->name, trainable ? "g" : "b", p->name);
            CHECK_MSG(ref_e != NULL, "%s: entry %s not in PyTorch's state_dict", k->name, p->name);
            if (!ref_e) continue;
            snprintf(key, sizeof key, "%s %s", k->name, trainable ? "grad" : "buffer");
            check_values(key, p->name, t, trainable ? p->grad : p->data, p->numel, ref_e, trainable);
        }
    }
    if (k->kind == MBT_METHOD_BYOL && CHECK_OK(mbt_method_after_update(m, &info)) && CHECK_OK(mbt_method_params_to_host(m))) {
        int n = 0;
        for (size_t t = 0; t < m->n_entries; t++) {
            mbt_param *p = m->entries[t];
            if (p->kind == MBT_PARAM_COUNTER || (strncmp(p->name, "model_t.", 8) && strncmp(p->name, "head_t.", 7))) continue;
            const fixture_array *ref_e = entry_ref(fx, k->name, "t", p->name);
            if (!ref_e) continue;
            check_values("byol target after the EMA", p->name, t, p->data, p->numel, ref_e, 0);
            n++;
        }
        CHECK_MSG(n > 100, "byol: %d target entries compared", n);
    }
    free(x);
    free(groups);
    mbt_method_destroy(m);
}

int main(void) {
    mbt_set_threads(2);
    fixture_file fx;
    if (fixture_load(&fx, "ssl_step.bin")) return 1;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        int before = check_failures;
        run_case(&fx, &CASES[i]);
        printf("%s: %s\n", CASES[i].name, check_failures == before ? "ok" : "FAILED");
    }
    fixture_free(&fx);
    printf("test_ssl_step: %d checks, %d failed\n", check_count, check_failures);
    return check_failures != 0;
}
