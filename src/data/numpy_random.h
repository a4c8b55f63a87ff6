/* numpy's legacy random generator, bit for bit: np.random.RandomState(seed) (MT19937 seeded by
 * init_genrand) and RandomState.shuffle of a 1-d array. The reference's transfer sets (Flowers-102,
 * GTSRB) draw their 80/20 splits with it, so the same files land in the same split here. */
#ifndef MBT_NUMPY_RANDOM_H
#define MBT_NUMPY_RANDOM_H

#include <stdint.h>

#define MBT_NP_MT_N 624

typedef struct {
    uint32_t mt[MBT_NP_MT_N];
    int pos; /* next word of mt to temper; MBT_NP_MT_N: regenerate first */
} mbt_np_random;

/* RandomState(seed) for an integer seed: init_genrand(seed) (numpy's _legacy_seeding). */
void mbt_np_random_seed(mbt_np_random *r, uint32_t seed);
/* The next tempered 32-bit output (numpy's mt19937_next32; randint(2**32, dtype=uint32) draws these). */
uint32_t mbt_np_random_u32(mbt_np_random *r);
/* numpy's random_interval(max): a uniform integer in [0, max] by masked rejection sampling on 32-bit
 * outputs (two outputs, high word first, when max >= 2^32); 0 draws nothing when max == 0. */
uint64_t mbt_np_random_interval(mbt_np_random *r, uint64_t max);
/* RandomState.shuffle of a 1-d array of n items: for i = n-1 down to 1, swap x[i] and
 * x[random_interval(i)]. */
void mbt_np_random_shuffle(mbt_np_random *r, int64_t *x, int64_t n);

/* The reference's per-class hold-out split: indexer = np.arange(num); rs.shuffle(indexer); the first
 * int(0.8 * num) shuffled positions are training images, the rest test images. Writes the positions
 * (0..num-1) of the `train` (1) or test (0) part, in the shuffled order, to out (room for num) and
 * returns their count. Draws from r exactly as the reference does (for both parts). */
int64_t mbt_np_holdout_split(mbt_np_random *r, int64_t num, int train, int64_t *out);

#endif
