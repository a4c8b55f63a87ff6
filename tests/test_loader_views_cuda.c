/* The N-view loaders on a GPU: the device-resident loader (augmentation kernels) and pretraining's data
 * with --loader device give the host loader's 4 views bit for bit (loader_views_case.h; skipped without
 * a GPU). */
#include "loader_views_case.h"

int main(void) {
    int skip = check_cuda_or_skip("test_loader_views_cuda");
    if (skip) return skip;
    char dir[4096];
    if (tmp_folder(dir, sizeof dir, "loader_views_cuda") != 0) {
        CHECK(0);
        return check_report("test_loader_views_cuda");
    }
    lv_write_cifar(dir);
    check_loader_views_device(MBT_DEVICE_CUDA, dir);
    rm_tree(dir);
    return check_report("test_loader_views_cuda");
}
