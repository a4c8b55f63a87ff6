/* HTTP(S) downloads with libcurl into a partial file that a later call resumes with a Range request. */
#ifndef MBT_DOWNLOAD_H
#define MBT_DOWNLOAD_H

#include <stdint.h>

#include "core/status.h"
#include "io/checksum.h"

/* What one transfer did. */
typedef struct {
    int64_t resumed_from; /* bytes the file held when the transfer began (0: started from scratch) */
    int64_t received;     /* body bytes written by this call */
    int64_t size;         /* the file's size afterwards */
    long http_code;       /* the last HTTP status seen (0 if none arrived) */
    int restarted;        /* 1: the server ignored the Range request, so the file was rewritten from 0 */
    int network_error;    /* 1: the failure was on the network side (worth another mirror or a retry) */
} mbt_download_result;

/* Appends to the file at path what url holds beyond the file's current size (creating the file if
 * needed): with bytes already there it sends "Range: bytes=N-"; a 206 answer is appended, a 200
 * answer (a server without ranges) replaces the file, and a 416 answer (nothing beyond N) leaves it
 * as it is and returns MBT_OK, so the caller's checksum decides. Redirects are followed (HTTP and
 * HTTPS only). On a network failure or an HTTP error the bytes received so far stay in the file,
 * for a later call to resume, and MBT_ERR_IO names the URL and the cause (res->network_error = 1);
 * a write failure returns MBT_ERR_IO naming path and the system's reason (e.g. no space left).
 * fn (may be NULL) sees the file's size and the expected total (-1 if unknown); a non-zero return
 * cancels with MBT_ERR_INTERRUPTED. res may be NULL. */
mbt_status mbt_download_resume(const char *url, const char *path, mbt_bytes_progress_fn fn, void *ctx,
                               mbt_download_result *res);

#endif
