/* The baselines' learning-rate schedule (mbt_sched_sslsota_lr) against the lr that torch's schedulers set
 * when driven exactly as ssl-sota train.py drives them (tools/make_sslsota_fixtures.py): warm-up, step
 * (MultiStepLR), cos (CosineAnnealingWarmRestarts), none. Tolerance: 4e-16 relative, i.e. the value to a
 * couple of double ULPs: the C code evaluates Python's and torch's double expressions in their order with
 * the same libm (cos, log, pow, fmod), so the values are expected to be bit-identical; the count of
 * bit-identical values is printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "fixture.h"
#include "optim/schedule.h"

static void run_case(const fixture_file *f, int n, long *exact, long *total) {
    char key[64];
    snprintf(key, sizeof key, "sched_%d_cfg", n);
    const fixture_array *m = fixture_get(f, key);
    snprintf(key, sizeof key, "sched_%d_lr", n);
    const fixture_array *want = fixture_get(f, key);
    CHECK_MSG(m && want && m->numel >= 10, "fixture arrays of case %d", n);
    if (!m || !want || m->numel < 10) return;
    mbt_sslsota_sched c = mbt_sslsota_sched_defaults();
    c.lr = m->data[0];
    c.epochs = (int)m->data[1];
    c.warmup = (int)m->data[2];
    c.mode = (mbt_sslsota_lr_mode)(int)m->data[3];
    c.drop_gamma = m->data[4];
    c.t0 = (int)m->data[5];
    c.tmult = (int)m->data[6];
    c.eta_min = m->data[7];
    const int64_t iters = (int64_t)m->data[8];
    c.n_drop = (int)m->data[9];
    for (int j = 0; j < c.n_drop; j++) c.drop[j] = (int)m->data[10 + j];
    if (!CHECK_OK(mbt_sslsota_sched_check(&c))) return;
    CHECK_MSG((int64_t)want->numel == c.epochs * iters, "case %d: %zu steps", n, want->numel);
    int bad = 0;
    for (int ep = 0; ep < c.epochs; ep++)
        for (int64_t i = 0; i < iters; i++) {
            const int64_t k = ep * iters + i;
            if (k >= (int64_t)want->numel) break;
            const double got = mbt_sched_sslsota_lr(k, ep, i, iters, &c), ref = want->data[k];
            *exact += got == ref;
            ++*total;
            if (fabs(got - ref) > 4e-16 * fabs(ref) && bad++ < 5)
                CHECK_MSG(0, "case %d (mode %d, warm-up %d): step %lld (epoch %d, batch %lld) lr %.17g, torch %.17g", n,
                          (int)c.mode, c.warmup, (long long)k, ep, (long long)i, got, ref);
        }
    CHECK_MSG(bad == 0, "case %d: %d steps differ from torch", n, bad);
}

static void defaults_and_checks(void) {
    mbt_sslsota_sched c = mbt_sslsota_sched_defaults();
    CHECK(c.lr == 1e-3 && c.epochs == 200 && c.warmup == 1 && c.mode == MBT_SSLSOTA_LR_STEP);
    CHECK(c.n_drop == 2 && c.drop[0] == 50 && c.drop[1] == 25 && c.drop_gamma == 0.2);
    CHECK(c.t0 == 0 && c.tmult == 1 && c.eta_min == 0.0);
    CHECK_OK(mbt_sslsota_sched_check(&c));
    /* the warm-up agrees with mbt_sched_warmup_factor: lr * factor */
    for (int64_t k = 0; k < 600; k += 7)
        CHECK(mbt_sched_sslsota_lr(k, (int)(k / 97), k % 97, 97, &c) == c.lr * mbt_sched_warmup_factor(k, 500));
    mbt_sslsota_sched b = c;
    b.tmult = 0;
    CHECK(mbt_sslsota_sched_check(&b) == MBT_ERR_ARG);
    b = c;
    b.n_drop = MBT_SSLSOTA_MAX_DROPS + 1;
    CHECK(mbt_sslsota_sched_check(&b) == MBT_ERR_ARG);
    b = c;
    b.epochs = 0;
    CHECK(mbt_sslsota_sched_check(&b) == MBT_ERR_ARG);
    b = c;
    b.mode = (mbt_sslsota_lr_mode)7;
    CHECK(mbt_sslsota_sched_check(&b) == MBT_ERR_ARG);
}

int main(void) {
    defaults_and_checks();
    fixture_file f;
    if (fixture_load(&f, "sslsota_schedules.bin")) {
        CHECK_MSG(0, "cannot load sslsota_schedules.bin");
        return check_report("test_sslsota_schedule");
    }
    const int cases = (int)fixture_scalar(&f, "sched_count");
    CHECK(cases >= 10);
    long exact = 0, total = 0;
    for (int n = 0; n < cases; n++) run_case(&f, n, &exact, &total);
    printf("sslsota schedules: %ld of %ld learning rates bit-identical to torch\n", exact, total);
    fixture_free(&f);
    return check_report("test_sslsota_schedule");
}
