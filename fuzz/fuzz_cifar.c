/* libFuzzer harness: the CIFAR-10/100 readers, binary and pickle (body: fuzz/data_targets.h; run: fuzz/run.sh). */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_cifar_one(data, size); }
