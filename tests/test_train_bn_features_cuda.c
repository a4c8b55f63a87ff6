/* Training-mode BN features on the GPU against the CPU (tasks/train_bn_features.h, which
 * test_train_bn_features checks on the CPU): the same epoch of batches 6, 6 and a partial 4 gives the
 * CPU's features and leaves the CPU's running statistics and counters in the host model. Skipped
 * (exit 77) without a CUDA build or a GPU.
 *
 * Tolerances, ||gpu - cpu|| / ||cpu||: 2e-4 with fp32 products (MIXBT_NO_TF32=1), 3e-2 with TF32 (the
 * forward tolerances of test_model_cuda, for the same ResNet-18). */
#include "check.h"
#ifdef MIXBT_HAVE_CUDA

#include "core/cuda.h"
#include "core/device.h"
#include "core/runtime.h"
#include "train_bn_case.h"

int main(void) {
    int skip = check_cuda_or_skip("test_train_bn_features_cuda");
    if (skip) return skip;
    mbt_set_threads(2);
    mbt_device device;
    if (!CHECK_OK(mbt_device_open("cuda", "--device", &device))) return check_report("test_train_bn_features_cuda");
    double tol = mbt_cuda_tf32_enabled() ? 3e-2 : 2e-4;
    tbn_result cpu, gpu;
    if (tbn_run(MBT_DEVICE_CPU, &cpu) && tbn_run(device, &gpu)) {
        double ef = check_rel_err(gpu.features, cpu.features, (size_t)TBN_IMAGES * cpu.emb);
        double eb = check_rel_err(gpu.buffers, cpu.buffers, cpu.n_buffers);
        printf("test_train_bn_features_cuda: features %.3g, running statistics %.3g (tolerance %.0e)\n", ef, eb, tol);
        CHECK_MSG(ef <= tol, "features: relative error %.3g > %.0e", ef, tol);
        CHECK(gpu.n_buffers == cpu.n_buffers);
        CHECK_MSG(eb <= tol, "running statistics: relative error %.3g > %.0e", eb, tol);
        CHECK_MSG(gpu.counters == cpu.counters, "counters %lld on the GPU, %lld on the CPU", (long long)gpu.counters,
                  (long long)cpu.counters);
    }
    tbn_free(&cpu);
    tbn_free(&gpu);
    return check_report("test_train_bn_features_cuda");
}

#else

int main(void) { return check_cuda_or_skip("test_train_bn_features_cuda"); }

#endif
