/* libFuzzer harness: the safetensors reader (body in fuzz/targets.h). Build and run with fuzz/run.sh. */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_safetensors_one(data, size); }
