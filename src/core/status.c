/* Thread-local error messages behind mbt_status. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char mbt_msg[1024];
static _Thread_local char mbt_origin[1200];

mbt_status mbt_error_set(mbt_status status, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mbt_msg, sizeof mbt_msg, fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    snprintf(mbt_origin, sizeof mbt_origin, "%s:%d: %s", base ? base + 1 : file, line, mbt_msg);
    return status;
}

const char *mbt_error_message(void) { return mbt_msg; }
const char *mbt_error_origin(void) { return mbt_origin; }

void mbt_error_clear(void) {
    mbt_msg[0] = 0;
    mbt_origin[0] = 0;
}

const char *mbt_status_name(mbt_status status) {
    switch (status) {
    case MBT_OK: return "ok";
    case MBT_ERR_ARG: return "bad argument";
    case MBT_ERR_SHAPE: return "shape error";
    case MBT_ERR_NOMEM: return "out of memory";
    case MBT_ERR_IO: return "i/o error";
    case MBT_ERR_FORMAT: return "format error";
    case MBT_ERR_BACKEND: return "backend error";
    case MBT_ERR_UNSUPPORTED: return "unsupported";
    case MBT_ERR_NUMERIC: return "numeric error";
    case MBT_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown error";
}
