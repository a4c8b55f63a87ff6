/* Status codes and error reporting: library code returns a status, the message says where and why. */
#ifndef MBT_STATUS_H
#define MBT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MBT_OK = 0,
    MBT_ERR_ARG,         /* a bad argument or flag value */
    MBT_ERR_SHAPE,       /* tensor shapes that do not fit together */
    MBT_ERR_NOMEM,       /* an allocation failed */
    MBT_ERR_IO,          /* a file could not be read or written */
    MBT_ERR_FORMAT,      /* a file's contents are malformed */
    MBT_ERR_BACKEND,     /* a backend library (oneDNN, BLAS, CUDA) reported a failure */
    MBT_ERR_UNSUPPORTED, /* valid, but not implemented for this configuration */
    MBT_ERR_NUMERIC,     /* NaN or Inf where a finite value is required */
    MBT_ERR_INTERRUPTED  /* stopped by a signal */
} mbt_status;

/* Records an error message for the calling thread ("file:line: message") and returns `status`.
 * Use through MBT_FAIL so that the file and line are those of the failing check. */
mbt_status mbt_error_set(mbt_status status, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The last message recorded on this thread, without the file:line prefix ("" if none). */
const char *mbt_error_message(void);
/* The last message with its "file:line: " origin. */
const char *mbt_error_origin(void);
/* Forgets the last message. */
void mbt_error_clear(void);
/* A short name for a status ("shape error", ...). */
const char *mbt_status_name(mbt_status status);

#define MBT_FAIL(status, ...) mbt_error_set((status), __FILE__, __LINE__, __VA_ARGS__)

/* Propagates a failing status to the caller. */
#define MBT_TRY(expr)                          \
    do {                                       \
        mbt_status mbt_try_s_ = (expr);        \
        if (mbt_try_s_ != MBT_OK) return mbt_try_s_; \
    } while (0)

/* Checks a condition on arguments; on failure records the message and returns MBT_ERR_ARG. */
#define MBT_CHECK_ARG(cond, ...)                              \
    do {                                                      \
        if (!(cond)) return MBT_FAIL(MBT_ERR_ARG, __VA_ARGS__); \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
