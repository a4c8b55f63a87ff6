/* Batch augmentation as CUDA kernels: bit for bit mbt_augment_apply's result on the CPU, for every
 * recipe without blur (skipped without a GPU). */
#include "augment_batch_case.h"
#include "check.h"

int main(void) {
    int skip = check_cuda_or_skip("test_augment_batch_cuda");
    if (skip) return skip;
    check_augment_batch_all(MBT_DEVICE_CUDA);
    return check_report("test_augment_batch_cuda");
}
