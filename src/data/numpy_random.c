/* numpy's legacy MT19937 RandomState and its shuffle (see numpy_random.h). */
#include "data/numpy_random.h"

#include <stdlib.h>
#include <string.h>

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu

void mbt_np_random_seed(mbt_np_random *r, uint32_t seed) {
    r->mt[0] = seed;
    for (int i = 1; i < MBT_NP_MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->pos = MBT_NP_MT_N;
}

/* Regenerates the 624 words (the standard MT19937 recurrence). */
static void regenerate(mbt_np_random *r) {
    uint32_t *mt = r->mt;
    int k;
    for (k = 0; k < MBT_NP_MT_N - MT_M; k++) {
        uint32_t y = (mt[k] & MT_UPPER) | (mt[k + 1] & MT_LOWER);
        mt[k] = mt[k + MT_M] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    }
    for (; k < MBT_NP_MT_N - 1; k++) {
        uint32_t y = (mt[k] & MT_UPPER) | (mt[k + 1] & MT_LOWER);
        mt[k] = mt[k + (MT_M - MBT_NP_MT_N)] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    }
    uint32_t y = (mt[MBT_NP_MT_N - 1] & MT_UPPER) | (mt[0] & MT_LOWER);
    mt[MBT_NP_MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    r->pos = 0;
}

uint32_t mbt_np_random_u32(mbt_np_random *r) {
    if (r->pos >= MBT_NP_MT_N) regenerate(r);
    uint32_t y = r->mt[r->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t mbt_np_random_interval(mbt_np_random *r, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t value;
    if (max <= 0xffffffffu) {
        while ((value = (mbt_np_random_u32(r) & mask)) > max) {
        }
    } else {
        do {
            uint64_t hi = mbt_np_random_u32(r);
            value = ((hi << 32) | mbt_np_random_u32(r)) & mask;
        } while (value > max);
    }
    return value;
}

void mbt_np_random_shuffle(mbt_np_random *r, int64_t *x, int64_t n) {
    for (int64_t i = n - 1; i >= 1; i--) {
        int64_t j = (int64_t)mbt_np_random_interval(r, (uint64_t)i);
        int64_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

int64_t mbt_np_holdout_split(mbt_np_random *r, int64_t num, int train, int64_t *out) {
    for (int64_t i = 0; i < num; i++) out[i] = i;
    mbt_np_random_shuffle(r, out, num);
    int64_t cut = (int64_t)(0.8 * (double)num); /* Python's int(0.8 * num): truncation of the double */
    if (train) return cut;
    memmove(out, out + cut, (size_t)(num - cut) * sizeof *out);
    return num - cut;
}
