/* Device choice from text and device-generic copies (see device.h). */
#include "core/device.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

mbt_status mbt_device_parse(const char *text, const char *flag, mbt_device *device, int *ordinal) {
    *device = MBT_DEVICE_CPU;
    *ordinal = 0;
    if (text && !strcmp(text, "cpu")) return MBT_OK;
    if (text && !strcmp(text, "cuda")) {
        *device = MBT_DEVICE_CUDA;
        return MBT_OK;
    }
    if (text && !strncmp(text, "cuda:", 5)) {
        char *end;
        long n = strtol(text + 5, &end, 10);
        if (end != text + 5 && *end == 0 && n >= 0 && n < 1024) {
            *device = MBT_DEVICE_CUDA;
            *ordinal = (int)n;
            return MBT_OK;
        }
    }
    return MBT_FAIL(MBT_ERR_ARG, "%s %s: expected cpu, cuda or cuda:N (N = 0, 1, ...)", flag, text ? text : "(none)");
}

mbt_status mbt_device_open(const char *text, const char *flag, mbt_device *device) {
    int ordinal;
    MBT_TRY(mbt_device_parse(text, flag, device, &ordinal));
    if (*device == MBT_DEVICE_CPU) return MBT_OK;
#ifndef MIXBT_HAVE_CUDA
    return MBT_FAIL(MBT_ERR_UNSUPPORTED,
                    "%s %s: this mixbt was built without the CUDA backend (rebuild with -DMIXBT_CUDA=ON where nvcc and "
                    "cuDNN are installed)", flag, text);
#else
    int count = mbt_cuda_device_count();
    if (count == 0) return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s %s: %s", flag, text, mbt_cuda_no_device_reason());
    if (ordinal >= count)
        return MBT_FAIL(MBT_ERR_ARG, "%s %s: there is no CUDA device %d (%d found: cuda:0%s)", flag, text, ordinal,
                        count, count > 1 ? " .. cuda:N-1" : "");
    char why[512];
    if (mbt_cuda_select(ordinal) != MBT_OK) {
        snprintf(why, sizeof why, "%s", mbt_error_message()); /* the message buffer is rewritten below */
        return MBT_FAIL(MBT_ERR_ARG, "%s %s: %s", flag, text, why);
    }
    mbt_cuda_context *ctx;
    mbt_status st = mbt_cuda_context_get(&ctx);
    if (st != MBT_OK) {
        snprintf(why, sizeof why, "%s", mbt_error_message());
        return MBT_FAIL(st, "%s %s: %s", flag, text, why);
    }
    return MBT_OK;
#endif
}

mbt_status mbt_device_from_host(mbt_device device, void *dst, const void *src, size_t bytes) {
    if (device == MBT_DEVICE_CPU) {
        if (bytes && dst != src) memcpy(dst, src, bytes);
        return MBT_OK;
    }
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) return mbt_cuda_to_device(dst, src, bytes);
#endif
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "copy to device %s: not available in this build", mbt_device_name(device));
}

mbt_status mbt_device_to_host(mbt_device device, void *dst, const void *src, size_t bytes) {
    if (device == MBT_DEVICE_CPU) {
        if (bytes && dst != src) memcpy(dst, src, bytes);
        return MBT_OK;
    }
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) return mbt_cuda_to_host(dst, src, bytes);
#endif
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "copy from device %s: not available in this build", mbt_device_name(device));
}

mbt_status mbt_device_synchronize(mbt_device device, const char *what) {
    if (device == MBT_DEVICE_CPU) return MBT_OK;
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) return mbt_cuda_synchronize(what);
#endif
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: device %s is not available in this build", what, mbt_device_name(device));
}

mbt_status mbt_device_free_memory(mbt_device device, size_t *bytes) {
    *bytes = 0;
    if (device == MBT_DEVICE_CPU) {
        *bytes = SIZE_MAX;
        return MBT_OK;
    }
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) {
        size_t free_bytes = 0, total = 0;
        MBT_CUDA("device memory", cudaMemGetInfo(&free_bytes, &total));
        *bytes = free_bytes;
        return MBT_OK;
    }
#endif
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "device %s is not available in this build", mbt_device_name(device));
}
