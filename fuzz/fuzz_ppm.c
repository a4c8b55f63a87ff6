/* libFuzzer harness: the PPM / PGM decoder (GTSRB) (body in fuzz/data_targets.h). Build and run with fuzz/run.sh. */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_ppm_one(data, size); }
