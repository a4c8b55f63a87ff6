/* Resumable HTTP(S) transfers with libcurl: Range requests, 200/206/416 handling, careful writes. */
#include "io/download.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code = CURLE_FAILED_INIT;

static void curl_init_once(void) { curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
    CURL *curl;
    int fd;
    const char *path;
    int64_t offset;       /* the file's size before this transfer's body (0 after a restart) */
    int64_t written;      /* body bytes written by this transfer */
    long status;          /* status of the response being received (the last one after redirects) */
    int64_t range_start;  /* from Content-Range, -1 if absent */
    int started;          /* the first body byte arrived and the response was checked */
    int restarted;
    int write_errno;      /* errno of a failed write or truncate */
    int range_mismatch;   /* a 206 that does not start where the file ends */
    mbt_bytes_progress_fn fn;
    void *ctx;
    int cancelled;
} transfer;

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
    transfer *t = ud;
    size_t len = size * n;
    char line[256];
    size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, m);
    line[m] = 0;
    if (!strncmp(line, "HTTP/", 5)) { /* a new response (after a redirect or 100 Continue) */
        const char *sp = strchr(line, ' ');
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        t->range_start = -1;
    } else if (!strncasecmp(line, "Content-Range:", 14)) {
        const char *p = line + 14;
        while (*p == ' ' || *p == '\t') p++;
        if (!strncasecmp(p, "bytes ", 6) && p[6] >= '0' && p[6] <= '9') t->range_start = strtoll(p + 6, NULL, 10);
    }
    return len;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud) {
    transfer *t = ud;
    size_t len = size * n;
    if (!t->started) {
        t->started = 1;
        if (t->offset > 0 && t->status == 206 && t->range_start != t->offset) {
            t->range_mismatch = 1;
            return 0;
        }
        if (t->offset > 0 && t->status != 206) { /* the whole body again: start the file afresh */
            if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0) {
                t->write_errno = errno;
                return 0;
            }
            t->offset = 0;
            t->restarted = 1;
        }
    }
    int e = write_all(t->fd, buf, len);
    if (e) {
        t->write_errno = e;
        return 0;
    }
    t->written += (int64_t)len;
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dlnow, (void)ultotal, (void)ulnow;
    transfer *t = ud;
    if (!t->fn) return 0;
    /* dltotal is this response's length: the rest of the file for a 206, all of it for a 200. */
    int64_t total = -1;
    if (dltotal > 0) total = (t->started || t->status == 206) ? t->offset + (int64_t)dltotal : (int64_t)dltotal;
    if (t->fn(t->ctx, t->offset + t->written, total)) {
        t->cancelled = 1;
        return 1;
    }
    return 0;
}

mbt_status mbt_download_resume(const char *url, const char *path, mbt_bytes_progress_fn fn, void *ctx,
                               mbt_download_result *res) {
    mbt_download_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    MBT_CHECK_ARG(url && *url && path && *path, "download: empty URL or output path");
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_code != CURLE_OK)
        return MBT_FAIL(MBT_ERR_BACKEND, "download: libcurl failed to initialise: %s", curl_easy_strerror(curl_init_code));

    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0) {
        int e = errno;
        close(fd);
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot seek: %s", path, strerror(e));
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        close(fd);
        return MBT_FAIL(MBT_ERR_BACKEND, "download: libcurl could not create a transfer handle");
    }
    transfer t = {.curl = curl, .fd = fd, .path = path, .offset = (int64_t)end, .range_start = -1, .fn = fn, .ctx = ctx};
    res->resumed_from = t.offset;
    char range[48], errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L); /* give up after a minute without data */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mixbt-download/1");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    if (t.offset > 0) {
        snprintf(range, sizeof range, "%" PRId64 "-", t.offset);
        curl_easy_setopt(curl, CURLOPT_RANGE, range);
    }
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);
    res->http_code = code;
    res->received = t.written;
    res->restarted = t.restarted;
    res->size = t.offset + t.written;

    mbt_status st = MBT_OK;
    if (t.write_errno) {
        st = MBT_FAIL(MBT_ERR_IO, "%s: cannot write the download: %s", path, strerror(t.write_errno));
    } else if (t.range_mismatch) {
        res->network_error = 1;
        st = MBT_FAIL(MBT_ERR_IO, "%s: asked for bytes %" PRId64 "- but the server sent bytes %" PRId64 "-", url,
                      t.offset, t.range_start);
    } else if (t.cancelled || rc == CURLE_ABORTED_BY_CALLBACK) {
        st = MBT_FAIL(MBT_ERR_INTERRUPTED, "%s: download cancelled", url);
    } else if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && t.offset > 0) {
        st = MBT_OK; /* nothing beyond what the file holds: the checksum decides */
    } else if (rc != CURLE_OK) {
        res->network_error = 1;
        if (rc == CURLE_HTTP_RETURNED_ERROR)
            st = MBT_FAIL(MBT_ERR_IO, "%s: the server answered HTTP %ld", url, code);
        else
            st = MBT_FAIL(MBT_ERR_IO, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    if (fsync(fd) != 0 && st == MBT_OK && errno != EINVAL)
        st = MBT_FAIL(MBT_ERR_IO, "%s: cannot sync the download to disk: %s", path, strerror(errno));
    if (close(fd) != 0 && st == MBT_OK)
        st = MBT_FAIL(MBT_ERR_IO, "%s: cannot close the download: %s", path, strerror(errno));
    return st;
}
