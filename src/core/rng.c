/* Philox4x32-10 (Salmon et al., SC'11) and the distributions drawn from it. */
#include "core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void mbt_philox4x32(uint64_t seed, uint64_t counter_hi, uint64_t counter_lo, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter_lo, c1 = (uint32_t)(counter_lo >> 32);
    uint32_t c2 = (uint32_t)counter_hi, c3 = (uint32_t)(counter_hi >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint64_t mbt_rng_stream_id(uint32_t tag, uint64_t a, uint64_t b, uint32_t c) {
    return ((uint64_t)(tag & 0xFF) << 56) | ((a & 0xFFFFF) << 36) | ((b & 0xFFFFFFFFu) << 4) | (c & 0xF);
}

void mbt_rng_init(mbt_rng *rng, uint64_t seed, uint64_t stream) {
    rng->seed = seed;
    rng->stream = stream;
    rng->counter = 0;
    rng->used = 4;
}

uint32_t mbt_rng_u32(mbt_rng *rng) {
    if (rng->used == 4) {
        mbt_philox4x32(rng->seed, rng->stream, rng->counter++, rng->block);
        rng->used = 0;
    }
    return rng->block[rng->used++];
}

float mbt_rng_uniform(mbt_rng *rng) { return (float)(mbt_rng_u32(rng) >> 8) * (1.0f / 16777216.0f); }

double mbt_rng_uniform_double(mbt_rng *rng) {
    uint64_t hi = mbt_rng_u32(rng) >> 5, lo = mbt_rng_u32(rng) >> 6;
    return (double)(hi * 67108864u + lo) * (1.0 / 9007199254740992.0);
}

uint32_t mbt_rng_below(mbt_rng *rng, uint32_t n) {
    /* Lemire's multiply-shift with rejection: unbiased. */
    uint64_t m = (uint64_t)mbt_rng_u32(rng) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)mbt_rng_u32(rng) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double mbt_rng_normal(mbt_rng *rng) {
    double u1 = 1.0 - mbt_rng_uniform_double(rng); /* (0, 1] */
    double u2 = mbt_rng_uniform_double(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double gamma_draw(mbt_rng *rng, double shape) {
    if (shape < 1.0) {
        double u = 1.0 - mbt_rng_uniform_double(rng);
        return gamma_draw(rng, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = mbt_rng_normal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = 1.0 - mbt_rng_uniform_double(rng);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

double mbt_rng_beta(mbt_rng *rng, double a, double b) {
    double x = gamma_draw(rng, a), y = gamma_draw(rng, b);
    return x / (x + y);
}

void mbt_rng_permutation(mbt_rng *rng, int32_t *perm, int n) {
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)mbt_rng_below(rng, (uint32_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
