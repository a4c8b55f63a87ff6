/* Process-wide runtime settings: thread counts for OpenMP, BLAS and oneDNN; monotonic time. */
#ifndef MBT_RUNTIME_H
#define MBT_RUNTIME_H

/* Sets the number of threads used by every parallel part of the CPU backend (n >= 1). */
void mbt_set_threads(int n);
/* Seconds from a monotonic clock. */
double mbt_now(void);

#endif
