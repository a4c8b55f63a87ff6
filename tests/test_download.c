/* Tests of `mixbt download` over HTTP against a small server in this process on 127.0.0.1:
 * resumable transfers (Range, 206/200/416), broken connections, HTTP errors, disk errors, whole
 * installs (mirrors, resume across runs, checksum mismatches, skip when verified, --from) and
 * the command line through the built program with a test catalogue (MIXBT_DOWNLOAD_CATALOG). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/status.h"
#include "io/dataset_install.h"
#include "io/dataset_source.h"
#include "io/download.h"

/* ---- the test server ------------------------------------------------------------------------ */

typedef struct {
    char path[128];
    const unsigned char *body;
    size_t len;
} route;

typedef struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    route routes[8];
    int n_routes;
    /* behaviour */
    long cut_after;   /* close the connection after this many body bytes ... */
    int cut_requests; /* ... for this many of the next requests */
    int ignore_range; /* answer 200 with the whole body to Range requests */
    /* log */
    int requests;
    long long last_range; /* start of the last request's Range, -1 if none */
    long long body_sent;  /* body bytes sent in total */
} server;

static server srv;

static void send_all(int c, const void *p, size_t n) {
    const char *s = p;
    while (n) {
        ssize_t w = send(c, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void serve_one(int c) {
    char req[8192];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
        req[got] = 0;
        if (strstr(req, "\r\n\r\n")) break;
    }
    req[got] = 0;
    char path[128] = "";
    sscanf(req, "GET %127s", path);
    long long range = -1;
    for (char *h = strchr(req, '\n'); h; h = strchr(h + 1, '\n'))
        if (!strncasecmp(h + 1, "Range: bytes=", 13)) range = atoll(h + 14);
    pthread_mutex_lock(&srv.mu);
    srv.requests++;
    srv.last_range = range;
    const route *rt = NULL;
    for (int i = 0; i < srv.n_routes; i++)
        if (!strcmp(srv.routes[i].path, path)) rt = &srv.routes[i];
    long cut = -1;
    if (srv.cut_requests > 0) {
        srv.cut_requests--;
        cut = srv.cut_after;
    }
    int ignore_range = srv.ignore_range;
    pthread_mutex_unlock(&srv.mu);
    char head[512];
    if (!rt) {
        snprintf(head, sizeof head, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
        send_all(c, head, strlen(head));
        return;
    }
    size_t start = 0;
    if (range >= 0 && !ignore_range) {
        if ((size_t)range >= rt->len) {
            snprintf(head, sizeof head,
                     "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%zu\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n",
                     rt->len);
            send_all(c, head, strlen(head));
            return;
        }
        start = (size_t)range;
        snprintf(head, sizeof head,
                 "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %zu-%zu/%zu\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 start, rt->len - 1, rt->len, rt->len - start);
    } else {
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", rt->len);
    }
    send_all(c, head, strlen(head));
    size_t n = rt->len - start;
    if (cut >= 0 && (size_t)cut < n) n = (size_t)cut;
    send_all(c, rt->body + start, n);
    pthread_mutex_lock(&srv.mu);
    srv.body_sent += (long long)n;
    pthread_mutex_unlock(&srv.mu);
}

static void *server_main(void *arg) {
    (void)arg;
    for (;;) {
        int c = accept(srv.fd, NULL, NULL);
        pthread_mutex_lock(&srv.mu);
        int stop = srv.stop;
        pthread_mutex_unlock(&srv.mu);
        if (stop) {
            if (c >= 0) close(c);
            return NULL;
        }
        if (c < 0) continue;
        serve_one(c);
        shutdown(c, SHUT_RDWR);
        close(c);
    }
}

static int server_start(void) {
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.mu, NULL);
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof a) || listen(srv.fd, 16) ||
        getsockname(srv.fd, (struct sockaddr *)&a, &len))
        return 0;
    srv.port = ntohs(a.sin_port);
    return pthread_create(&srv.thread, NULL, server_main, NULL) == 0;
}

static void server_stop(void) {
    pthread_mutex_lock(&srv.mu);
    srv.stop = 1;
    pthread_mutex_unlock(&srv.mu);
    /* Wake the blocked accept with a connection of our own. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c >= 0 && connect(c, (struct sockaddr *)&a, sizeof a) == 0) close(c);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    pthread_mutex_destroy(&srv.mu);
}

static void server_route(const char *path, const void *body, size_t len) {
    pthread_mutex_lock(&srv.mu);
    route *r = &srv.routes[srv.n_routes++];
    snprintf(r->path, sizeof r->path, "%s", path);
    r->body = body;
    r->len = len;
    pthread_mutex_unlock(&srv.mu);
}

/* Sets the misbehaviour and clears the log. */
static void server_reset(long cut_after, int cut_requests, int ignore_range) {
    pthread_mutex_lock(&srv.mu);
    srv.cut_after = cut_after;
    srv.cut_requests = cut_requests;
    srv.ignore_range = ignore_range;
    srv.requests = 0;
    srv.last_range = -1;
    srv.body_sent = 0;
    pthread_mutex_unlock(&srv.mu);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static char tmp[256];

static unsigned char *random_bytes(size_t n, unsigned seed) {
    unsigned char *b = malloc(n);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)(x >> 24);
    }
    return b;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static int file_equals(const char *path, const void *data, size_t n) {
    size_t got;
    unsigned char *b = read_all(path, &got);
    int eq = b && got == n && memcmp(b, data, n) == 0;
    free(b);
    return eq;
}

static long long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static void run(const char *cmd) {
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* The MD5 that coreutils' md5sum computes (independent of the code under test). */
static void md5sum_tool(const char *path, char out[33]) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "md5sum '%s'", path);
    FILE *p = popen(cmd, "r");
    out[0] = 0;
    if (!p || fscanf(p, "%32s", out) != 1) out[0] = 0;
    if (p) pclose(p);
}

static char url_buf[256];
static const char *url(const char *path) {
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d%s", srv.port, path);
    return url_buf;
}

/* ---- transfers ------------------------------------------------------------------------------ */

static void test_transfers(void) {
    size_t n = 200000;
    unsigned char *body = random_bytes(n, 11);
    server_route("/blob", body, n);
    char path[300];
    snprintf(path, sizeof path, "%s/blob.partial", tmp);
    mbt_download_result res;

    /* From scratch: one request without a range. */
    server_reset(-1, 0, 0);
    CHECK_OK(mbt_download_resume(url("/blob"), path, NULL, NULL, &res));
    CHECK(file_equals(path, body, n));
    CHECK(srv.requests == 1 && srv.last_range == -1 && res.resumed_from == 0 && res.received == (int64_t)n);

    /* Resume: the file holds the first 70000 bytes; only the rest is asked for and sent. */
    write_bytes(path, body, 70000);
    server_reset(-1, 0, 0);
    CHECK_OK(mbt_download_resume(url("/blob"), path, NULL, NULL, &res));
    CHECK(file_equals(path, body, n));
    CHECK_MSG(srv.last_range == 70000 && srv.body_sent == (long long)n - 70000,
              "range %lld, sent %lld", srv.last_range, srv.body_sent);
    CHECK(res.resumed_from == 70000 && res.received == (int64_t)n - 70000 && !res.restarted && res.http_code == 206);

    /* A server without ranges answers 200: the file is rewritten, not appended to. */
    write_bytes(path, "garbage that must go", 20);
    server_reset(-1, 0, 1);
    CHECK_OK(mbt_download_resume(url("/blob"), path, NULL, NULL, &res));
    CHECK(file_equals(path, body, n));
    CHECK(res.restarted == 1 && res.http_code == 200);

    /* Already complete: 416, the file is left as it is. */
    server_reset(-1, 0, 0);
    CHECK_OK(mbt_download_resume(url("/blob"), path, NULL, NULL, &res));
    CHECK(file_equals(path, body, n) && res.http_code == 416 && res.received == 0);

    /* A broken connection keeps what arrived, and says where it came from. */
    unlink(path);
    server_reset(50000, 1, 0);
    mbt_status st = mbt_download_resume(url("/blob"), path, NULL, NULL, &res);
    CHECK(st == MBT_ERR_IO && res.network_error == 1);
    CHECK(strstr(mbt_error_message(), url("/blob")) != NULL);
    CHECK(file_size(path) == 50000 && file_equals(path, body, 50000));
    /* ... and the next call continues from there. */
    CHECK_OK(mbt_download_resume(url("/blob"), path, NULL, NULL, &res));
    CHECK(file_equals(path, body, n) && srv.last_range == 50000);

    /* HTTP errors name the URL and the status; nothing is written. */
    unlink(path);
    st = mbt_download_resume(url("/nothing"), path, NULL, NULL, &res);
    CHECK(st == MBT_ERR_IO && res.network_error && strstr(mbt_error_message(), "HTTP 404"));
    CHECK(strstr(mbt_error_message(), url("/nothing")) != NULL);
    CHECK(file_size(path) == 0);
    unlink(path);

    /* Nobody listening. */
    st = mbt_download_resume("http://127.0.0.1:1/x", path, NULL, NULL, &res);
    CHECK(st == MBT_ERR_IO && res.network_error);
    unlink(path);

    /* A full disk: the message names the file and the system's reason. */
    st = mbt_download_resume(url("/blob"), "/dev/full", NULL, NULL, &res);
    CHECK(st == MBT_ERR_IO && !res.network_error);
    CHECK_MSG(strstr(mbt_error_message(), "/dev/full") && strstr(mbt_error_message(), "No space left"), "%s",
              mbt_error_message());
    /* A folder that does not exist. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.partial", tmp);
    CHECK(mbt_download_resume(url("/blob"), bad, NULL, NULL, &res) == MBT_ERR_IO);
    CHECK(strstr(mbt_error_message(), bad) != NULL);
    /* Other protocols are refused. */
    CHECK(mbt_download_resume("file:///etc/passwd", path, NULL, NULL, &res) == MBT_ERR_IO);
    CHECK(file_size(path) <= 0);
    unlink(path);
    free(body);
}

/* ---- installs ------------------------------------------------------------------------------- */

static unsigned char *toy_arc, *gz_a, *gz_b;
static size_t toy_len, gz_a_len, gz_b_len;
static unsigned char *toy_a, *toy_b;
static char toy_md5[33], gz_a_md5[33], gz_b_md5[33];
enum { TOY_A = 120000, TOY_B = 3000 };

/* A tar.gz made by GNU tar holding toy-bin/a.bin and toy-bin/b.bin, and two gzip files. */
static void make_toy_files(void) {
    char cmd[2400], path[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/src/toy-bin", tmp);
    run(cmd);
    toy_a = random_bytes(TOY_A, 21);
    toy_b = random_bytes(TOY_B, 22);
    snprintf(path, sizeof path, "%s/src/toy-bin/a.bin", tmp);
    write_bytes(path, toy_a, TOY_A);
    snprintf(path, sizeof path, "%s/src/toy-bin/b.bin", tmp);
    write_bytes(path, toy_b, TOY_B);
    snprintf(cmd, sizeof cmd,
             "tar -czf %s/toy.tar.gz -C %s/src toy-bin && gzip -c %s/src/toy-bin/a.bin > %s/a.gz && "
             "gzip -c %s/src/toy-bin/b.bin > %s/b.gz",
             tmp, tmp, tmp, tmp, tmp, tmp);
    run(cmd);
    snprintf(path, sizeof path, "%s/toy.tar.gz", tmp);
    toy_arc = read_all(path, &toy_len);
    md5sum_tool(path, toy_md5);
    snprintf(path, sizeof path, "%s/a.gz", tmp);
    gz_a = read_all(path, &gz_a_len);
    md5sum_tool(path, gz_a_md5);
    snprintf(path, sizeof path, "%s/b.gz", tmp);
    gz_b = read_all(path, &gz_b_len);
    md5sum_tool(path, gz_b_md5);
    CHECK(toy_len > 100000 && gz_a_len > 100000);
    server_route("/toy.tar.gz", toy_arc, toy_len);
    server_route("/gz/a.gz", gz_a, gz_a_len);
    server_route("/gz/b.gz", gz_b, gz_b_len);
}

/* A catalogue text for the test server; toy's MD5 is `md5` (the real one unless testing a mismatch). */
static void toy_catalog(char *out, size_t cap, const char *md5) {
    snprintf(out, cap,
             "dataset toy Toy archive\n"
             "file toy.tar.gz %s archive . http://127.0.0.1:%d/missing/toy.tar.gz http://127.0.0.1:%d/toy.tar.gz\n"
             "expect toy-bin/a.bin toy-bin/b.bin\n"
             "dataset toygz Toy gzip files\n"
             "mirror http://127.0.0.1:%d/gz/\n"
             "file a.gz %s gunzip TOY/raw/a\n"
             "file b.gz %s gunzip TOY/raw/b\n",
             md5, srv.port, srv.port, srv.port, gz_a_md5, gz_b_md5);
}

static char notes[16384];
static void collect_note(void *ctx, const char *text) {
    (void)ctx;
    snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "%s\n", text);
}
static int64_t last_done[3], events[3], finished[3];
static int collect_progress(void *ctx, const mbt_fetch_event *ev) {
    (void)ctx;
    last_done[ev->phase] = ev->done;
    events[ev->phase]++;
    finished[ev->phase] += ev->finished;
    return 0;
}

static mbt_install_options options(const char *from, int retries) {
    mbt_install_options o = {.from = from, .retries = retries};
    o.cb = (mbt_fetch_callbacks){.note = collect_note, .progress = collect_progress};
    notes[0] = 0;
    memset(events, 0, sizeof events);
    memset(finished, 0, sizeof finished);
    return o;
}

static int installed_ok(const char *dir) {
    char path[400];
    snprintf(path, sizeof path, "%s/toy-bin/a.bin", dir);
    int ok = file_equals(path, toy_a, TOY_A);
    snprintf(path, sizeof path, "%s/toy-bin/b.bin", dir);
    return ok && file_equals(path, toy_b, TOY_B);
}

static void test_install(void) {
    char text[2048], dir[300], path[400];
    mbt_source_catalog cat = {0};
    toy_catalog(text, sizeof text, toy_md5);
    CHECK_OK(mbt_source_catalog_parse(&cat, text, "test"));
    const mbt_dataset_source *toy = mbt_source_catalog_find(&cat, "toy");
    const mbt_dataset_source *toygz = mbt_source_catalog_find(&cat, "toygz");
    CHECK(toy && toygz);
    if (!toy || !toygz) return;
    int already = -1;

    /* A first install: the first mirror answers 404, the second serves the archive. */
    snprintf(dir, sizeof dir, "%s/data1", tmp);
    server_reset(-1, 0, 0);
    mbt_install_options o = options(NULL, 0);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(already == 0 && installed_ok(dir));
    CHECK(srv.requests == 2 && strstr(notes, "trying the next mirror"));
    CHECK(events[MBT_FETCH_DOWNLOAD] > 0 && finished[MBT_FETCH_DOWNLOAD] == 1 && last_done[MBT_FETCH_DOWNLOAD] == (int64_t)toy_len);
    CHECK(finished[MBT_FETCH_UNPACK] == 1);
    snprintf(path, sizeof path, "%s/toy.tar.gz", dir);
    CHECK(file_size(path) == -1); /* the archive is removed after unpacking */
    snprintf(path, sizeof path, "%s/toy.tar.gz.partial", dir);
    CHECK(file_size(path) == -1);
    char *manifest = mbt_dataset_manifest_path(toy, dir);
    CHECK(file_size(manifest) > 0);

    /* Again: verified, nothing fetched. */
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(already == 1 && srv.requests == 0 && strstr(notes, "already"));
    CHECK(finished[MBT_FETCH_VERIFY] == 2); /* both files' MD5s were checked */
    int nf = 0;
    CHECK_OK(mbt_dataset_verify(toy, dir, NULL, &nf));
    CHECK(nf == 2);

    /* A changed byte (same size) is noticed, named, and the data installed again. */
    snprintf(path, sizeof path, "%s/toy-bin/a.bin", dir);
    FILE *f = fopen(path, "r+b");
    fseek(f, 1000, SEEK_SET);
    fputc(toy_a[1000] ^ 1, f);
    fclose(f);
    CHECK(mbt_dataset_verify(toy, dir, NULL, NULL) == MBT_ERR_FORMAT);
    CHECK(strstr(mbt_error_message(), "toy-bin/a.bin") && strstr(mbt_error_message(), "changed"));
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(already == 0 && installed_ok(dir) && strstr(notes, "installing again"));
    /* A missing file likewise. */
    unlink(path);
    CHECK(mbt_dataset_verify(toy, dir, NULL, NULL) == MBT_ERR_FORMAT && strstr(mbt_error_message(), "missing"));
    /* --force installs even when intact. */
    o = options(NULL, 0);
    o.force = 1;
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    o.force = 1;
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(already == 0 && srv.requests > 0 && installed_ok(dir));
    /* No manifest: not installed (MBT_ERR_IO). */
    unlink(manifest);
    CHECK(mbt_dataset_verify(toy, dir, NULL, NULL) == MBT_ERR_IO);
    free(manifest);

    /* Resume across runs: the connection breaks after 40000 bytes and the run fails with a message
     * naming the URL, the partial file and --from; the next run asks only for the rest. */
    snprintf(dir, sizeof dir, "%s/data2", tmp);
    server_reset(40000, 2, 0); /* both mirrors' requests are cut (the first is a 404 anyway) */
    o = options(NULL, 0);
    mbt_status st = mbt_dataset_install(toy, dir, &o, &already);
    CHECK(st == MBT_ERR_IO);
    const char *msg = mbt_error_message();
    CHECK_MSG(strstr(msg, url("/toy.tar.gz")) && strstr(msg, "--from") && strstr(msg, "toy.tar.gz.partial") &&
                  strstr(msg, "40000 bytes"),
              "%s", msg);
    snprintf(path, sizeof path, "%s/toy.tar.gz.partial", dir);
    CHECK(file_size(path) == 40000);
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(installed_ok(dir) && strstr(notes, "resuming"));
    CHECK_MSG(srv.last_range == 40000 && srv.body_sent == (long long)toy_len - 40000,
              "range %lld, sent %lld of %zu", srv.last_range, srv.body_sent, toy_len);

    /* Within one run: broken connections that made progress are retried, resuming each time. */
    snprintf(dir, sizeof dir, "%s/data3", tmp);
    server_reset(30000, 3, 0); /* the 404 mirror, then two cut transfers, then a whole one */
    o = options(NULL, 3);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(installed_ok(dir) && srv.requests == 4 && srv.last_range == 60000);
    CHECK(srv.body_sent == (long long)toy_len);

    /* A partial file whose bytes are wrong: the resumed file fails its MD5 and is fetched afresh. */
    snprintf(dir, sizeof dir, "%s/data4", tmp);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/toy.tar.gz.partial", dir);
    unsigned char *junk = random_bytes(5000, 99);
    write_bytes(path, junk, 5000);
    free(junk);
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(installed_ok(dir) && strstr(notes, "afresh"));
    /* A verified archive already in the folder is used without downloading (and kept with keep_archives). */
    snprintf(dir, sizeof dir, "%s/data5", tmp);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/toy.tar.gz", dir);
    write_bytes(path, toy_arc, toy_len);
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    o.keep_archives = 1;
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(installed_ok(dir) && srv.requests == 0 && file_size(path) == (long long)toy_len);

    /* Several gzip files from a mirror, decompressed to their paths. */
    snprintf(dir, sizeof dir, "%s/data6", tmp);
    server_reset(-1, 0, 0);
    o = options(NULL, 0);
    CHECK_OK(mbt_dataset_install(toygz, dir, &o, &already));
    snprintf(path, sizeof path, "%s/TOY/raw/a", dir);
    CHECK(file_equals(path, toy_a, TOY_A));
    snprintf(path, sizeof path, "%s/TOY/raw/b", dir);
    CHECK(file_equals(path, toy_b, TOY_B));
    CHECK(srv.requests == 2);
    mbt_source_catalog_free(&cat);
}

static void test_install_errors(void) {
    char text[2048], dir[300], path[400];
    mbt_source_catalog cat = {0};
    /* The catalogue's MD5 for toy.tar.gz is wrong: the download is refused, naming both sums. */
    const char *wrong = "0123456789abcdef0123456789abcdef";
    toy_catalog(text, sizeof text, wrong);
    CHECK_OK(mbt_source_catalog_parse(&cat, text, "test"));
    const mbt_dataset_source *toy = mbt_source_catalog_find(&cat, "toy");
    int already;
    snprintf(dir, sizeof dir, "%s/bad1", tmp);
    server_reset(-1, 0, 0);
    mbt_install_options o = options(NULL, 0);
    mbt_status st = mbt_dataset_install(toy, dir, &o, &already);
    const char *msg = mbt_error_message();
    CHECK(st == MBT_ERR_FORMAT);
    CHECK_MSG(strstr(msg, "checksum mismatch") && strstr(msg, toy_md5) && strstr(msg, wrong) && strstr(msg, "toy.tar.gz"),
              "%s", msg);
    snprintf(path, sizeof path, "%s/toy.tar.gz.partial", dir);
    CHECK(file_size(path) == -1); /* a wrong download is not kept for resuming */
    snprintf(path, sizeof path, "%s/toy-bin/a.bin", dir);
    CHECK(file_size(path) == -1); /* nor unpacked */
    mbt_source_catalog_free(&cat);

    /* Offline installs from a local copy: no request reaches the server. */
    memset(&cat, 0, sizeof cat);
    toy_catalog(text, sizeof text, toy_md5);
    CHECK_OK(mbt_source_catalog_parse(&cat, text, "test"));
    toy = mbt_source_catalog_find(&cat, "toy");
    const mbt_dataset_source *toygz = mbt_source_catalog_find(&cat, "toygz");
    char from[300];
    snprintf(from, sizeof from, "%s/toy.tar.gz", tmp);
    snprintf(dir, sizeof dir, "%s/from1", tmp);
    server_reset(-1, 0, 0);
    o = options(from, 0);
    CHECK_OK(mbt_dataset_install(toy, dir, &o, &already));
    CHECK(installed_ok(dir) && srv.requests == 0 && file_size(from) == (long long)toy_len);
    /* A folder holding the published names, for a several-file dataset; or one of its files. */
    snprintf(dir, sizeof dir, "%s/from2", tmp);
    o = options(tmp, 0);
    CHECK_OK(mbt_dataset_install(toygz, dir, &o, &already));
    snprintf(path, sizeof path, "%s/TOY/raw/b", dir);
    CHECK(file_equals(path, toy_b, TOY_B) && srv.requests == 0);
    snprintf(dir, sizeof dir, "%s/from3", tmp);
    snprintf(from, sizeof from, "%s/b.gz", tmp);
    o = options(from, 0);
    CHECK_OK(mbt_dataset_install(toygz, dir, &o, &already));
    snprintf(path, sizeof path, "%s/TOY/raw/a", dir);
    CHECK(file_equals(path, toy_a, TOY_A) && srv.requests == 0);
    /* A wrong local copy: named, with both sums; it is left where it is. */
    snprintf(from, sizeof from, "%s/a.gz", tmp);
    snprintf(dir, sizeof dir, "%s/from4", tmp);
    o = options(from, 0);
    st = mbt_dataset_install(toy, dir, &o, &already);
    msg = mbt_error_message();
    CHECK(st == MBT_ERR_FORMAT && strstr(msg, from) && strstr(msg, gz_a_md5) && strstr(msg, toy_md5));
    CHECK(file_size(from) == (long long)gz_a_len);
    /* A missing one. */
    snprintf(from, sizeof from, "%s/nothing-here", tmp);
    o = options(from, 0);
    CHECK(mbt_dataset_install(toy, dir, &o, &already) == MBT_ERR_IO && strstr(mbt_error_message(), from));
    mbt_source_catalog_free(&cat);

    /* The archive lacks a file the reader needs: an error, and no manifest. */
    memset(&cat, 0, sizeof cat);
    snprintf(text, sizeof text,
             "dataset toy Toy\nfile toy.tar.gz %s archive . http://127.0.0.1:%d/toy.tar.gz\nexpect toy-bin/c.bin\n",
             toy_md5, srv.port);
    CHECK_OK(mbt_source_catalog_parse(&cat, text, "test"));
    toy = mbt_source_catalog_find(&cat, "toy");
    snprintf(dir, sizeof dir, "%s/bad2", tmp);
    o = options(NULL, 0);
    CHECK(mbt_dataset_install(toy, dir, &o, &already) == MBT_ERR_FORMAT);
    CHECK(strstr(mbt_error_message(), "toy-bin/c.bin") != NULL);
    char *manifest = mbt_dataset_manifest_path(toy, dir);
    CHECK(file_size(manifest) == -1);
    free(manifest);
    /* The data folder is a file. */
    snprintf(dir, sizeof dir, "%s/toy.tar.gz", tmp);
    o = options(NULL, 0);
    CHECK(mbt_dataset_install(toy, dir, &o, &already) == MBT_ERR_IO && strstr(mbt_error_message(), "not a folder"));
    mbt_source_catalog_free(&cat);
}

/* ---- the command line ----------------------------------------------------------------------- */

/* Runs the built mixbt with the test catalogue; returns its exit status; output in tmp/out.txt, err.txt. */
static int mixbt(const char *args) {
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "MIXBT_DOWNLOAD_CATALOG=%s/test.cat %s download %s > %s/out.txt 2> %s/err.txt", tmp,
             MIXBT_BINARY, args, tmp, tmp);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *output(const char *name) {
    char path[300];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    unsigned char *b = read_all(path, &n);
    if (b) b[n] = 0;
    return (char *)b;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static void test_cli(void) {
    char text[2048], path[400], args[800];
    toy_catalog(text, sizeof text, toy_md5);
    snprintf(path, sizeof path, "%s/test.cat", tmp);
    write_bytes(path, text, strlen(text));

    server_reset(-1, 0, 0);
    snprintf(args, sizeof args, "toy --data %s/cli1", tmp);
    CHECK(mixbt(args) == 0);
    char *out = output("out.txt"), *err = output("err.txt");
    CHECK_MSG(out && strstr(out, "downloaded toy.tar.gz") && strstr(out, "installed"), "%s", out ? out : "");
    CHECK(err && !*err);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/cli1", tmp);
    CHECK(installed_ok(path));
    CHECK(mixbt(args) == 0);
    out = output("out.txt");
    CHECK(out && strstr(out, "already in"));
    free(out);

    /* A broken connection: exit 1, one line on stderr naming the URL and --from; then a resume. */
    server_reset(40000, 2, 0);
    snprintf(args, sizeof args, "toy --data %s/cli2 --retries 0", tmp);
    CHECK(mixbt(args) == 1);
    err = output("err.txt");
    CHECK_MSG(err && count_lines(err) == 1 && strstr(err, url("/toy.tar.gz")) && strstr(err, "--from"), "%s",
              err ? err : "");
    free(err);
    server_reset(-1, 0, 0);
    CHECK(mixbt(args) == 0);
    CHECK(srv.last_range == 40000);
    snprintf(path, sizeof path, "%s/cli2", tmp);
    CHECK(installed_ok(path));

    /* --from, and a wrong --from. */
    snprintf(args, sizeof args, "toy --data %s/cli3 --from %s/toy.tar.gz", tmp, tmp);
    server_reset(-1, 0, 0);
    CHECK(mixbt(args) == 0 && srv.requests == 0);
    snprintf(args, sizeof args, "toy --data %s/cli4 --from %s/b.gz", tmp, tmp);
    CHECK(mixbt(args) == 1);
    err = output("err.txt");
    CHECK(err && count_lines(err) == 1 && strstr(err, "checksum mismatch") && strstr(err, gz_b_md5) && strstr(err, toy_md5));
    free(err);

    /* Usage errors exit 2. */
    CHECK(mixbt("nosuch --data x") == 2);
    err = output("err.txt");
    CHECK(err && strstr(err, "unknown dataset 'nosuch'") && strstr(err, "cifar10") && strstr(err, "toy"));
    free(err);
    CHECK(mixbt("toy") == 2);
    CHECK(mixbt("--data x") == 2);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/mbt_download_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    if (!server_start()) {
        fprintf(stderr, "cannot start the test server on 127.0.0.1\n");
        return 1;
    }
    test_transfers();
    make_toy_files();
    test_install();
    test_install_errors();
    test_cli();
    server_stop();
    free(toy_arc);
    free(gz_a);
    free(gz_b);
    free(toy_a);
    free(toy_b);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report("test_download");
}
