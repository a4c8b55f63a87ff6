/* Counter-based random numbers (Philox4x32-10): a stream is keyed by (seed, stream id), and every
 * value is a pure function of (seed, stream id, position), so results do not depend on which thread
 * draws them, and a stream can be resumed from its position alone. */
#ifndef MBT_RNG_H
#define MBT_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t seed;
    uint64_t stream;   /* e.g. mbt_rng_stream_id(epoch, sample, view) */
    uint64_t counter;  /* index of the next 4-word block */
    uint32_t block[4];
    int used;          /* words of `block` already consumed (4 = empty) */
} mbt_rng;

/* One Philox4x32-10 block for key (seed) and 128-bit counter (hi = stream, lo = counter). */
void mbt_philox4x32(uint64_t seed, uint64_t counter_hi, uint64_t counter_lo, uint32_t out[4]);

/* Combines up to three small identifiers (e.g. epoch, sample index, view) and a purpose tag into a
 * 64-bit stream id; distinct inputs give distinct ids for tags < 2^8, a < 2^20, b < 2^32, c < 2^4. */
uint64_t mbt_rng_stream_id(uint32_t tag, uint64_t a, uint64_t b, uint32_t c);

void mbt_rng_init(mbt_rng *rng, uint64_t seed, uint64_t stream);
uint32_t mbt_rng_u32(mbt_rng *rng);
/* Uniform in [0, 1) with 24 random bits (float) or 53 bits (double). */
float mbt_rng_uniform(mbt_rng *rng);
double mbt_rng_uniform_double(mbt_rng *rng);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint32_t mbt_rng_below(mbt_rng *rng, uint32_t n);
/* Standard normal (Box-Muller, double precision). */
double mbt_rng_normal(mbt_rng *rng);
/* Beta(a, b) via two Gamma draws (Marsaglia-Tsang). */
double mbt_rng_beta(mbt_rng *rng, double a, double b);
/* Fisher-Yates permutation of 0..n-1 into perm. */
void mbt_rng_permutation(mbt_rng *rng, int32_t *perm, int n);

#ifdef __cplusplus
}
#endif

#endif
