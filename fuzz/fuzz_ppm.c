/* libFuzzer harness: the PPM / PGM decoder (GTSRB) (body: fuzz/data_targets.h; run: fuzz/run.sh). */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_ppm_one(data, size); }
