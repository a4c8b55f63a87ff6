/* Tests of the core: plans, errors, the Philox generator and its distributions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/plan.h"
#include "core/rng.h"
#include "core/status.h"

static void test_plan(void) {
    struct { float *a, *b; void *c; } bufs;
    mbt_plan plan;
    mbt_plan_init(&plan, MBT_DEVICE_CPU);
    mbt_plan_floats(&plan, &bufs.a, 10);
    mbt_plan_floats(&plan, &bufs.b, 100);
    mbt_plan_bytes(&plan, &bufs.c, 3);
    CHECK(bufs.a == NULL);
    CHECK_OK(mbt_plan_commit(&plan));
    CHECK(bufs.a && bufs.b && bufs.c);
    CHECK(((uintptr_t)bufs.a % 64) == 0 && ((uintptr_t)bufs.b % 64) == 0 && ((uintptr_t)bufs.c % 64) == 0);
    CHECK((char *)bufs.b >= (char *)bufs.a + 10 * sizeof(float));
    CHECK(bufs.a[9] == 0.0f && bufs.b[99] == 0.0f);
    float *late = NULL;
    mbt_plan_floats(&plan, &late, 4); /* after commit: refused */
    CHECK(plan.deferred == MBT_ERR_ARG);
    mbt_plan_free(&plan);
    CHECK(bufs.a == NULL);
}

static void test_errors(void) {
    mbt_status s = MBT_FAIL(MBT_ERR_SHAPE, "conv2d: expected %d channels", 3);
    CHECK(s == MBT_ERR_SHAPE);
    CHECK(strcmp(mbt_error_message(), "conv2d: expected 3 channels") == 0);
    CHECK(strstr(mbt_error_origin(), "test_core.c:") != NULL);
}

static void test_philox(void) {
    /* Known-answer test vectors from the Random123 distribution (kat_vectors, philox4x32_10). */
    uint32_t out[4];
    mbt_philox4x32(0, 0, 0, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u);
    mbt_philox4x32(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull, out);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u && out[3] == 0x6d5451fdu);
    /* counter = (243f6a88 85a308d3 13198a2e 03707344), key = (a4093822 299f31d0) */
    mbt_philox4x32(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull, out);
    CHECK(out[0] == 0xd16cfe09u && out[1] == 0x94fdccebu && out[2] == 0x5001e420u && out[3] == 0x24126ea1u);
}

static void test_distributions(void) {
    mbt_rng rng;
    mbt_rng_init(&rng, 42, mbt_rng_stream_id(1, 2, 3, 0));
    double sum = 0, sum2 = 0, bsum = 0, bsum2 = 0;
    int n = 200000, below_counts[7] = {0};
    for (int i = 0; i < n; i++) {
        double u = mbt_rng_uniform(&rng);
        CHECK(u >= 0 && u < 1);
        double z = mbt_rng_normal(&rng);
        sum += z;
        sum2 += z * z;
        double b = mbt_rng_beta(&rng, 1.0, 1.0);
        bsum += b;
        bsum2 += b * b;
        below_counts[mbt_rng_below(&rng, 7)]++;
    }
    CHECK_CLOSE(sum / n, 0.0, 0, 0.01);
    CHECK_CLOSE(sum2 / n, 1.0, 0, 0.02);
    CHECK_CLOSE(bsum / n, 0.5, 0, 0.005);           /* Beta(1,1) = U(0,1): mean 1/2 */
    CHECK_CLOSE(bsum2 / n - 0.25, 1.0 / 12, 0, 0.003); /* variance 1/12 */
    for (int k = 0; k < 7; k++) CHECK_CLOSE(below_counts[k] / (double)n, 1.0 / 7, 0, 0.005);
    /* Same (seed, stream) gives the same values; another stream does not. */
    mbt_rng a, b, c;
    mbt_rng_init(&a, 7, 11);
    mbt_rng_init(&b, 7, 11);
    mbt_rng_init(&c, 7, 12);
    int same = 1, differs = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = mbt_rng_u32(&a), y = mbt_rng_u32(&b), w = mbt_rng_u32(&c);
        same &= x == y;
        differs |= x != w;
    }
    CHECK(same && differs);
    int32_t perm[50], seen[50] = {0};
    mbt_rng_permutation(&rng, perm, 50);
    for (int i = 0; i < 50; i++) seen[perm[i]]++;
    for (int i = 0; i < 50; i++) CHECK(seen[i] == 1);
}

int main(void) {
    test_plan();
    test_errors();
    test_philox();
    test_distributions();
    return check_report("test_core");
}
