/* The baselines' heads (models/mlp_head.h) against float64 PyTorch (tools/make_head_fixtures.py): ssl-sota's
 * make_head, the same with SimCLR's bn_last, BYOL's predictor, a single Linear and a head without BN; two
 * training forwards of 10 and 7 rows on two slots, backward, running statistics, evaluation, and the
 * state_dict names and order. Then the gradients against central differences of a double-precision
 * implementation, PyTorch's initialisation, and argument errors.
 *
 * Tolerances (float32 against float64). Every value v of a tensor T: |v - ref| <= 1e-5 * max|T_ref|, the
 * tensor's scale: a few dozen float32 roundings (eps 6e-8) on sums of at most 32 terms and a BN over 7 to 10
 * rows, with a margin of ~10x. A Linear bias gradient is a sum over rows of the output gradient, which a
 * following BN makes cancel to zero analytically (ssl-sota's head.0.bias): its rounding error is bounded
 * by the terms, not by the result, so those entries are allowed 2^-17 (64 eps) times the sum of |terms|
 * (PyTorch's l1: value) on top. Counters are exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/runtime.h"
#include "fixture.h"
#include "model_pattern.h"
#include "models/mlp_head.h"

#define RTOL 1e-5
#define L1_TOL (1.0 / 131072.0) /* 2^-17 = 64 float32 eps, per unit of the sum of |terms| */
#define ROWS 10

static const int n_rows[2] = {10, 7};
static double worst_pytorch, worst_fd; /* the largest error seen, as a fraction of its tolerance */

static mbt_head_config case_config(const char *name) {
    mbt_head_config c;
    if (!strcmp(name, "pred")) {
        CHECK_OK(mbt_head_config_sslsota(12, 20, 2, 12, "pred.", &c));
    } else {
        int layers = !strcmp(name, "linear") ? 1 : !strcmp(name, "nobn") ? 3 : 2;
        CHECK_OK(mbt_head_config_sslsota(32, 20, layers, 12, "head.", &c));
    }
    if (!strcmp(name, "nobn")) c.hidden_bn = 0;
    if (!strcmp(name, "simclr")) {
        c.out_bn = 1;
        strcpy(c.out_bn_prefix, "bn_last.");
    }
    return c;
}

/* |a - b| <= RTOL * max|b| (+ L1_TOL * l1[i] when given) for each of n values. */
static void check_tensor(const char *label, const float *a, const fixture_file *fx, const char *key, size_t n,
                         const fixture_array *l1) {
    const fixture_array *ref = fixture_get(fx, key);
    CHECK_MSG(ref && ref->numel == n, "%s: fixture %s missing or of size %zu, not %zu", label, key, ref ? ref->numel : 0, n);
    if (!ref || ref->numel != n) return;
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref->data[i]));
    long bad = 0, worst = -1;
    double worst_v = 0;
    for (size_t i = 0; i < n; i++) {
        double tol = RTOL * scale + (l1 ? L1_TOL * l1->data[i] : 0), v = fabs(a[i] - ref->data[i]) / tol;
        if (!(v <= 1)) bad++;
        if (!(v <= worst_v)) worst_v = v, worst = (long)i;
    }
    if (worst_v > worst_pytorch) worst_pytorch = worst_v;
    CHECK_MSG(bad == 0, "%s: %s: %ld of %zu values off; worst [%ld] = %.9g, PyTorch %.9g (%.3g x tolerance)", label,
              key, bad, n, worst, worst >= 0 ? a[worst] : 0.0, worst >= 0 ? ref->data[worst] : 0.0, worst_v);
}

static float *pattern_floats(int64_t tag, size_t n) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (float)pattern(tag, (int64_t)i);
    return v;
}

static void set_pattern_params(mbt_head *h) {
    for (size_t t = 0; t < mbt_head_param_count(h); t++) pattern_set_param(mbt_head_param(h, t), t, "no-such-bn");
    CHECK_OK(mbt_head_params_to_device(h));
}

/* The state_dict keys and sizes, in order, are PyTorch's own. */
static void check_names(const char *name, mbt_head *h, const fixture_file *fx) {
    char key[64];
    snprintf(key, sizeof key, "%s/names", name);
    const fixture_array *ref = fixture_get(fx, key);
    snprintf(key, sizeof key, "%s/numels", name);
    const fixture_array *numels = fixture_get(fx, key);
    if (!ref || !numels) return;
    char joined[4096] = "", expect[4096];
    size_t len = ref->numel < sizeof expect ? ref->numel : sizeof expect - 1;
    for (size_t i = 0; i < len; i++) expect[i] = (char)ref->data[i];
    expect[len] = 0;
    for (size_t t = 0; t < mbt_head_param_count(h); t++) {
        if (t) strcat(joined, "\n");
        strcat(joined, mbt_head_param(h, t)->name);
    }
    CHECK_MSG(!strcmp(joined, expect), "%s: state_dict keys\n%s\nPyTorch's\n%s", name, joined, expect);
    CHECK_MSG(numels->numel == mbt_head_param_count(h), "%s: %zu entries, PyTorch %zu", name, mbt_head_param_count(h),
              numels->numel);
    size_t weights = 0, buffers = 0;
    for (size_t t = 0; t < mbt_head_param_count(h) && t < numels->numel; t++) {
        mbt_param *p = mbt_head_param(h, t);
        CHECK_MSG(p->numel == (size_t)numels->data[t], "%s: %s has %zu values, PyTorch %g", name, p->name, p->numel,
                  numels->data[t]);
        if (p->kind == MBT_PARAM_WEIGHT) weights += p->numel;
        if (p->kind == MBT_PARAM_BUFFER) buffers += p->numel;
    }
    /* the flat vectors hold every entry (each 64-byte aligned, so padding may follow one) */
    CHECK(mbt_head_flat_size(h) >= weights && mbt_head_flat_size(h) < weights + 16 * mbt_head_param_count(h));
    CHECK(mbt_head_buffer_size(h) >= buffers && mbt_head_buffer_size(h) < buffers + 16 * mbt_head_param_count(h));
}

static void run_case(const char *name, const fixture_file *fx) {
    mbt_head_config cfg = case_config(name);
    mbt_head *h = NULL;
    if (!CHECK_OK(mbt_head_create(&h, &cfg, ROWS, 2, 1, MBT_DEVICE_CPU))) return;
    check_names(name, h, fx);
    set_pattern_params(h);
    CHECK_OK(mbt_head_zero_grads(h));
    int in = cfg.in_dim, out = cfg.out_dim;
    float *x[2], *dout[2], *dx = malloc((size_t)ROWS * in * sizeof(float));
    char key[160];
    for (int s = 0; s < 2; s++) {
        const float *y = NULL;
        x[s] = pattern_floats(100 + s, (size_t)n_rows[s] * in);
        dout[s] = pattern_floats(200 + s, (size_t)n_rows[s] * out);
        CHECK_OK(mbt_head_forward_train(h, s, n_rows[s], x[s], &y));
        snprintf(key, sizeof key, "%s/out%d", name, s);
        if (y) check_tensor(name, y, fx, key, (size_t)n_rows[s] * out, NULL);
    }
    for (int s = 1; s >= 0; s--) {
        CHECK_OK(mbt_head_backward(h, s, dout[s], dx));
        snprintf(key, sizeof key, "%s/dx%d", name, s);
        check_tensor(name, dx, fx, key, (size_t)n_rows[s] * in, NULL);
    }
    CHECK_OK(mbt_head_params_to_host(h));
    for (size_t t = 0; t < mbt_head_param_count(h); t++) {
        mbt_param *p = mbt_head_param(h, t);
        if (p->kind == MBT_PARAM_COUNTER) {
            snprintf(key, sizeof key, "%s/count:%s", name, p->name);
            CHECK_MSG((double)*p->counter == fixture_scalar(fx, key), "%s: %s = %lld, PyTorch %g", name, p->name,
                      (long long)*p->counter, fixture_scalar(fx, key));
            continue;
        }
        snprintf(key, sizeof key, "%s/l1:%s", name, p->name);
        const fixture_array *l1 = NULL;
        if (p->kind == MBT_PARAM_WEIGHT && p->ndim == 1 && strstr(p->name, ".bias") && !strstr(p->name, "bn_last")) {
            int is_linear = 0; /* a Linear's bias, not a BN's: PyTorch has its l1 */
            for (size_t k = 0; k < fx->count; k++) is_linear |= !strcmp(fx->arrays[k].name, key);
            if (is_linear) l1 = fixture_get(fx, key);
        }
        snprintf(key, sizeof key, "%s/%s:%s", name, p->kind == MBT_PARAM_WEIGHT ? "grad" : "buf", p->name);
        check_tensor(name, p->kind == MBT_PARAM_WEIGHT ? p->grad : p->data, fx, key, p->numel, l1);
    }
    float *y = malloc((size_t)ROWS * out * sizeof(float)), *part = malloc((size_t)ROWS * out * sizeof(float));
    CHECK_OK(mbt_head_forward_eval(h, ROWS, x[0], y));
    snprintf(key, sizeof key, "%s/eval_out", name);
    check_tensor(name, y, fx, key, (size_t)ROWS * out, NULL);
    /* an evaluation of fewer rows gives the same rows (running statistics: rows are independent) */
    CHECK_OK(mbt_head_forward_eval(h, 4, x[0], part));
    for (int i = 0; i < 4 * out; i++) CHECK_CLOSE(part[i], y[i], 1e-6, 1e-6);
    free(y);
    free(part);
    free(dx);
    for (int s = 0; s < 2; s++) {
        free(x[s]);
        free(dout[s]);
    }
    mbt_head_destroy(h);
}

/* ---- gradients against central differences of a double-precision head ---------------------- */

/* L = sum(dout * head(x)) in training mode (batch statistics), parameters theta in state_dict order
 * (per layer: weight, bias, [gamma, beta]). */
static double ref_loss(const mbt_head_config *c, const double *theta, int n, const double *x, const double *dout) {
    static double buf[2][ROWS * 64];
    const double *h = x;
    int in = c->in_dim;
    for (int j = 0; j <= c->n_hidden; j++) {
        int last = j == c->n_hidden, out = last ? c->out_dim : c->hidden[j], bn = last ? c->out_bn : c->hidden_bn;
        const double *w = theta, *b = w + (size_t)out * in;
        theta = b + out;
        double *y = buf[j % 2];
        for (int r = 0; r < n; r++)
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) s += h[r * in + i] * w[o * in + i];
                y[r * out + o] = s;
            }
        if (bn) {
            const double *gamma = theta, *beta = theta + out;
            theta += 2 * out;
            for (int o = 0; o < out; o++) {
                double m = 0, v = 0;
                for (int r = 0; r < n; r++) m += y[r * out + o] / n;
                for (int r = 0; r < n; r++) v += (y[r * out + o] - m) * (y[r * out + o] - m) / n;
                for (int r = 0; r < n; r++) y[r * out + o] = (y[r * out + o] - m) / sqrt(v + 1e-5) * gamma[o] + beta[o];
            }
        }
        if (!last)
            for (int k = 0; k < n * out; k++) y[k] = y[k] > 0 ? y[k] : 0;
        h = y;
        in = out;
    }
    double loss = 0;
    for (int k = 0; k < n * c->out_dim; k++) loss += dout[k] * h[k];
    return loss;
}

static void check_finite_differences(const char *name) {
    mbt_head_config cfg = case_config(name);
    mbt_head *h = NULL;
    if (!CHECK_OK(mbt_head_create(&h, &cfg, ROWS, 1, 1, MBT_DEVICE_CPU))) return;
    set_pattern_params(h);
    CHECK_OK(mbt_head_zero_grads(h));
    int n = 8, in = cfg.in_dim, out = cfg.out_dim;
    float *x = pattern_floats(300, (size_t)n * in), *dout = pattern_floats(301, (size_t)n * out);
    float *dx = malloc((size_t)n * in * sizeof(float));
    CHECK_OK(mbt_head_forward_train(h, 0, n, x, NULL));
    CHECK_OK(mbt_head_backward(h, 0, dout, dx));
    size_t np = 0;
    for (size_t t = 0; t < mbt_head_param_count(h); t++)
        if (mbt_head_param(h, t)->kind == MBT_PARAM_WEIGHT) np += mbt_head_param(h, t)->numel;
    double *theta = malloc(np * sizeof(double)), *grad = malloc(np * sizeof(double));
    double *xd = malloc((size_t)n * in * sizeof(double)), *dd = malloc((size_t)n * out * sizeof(double));
    for (size_t t = 0, at = 0; t < mbt_head_param_count(h); t++) { /* the weights in state_dict order */
        mbt_param *p = mbt_head_param(h, t);
        for (size_t i = 0; p->kind == MBT_PARAM_WEIGHT && i < p->numel; i++, at++) {
            theta[at] = p->data[i];
            grad[at] = p->grad[i];
        }
    }
    for (int k = 0; k < n * in; k++) xd[k] = x[k];
    for (int k = 0; k < n * out; k++) dd[k] = dout[k];
    /* 60 parameters spread over the vector and 20 inputs; step 1e-5: truncation ~1e-10, rounding ~1e-11 */
    enum { NP = 60, NX = 20 };
    double fd[NP + NX], got[NP + NX], scale_p = 0, scale_x = 0, step = 1e-5;
    for (int s = 0; s < NP + NX; s++) {
        int param = s < NP;
        size_t k = param ? (size_t)s * (np - 1) / (NP - 1) : (size_t)(s - NP) * (size_t)(n * in - 1) / (NX - 1);
        double *v = param ? &theta[k] : &xd[k], keep = *v;
        *v = keep + step;
        double lp = ref_loss(&cfg, theta, n, xd, dd);
        *v = keep - step;
        double lm = ref_loss(&cfg, theta, n, xd, dd);
        *v = keep;
        fd[s] = (lp - lm) / (2 * step);
        got[s] = param ? grad[k] : dx[k];
        if (param) scale_p = fmax(scale_p, fabs(fd[s]));
        else scale_x = fmax(scale_x, fabs(fd[s]));
    }
    /* float32 against double: 1e-4 of the largest sampled gradient (the float32 error is ~1e-6 of it) */
    for (int s = 0; s < NP + NX; s++) {
        worst_fd = fmax(worst_fd, fabs(got[s] - fd[s]) / (1e-4 * (s < NP ? scale_p : scale_x)));
        CHECK_MSG(fabs(got[s] - fd[s]) <= 1e-4 * (s < NP ? scale_p : scale_x), "%s: gradient %s sample %d = %.9g, "
                  "central difference %.9g", name, s < NP ? "parameter" : "input", s, got[s], fd[s]);
    }
    free(theta);
    free(grad);
    free(xd);
    free(dd);
    free(x);
    free(dout);
    free(dx);
    mbt_head_destroy(h);
}

/* ---- initialisation and arguments ------------------------------------------------------------ */

static void check_init(void) {
    mbt_head_config cfg = case_config("simclr");
    mbt_head *a = NULL, *b = NULL, *c = NULL;
    if (!CHECK_OK(mbt_head_create(&a, &cfg, ROWS, 1, 1, MBT_DEVICE_CPU))) return;
    CHECK_OK(mbt_head_create(&b, &cfg, ROWS, 1, 0, MBT_DEVICE_CPU));
    CHECK_OK(mbt_head_create(&c, &cfg, ROWS, 1, 0, MBT_DEVICE_CPU));
    if (!b || !c) return;
    CHECK_OK(mbt_head_init_params(a, 7, 1));
    CHECK_OK(mbt_head_init_params(b, 7, 1));
    CHECK_OK(mbt_head_init_params(c, 7, 2));
    size_t n = mbt_head_flat_size(a);
    CHECK(!memcmp(mbt_head_flat_params(a), mbt_head_flat_params(b), n * sizeof(float)));
    CHECK(memcmp(mbt_head_flat_params(a), mbt_head_flat_params(c), n * sizeof(float)) != 0);
    int in = cfg.in_dim;
    for (size_t t = 0; t < mbt_head_param_count(a); t++) {
        mbt_param *p = mbt_head_param(a, t);
        int linear = strstr(p->name, "head.") == p->name; /* head.0.* and head.3.* are Linear, head.1.* BN */
        if (linear && strstr(p->name, "head.1.")) linear = 0;
        double lo = 1e9, hi = -1e9;
        for (size_t i = 0; p->data && i < p->numel; i++) lo = fmin(lo, p->data[i]), hi = fmax(hi, p->data[i]);
        if (p->kind == MBT_PARAM_COUNTER) {
            CHECK(*p->counter == 0);
        } else if (linear) { /* U(+-1/sqrt(fan_in)), spread over most of the interval */
            double bound = 1.0 / sqrt(strstr(p->name, "head.0.") ? in : cfg.hidden[0]);
            CHECK_MSG(lo >= -bound && hi <= bound && hi - lo > bound, "%s in [%g, %g], bound %g", p->name, lo, hi, bound);
        } else {
            double want = strstr(p->name, "weight") || strstr(p->name, "running_var") ? 1.0 : 0.0;
            CHECK_MSG(lo == want && hi == want, "%s in [%g, %g], expected %g", p->name, lo, hi, want);
        }
    }
    CHECK(mbt_head_forward_macs(a) == 32.0 * 20 + 20.0 * 12);
    mbt_head_destroy(a);
    mbt_head_destroy(b);
    mbt_head_destroy(c);
}

static void check_arguments(void) {
    mbt_head_config cfg;
    CHECK(mbt_head_config_sslsota(32, 20, 0, 12, "head.", &cfg) == MBT_ERR_ARG);
    CHECK(mbt_head_config_sslsota(32, 20, MBT_HEAD_MAX_HIDDEN + 2, 12, "head.", &cfg) == MBT_ERR_ARG);
    CHECK(mbt_head_config_sslsota(32, 20, 2, 12, "a-prefix-far-too-long-for-the-name-field.", &cfg) == MBT_ERR_ARG);
    cfg = case_config("sslsota");
    mbt_head *h = NULL;
    CHECK(mbt_head_create(&h, &cfg, 1, 1, 1, MBT_DEVICE_CPU) == MBT_ERR_ARG);
    if (!CHECK_OK(mbt_head_create(&h, &cfg, ROWS, 1, 1, MBT_DEVICE_CPU))) return;
    float *x = pattern_floats(5, (size_t)(ROWS + 1) * cfg.in_dim), *y = malloc((size_t)ROWS * cfg.out_dim * sizeof(float));
    CHECK(mbt_head_forward_train(h, 0, 1, x, NULL) == MBT_ERR_ARG);
    CHECK(mbt_head_forward_train(h, 0, ROWS + 1, x, NULL) == MBT_ERR_ARG);
    CHECK(mbt_head_forward_train(h, 1, 4, x, NULL) == MBT_ERR_ARG);
    CHECK(mbt_head_backward(h, 0, y, NULL) == MBT_ERR_ARG); /* no forward */
    CHECK(mbt_head_forward_eval(h, ROWS + 1, x, y) == MBT_ERR_ARG);
    /* a slot's batch size may change from call to call: the result equals a fresh head's */
    const float *o = NULL;
    set_pattern_params(h);
    CHECK_OK(mbt_head_forward_train(h, 0, 4, x, &o));
    CHECK_OK(mbt_head_forward_train(h, 0, 6, x, &o));
    mbt_head *fresh = NULL;
    CHECK_OK(mbt_head_create(&fresh, &cfg, ROWS, 1, 1, MBT_DEVICE_CPU));
    set_pattern_params(fresh);
    const float *of = NULL;
    CHECK_OK(mbt_head_forward_train(fresh, 0, 6, x, &of));
    CHECK(o && of && !memcmp(o, of, (size_t)6 * cfg.out_dim * sizeof(float)));
    mbt_head_destroy(fresh);
    mbt_head_destroy(h);
    free(x);
    free(y);
}

int main(void) {
    mbt_set_threads(2);
    fixture_file fx;
    if (fixture_load(&fx, "head_cases.bin") != 0) {
        CHECK_MSG(0, "cannot load head_cases.bin");
        return check_report("test_mlp_head");
    }
    const char *cases[] = {"sslsota", "simclr", "pred", "linear", "nobn"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_case(cases[i], &fx);
        check_finite_differences(cases[i]);
    }
    fixture_free(&fx);
    printf("worst error / tolerance: %.3g against PyTorch, %.3g against central differences\n", worst_pytorch, worst_fd);
    check_init();
    check_arguments();
    return check_report("test_mlp_head");
}
