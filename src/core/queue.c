/* Events, staging memory and asynchronous copies on the device's queue (see queue.h). */
#include "core/queue.h"

#include <stdlib.h>
#include <string.h>

#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

int mbt_device_host_memory(mbt_device device) { return device == MBT_DEVICE_CPU; }

int mbt_device_synchronous(mbt_device device) { return device == MBT_DEVICE_CPU; }

static mbt_status unavailable(const char *what, mbt_device device) {
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: device %s is not available in this build", what,
                    mbt_device_name(device));
}

mbt_status mbt_event_init(mbt_event *e, mbt_device device) {
    memset(e, 0, sizeof *e);
    e->device = device;
    if (device == MBT_DEVICE_CPU) return MBT_OK;
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) {
        mbt_cuda_context *ctx;
        MBT_TRY(mbt_cuda_context_get(&ctx));
        cudaEvent_t ev;
        MBT_CUDA("event", cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
        e->handle = (void *)ev;
        return MBT_OK;
    }
#endif
    return unavailable("event", device);
}

void mbt_event_free(mbt_event *e) {
#ifdef MIXBT_HAVE_CUDA
    if (e->handle) {
        cudaEventSynchronize((cudaEvent_t)e->handle);
        cudaEventDestroy((cudaEvent_t)e->handle);
    }
#endif
    memset(e, 0, sizeof *e);
}

mbt_status mbt_event_record(mbt_event *e, const char *what) {
    if (e->device == MBT_DEVICE_CPU) return MBT_OK;
#ifdef MIXBT_HAVE_CUDA
    if (e->device == MBT_DEVICE_CUDA && e->handle) {
        mbt_cuda_context *ctx;
        MBT_TRY(mbt_cuda_context_get(&ctx));
        MBT_CUDA(what, cudaEventRecord((cudaEvent_t)e->handle, ctx->stream));
        return MBT_OK;
    }
#endif
    return unavailable(what, e->device);
}

mbt_status mbt_event_wait(mbt_event *e, const char *what) {
    if (e->device == MBT_DEVICE_CPU) return MBT_OK;
#ifdef MIXBT_HAVE_CUDA
    if (e->device == MBT_DEVICE_CUDA && e->handle) {
        MBT_CUDA(what, cudaEventSynchronize((cudaEvent_t)e->handle));
        return MBT_OK;
    }
#endif
    return unavailable(what, e->device);
}

mbt_status mbt_staging_alloc(mbt_device device, const char *what, void **ptr, size_t bytes) {
    *ptr = NULL;
    if (device == MBT_DEVICE_CPU) {
        *ptr = calloc(1, bytes ? bytes : 1);
        return *ptr ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory (%zu bytes)", what, bytes);
    }
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) return mbt_cuda_host_alloc(what, ptr, bytes);
#endif
    return unavailable(what, device);
}

void mbt_staging_free(mbt_device device, void *ptr) {
    if (device == MBT_DEVICE_CPU) free(ptr);
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) mbt_cuda_host_free(ptr);
#endif
}

/* One asynchronous copy on the device's queue, host to device (to_device) or back; on the CPU a memcpy. */
static mbt_status copy_async(mbt_device device, void *dst, const void *src, size_t bytes, int to_device) {
    const char *what = to_device ? "copy to the device" : "copy to the host";
    if (device == MBT_DEVICE_CPU) {
        if (bytes && dst != src) memcpy(dst, src, bytes);
        return MBT_OK;
    }
#ifdef MIXBT_HAVE_CUDA
    if (device == MBT_DEVICE_CUDA) {
        mbt_cuda_context *ctx;
        MBT_TRY(mbt_cuda_context_get(&ctx));
        MBT_CUDA(what, cudaMemcpyAsync(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost,
                                       ctx->stream));
        return MBT_OK;
    }
#endif
    return unavailable(what, device);
}

mbt_status mbt_copy_to_device_async(mbt_device device, void *dst, const void *src, size_t bytes) {
    return copy_async(device, dst, src, bytes, 1);
}

mbt_status mbt_copy_to_host_async(mbt_device device, void *dst, const void *src, size_t bytes) {
    return copy_async(device, dst, src, bytes, 0);
}
