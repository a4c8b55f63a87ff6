/* Batch augmentation on the CPU (data/augment_batch.h): the stages that the CUDA kernels share give
 * exactly mbt_augment_apply's result for every recipe without blur; recipes with blur are refused. */
#include <string.h>

#include "augment_batch_case.h"
#include "check.h"

int main(void) {
    check_augment_batch_all(MBT_DEVICE_CPU);
    mbt_augment_recipe r;
    mbt_augment_batch b;
    CHECK_OK(mbt_augment_recipe_get("imagenet", 0, &r));
    CHECK(mbt_augment_batch_init(&b, MBT_DEVICE_CPU, &r, 4, 300, 200) == MBT_ERR_ARG);
    CHECK_MSG(strstr(mbt_error_message(), "blur") != NULL, "message: %s", mbt_error_message());
    return check_report("test_augment_batch");
}
