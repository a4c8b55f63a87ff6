/* Tests of the pieces under `mixbt download`: MD5 (RFC 1321 vectors, md5sum), safe member names,
 * archive and gzip unpacking (archives made by GNU tar/gzip and hostile ones made with libarchive),
 * and the download catalogue parser. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/status.h"
#include "io/archive.h"
#include "io/checksum.h"
#include "io/dataset_source.h"

static char tmp[256];

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

/* n pseudo-random bytes (xorshift), incompressible enough that gzip keeps them large. */
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

static int file_equals(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char *buf = malloc(n + 1);
    size_t got = fread(buf, 1, n + 1, f);
    fclose(f);
    int eq = got == n && memcmp(buf, data, n) == 0;
    free(buf);
    return eq;
}

/* The MD5 that coreutils' md5sum computes for path (an independent implementation). */
static void md5sum_tool(const char *path, char out[33]) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "md5sum '%s'", path);
    FILE *p = popen(cmd, "r");
    out[0] = 0;
    if (!p || fscanf(p, "%32s", out) != 1) out[0] = 0;
    if (p) pclose(p);
}

static void test_md5_vectors(void) {
    /* RFC 1321, appendix A.5. */
    static const char *in[] = {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
                               "12345678901234567890123456789012345678901234567890123456789012345678901234567890"};
    static const char *want[] = {"d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
                                 "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
                                 "c3fcd3d76192e4007dfb496cca67e13b", "57edf4a22be3c955ac49da2e2107b67a"};
    for (int i = 0; i < 6; i++) {
        mbt_md5 m;
        char hex[33];
        CHECK_OK(mbt_md5_init(&m));
        /* Fed in two pieces: the split must not matter. */
        size_t n = strlen(in[i]);
        CHECK_OK(mbt_md5_update(&m, in[i], n / 2));
        CHECK_OK(mbt_md5_update(&m, in[i] + n / 2, n - n / 2));
        CHECK_OK(mbt_md5_final(&m, hex));
        CHECK_MSG(!strcmp(hex, want[i]), "md5(\"%s\") = %s, expected %s", in[i], hex, want[i]);
    }
    CHECK(mbt_md5_is_hex("900150983CD24FB0D6963F7D28E17F72"));
    CHECK(!mbt_md5_is_hex("900150983cd24fb0d6963f7d28e17f7"));
    CHECK(!mbt_md5_is_hex("900150983cd24fb0d6963f7d28e17f7g"));
    CHECK(mbt_md5_equal("900150983CD24FB0D6963F7D28E17F72", "900150983cd24fb0d6963f7d28e17f72"));
    CHECK(!mbt_md5_equal("900150983cd24fb0d6963f7d28e17f72", "900150983cd24fb0d6963f7d28e17f73"));
}

static int progress_calls;
static int64_t progress_last;
static int count_progress(void *ctx, int64_t done, int64_t total) {
    (void)total;
    progress_calls++;
    progress_last = done;
    return ctx != NULL; /* a non-NULL ctx asks to cancel */
}

static void test_md5_file(void) {
    /* Larger than the 64 KiB read chunk, not a multiple of it. */
    size_t n = 300000;
    unsigned char *b = random_bytes(n, 7);
    char path[300], hex[33], ref[33];
    snprintf(path, sizeof path, "%s/md5.bin", tmp);
    write_bytes(path, b, n);
    progress_calls = 0;
    CHECK_OK(mbt_md5_file(path, hex, count_progress, NULL));
    md5sum_tool(path, ref);
    CHECK_MSG(!strcmp(hex, ref), "mbt_md5_file %s, md5sum %s", hex, ref);
    CHECK(progress_calls >= 5 && progress_last == (int64_t)n);
    int dummy = 0;
    CHECK(mbt_md5_file(path, hex, count_progress, &dummy) == MBT_ERR_INTERRUPTED);
    snprintf(path, sizeof path, "%s/absent.bin", tmp);
    CHECK(mbt_md5_file(path, hex, NULL, NULL) == MBT_ERR_IO);
    CHECK(strstr(mbt_error_message(), "absent.bin") != NULL);
    free(b);
}

static void test_safe_relpath(void) {
    struct {
        const char *in, *out;
        int want;
    } cases[] = {
        {"a/b.bin", "a/b.bin", 1},       {"./a//b.bin", "a/b.bin", 1},  {"a/./b/", "a/b", 1},
        {"././x", "x", 1},               {"./", "", 0},                 {".", "", 0},
        {"../x", NULL, -1},              {"a/../../x", NULL, -1},       {"/etc/passwd", NULL, -1},
        {"a/..", NULL, -1},              {"a/\nb", NULL, -1},           {"..a/b..", "..a/b..", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        int r = mbt_archive_safe_relpath(buf);
        CHECK_MSG(r == cases[i].want, "safe_relpath('%s') = %d, expected %d", cases[i].in, r, cases[i].want);
        if (cases[i].out && r >= 0) CHECK_MSG(!strcmp(buf, cases[i].out), "'%s' -> '%s'", cases[i].in, buf);
    }
}

static void run(const char *cmd) {
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "command failed (%d): %s", rc, cmd);
}

static const mbt_unpacked_file *find_unpacked(const mbt_unpacked_list *l, const char *path) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].path, path)) return &l->items[i];
    return NULL;
}

static void test_extract_tar(void) {
    char src[300], arc[300], out[300], path[400], cmd[1200];
    snprintf(src, sizeof src, "%s/src", tmp);
    snprintf(arc, sizeof arc, "%s/toy.tar.gz", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/toy-bin/sub %s", src, out);
    run(cmd);
    size_t na = 150000, nb = 777;
    unsigned char *a = random_bytes(na, 1), *b = random_bytes(nb, 2);
    snprintf(path, sizeof path, "%s/toy-bin/a.bin", src);
    write_bytes(path, a, na);
    snprintf(path, sizeof path, "%s/toy-bin/sub/b.bin", src);
    write_bytes(path, b, nb);
    snprintf(path, sizeof path, "%s/toy-bin/empty", src);
    write_bytes(path, "", 0);
    /* GNU tar, with a leading "./" as many published archives have. */
    snprintf(cmd, sizeof cmd, "tar -czf %s -C %s ./toy-bin", arc, src);
    run(cmd);

    mbt_unpacked_list list = {0};
    progress_calls = 0;
    CHECK_OK(mbt_archive_extract(arc, out, "data", &list, count_progress, NULL));
    CHECK(list.count == 3);
    CHECK(progress_calls > 0);
    snprintf(path, sizeof path, "%s/data/toy-bin/a.bin", out);
    CHECK(file_equals(path, a, na));
    char ref[33];
    md5sum_tool(path, ref);
    const mbt_unpacked_file *fa = find_unpacked(&list, "data/toy-bin/a.bin");
    CHECK(fa && fa->size == (int64_t)na && !strcmp(fa->md5, ref));
    snprintf(path, sizeof path, "%s/data/toy-bin/sub/b.bin", out);
    CHECK(file_equals(path, b, nb));
    const mbt_unpacked_file *fb = find_unpacked(&list, "data/toy-bin/sub/b.bin");
    md5sum_tool(path, ref);
    CHECK(fb && fb->size == (int64_t)nb && !strcmp(fb->md5, ref));
    const mbt_unpacked_file *fe = find_unpacked(&list, "data/toy-bin/empty");
    CHECK(fe && fe->size == 0 && !strcmp(fe->md5, "d41d8cd98f00b204e9800998ecf8427e"));
    /* No temporary files are left next to the results. */
    snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '*.tmp.*')\"", out);
    run(cmd);
    mbt_unpacked_list_free(&list);

    /* Unpacking again over the same files replaces them. */
    CHECK_OK(mbt_archive_extract(arc, out, ".", &list, NULL, NULL));
    CHECK(find_unpacked(&list, "toy-bin/a.bin") != NULL);
    mbt_unpacked_list_free(&list);

    /* A file that is not an archive. */
    snprintf(path, sizeof path, "%s/src/toy-bin/a.bin", tmp);
    CHECK(mbt_archive_extract(path, out, ".", &list, NULL, NULL) == MBT_ERR_FORMAT);
    /* A truncated archive. */
    snprintf(cmd, sizeof cmd, "head -c 60000 %s > %s/cut.tar.gz", arc, tmp);
    run(cmd);
    snprintf(path, sizeof path, "%s/cut.tar.gz", tmp);
    CHECK(mbt_archive_extract(path, out, "cut", &list, NULL, NULL) == MBT_ERR_FORMAT);
    CHECK(strstr(mbt_error_message(), "cut.tar.gz") != NULL);
    mbt_unpacked_list_free(&list);
    free(a);
    free(b);
}

/* A one-member tar.gz written with libarchive (which stores names as given). */
static void write_hostile(const char *path, const char *member, unsigned type, const char *link) {
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, member);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0644);
    if (link && type == AE_IFLNK) archive_entry_set_symlink(e, link);
    if (link && type == AE_IFREG) archive_entry_set_hardlink(e, link);
    archive_entry_set_size(e, type == AE_IFREG && !link ? 5 : 0);
    CHECK(archive_write_header(a, e) == ARCHIVE_OK);
    if (type == AE_IFREG && !link) CHECK(archive_write_data(a, "hello", 5) == 5);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
}

static void test_extract_hostile(void) {
    char arc[300], out[300], cmd[800];
    snprintf(arc, sizeof arc, "%s/hostile.tar.gz", tmp);
    snprintf(out, sizeof out, "%s/jail/in", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", out);
    run(cmd);
    struct {
        const char *member;
        unsigned type;
        const char *link;
        const char *why;
    } cases[] = {
        {"../escaped.txt", AE_IFREG, NULL, "'..'"},
        {"ok/../../escaped.txt", AE_IFREG, NULL, "'..'"},
        {"/tmp/mbt_absolute_escape.txt", AE_IFREG, NULL, "absolute"},
        {"link", AE_IFLNK, "/etc/passwd", "symbolic link"},
        {"hard", AE_IFREG, "../escaped.txt", "hard link"},
        {"fifo", AE_IFIFO, NULL, "FIFO"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_hostile(arc, cases[i].member, cases[i].type, cases[i].link);
        mbt_unpacked_list list = {0};
        mbt_status st = mbt_archive_extract(arc, out, ".", &list, NULL, NULL);
        CHECK_MSG(st == MBT_ERR_FORMAT, "member '%s' was not refused", cases[i].member);
        CHECK_MSG(strstr(mbt_error_message(), cases[i].why) != NULL, "message for '%s': %s", cases[i].member,
                  mbt_error_message());
        CHECK(list.count == 0);
        mbt_unpacked_list_free(&list);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/jail/escaped.txt", tmp);
    CHECK(access(path, F_OK) != 0);
    CHECK(access("/tmp/mbt_absolute_escape.txt", F_OK) != 0);
    snprintf(path, sizeof path, "%s/link", out);
    CHECK(access(path, F_OK) != 0);
    /* A destination folder outside the root is refused too. */
    write_hostile(arc, "fine.txt", AE_IFREG, NULL);
    mbt_unpacked_list list = {0};
    CHECK(mbt_archive_extract(arc, out, "../up", &list, NULL, NULL) == MBT_ERR_ARG);
    CHECK_OK(mbt_archive_extract(arc, out, ".", &list, NULL, NULL));
    snprintf(path, sizeof path, "%s/fine.txt", out);
    CHECK(file_equals(path, "hello", 5));
    mbt_unpacked_list_free(&list);
}

static void test_gunzip(void) {
    char src[300], gz[320], out[300], path[400], cmd[1000];
    snprintf(src, sizeof src, "%s/labels-idx1-ubyte", tmp);
    snprintf(gz, sizeof gz, "%s.gz", src);
    snprintf(out, sizeof out, "%s/gz", tmp);
    size_t n = 100000;
    unsigned char *b = random_bytes(n, 3);
    write_bytes(src, b, n);
    snprintf(cmd, sizeof cmd, "gzip -c %s > %s && mkdir -p %s", src, gz, out);
    run(cmd);
    mbt_unpacked_list list = {0};
    CHECK_OK(mbt_archive_gunzip(gz, out, "MNIST/raw/labels-idx1-ubyte", &list, NULL, NULL));
    snprintf(path, sizeof path, "%s/MNIST/raw/labels-idx1-ubyte", out);
    CHECK(file_equals(path, b, n));
    char ref[33];
    md5sum_tool(src, ref);
    CHECK(list.count == 1 && list.items[0].size == (int64_t)n && !strcmp(list.items[0].md5, ref));
    CHECK(list.count == 1 && !strcmp(list.items[0].path, "MNIST/raw/labels-idx1-ubyte"));
    /* Not gzip data. */
    CHECK(mbt_archive_gunzip(src, out, "x", &list, NULL, NULL) == MBT_ERR_FORMAT);
    CHECK(strstr(mbt_error_message(), "not gzip") != NULL);
    CHECK(mbt_archive_gunzip(gz, out, "../x", &list, NULL, NULL) == MBT_ERR_ARG);
    mbt_unpacked_list_free(&list);
    free(b);
}

static void test_catalog(void) {
    mbt_source_catalog cat = {0};
    CHECK_OK(mbt_source_catalog_parse(&cat, mbt_source_builtin_text(), "built-in"));
    const char *names[] = {"cifar10", "cifar100", "stl10", "mnist", "fashion_mnist"};
    for (int i = 0; i < 5; i++) CHECK_MSG(mbt_source_catalog_find(&cat, names[i]) != NULL, "no %s", names[i]);
    CHECK(cat.count == 5);
    /* Mirrors expand into one URL per file, in order. */
    const mbt_dataset_source *m = mbt_source_catalog_find(&cat, "mnist");
    CHECK(m && m->n_files == 4 && m->files[0].n_urls == 2);
    if (m && m->n_files == 4) {
        CHECK(!strcmp(m->files[0].urls[0], "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"));
        CHECK(m->files[3].unpack == MBT_UNPACK_GUNZIP && !strcmp(m->files[3].dest, "MNIST/raw/t10k-labels-idx1-ubyte"));
    }
    const mbt_dataset_source *c = mbt_source_catalog_find(&cat, "cifar10");
    CHECK(c && c->n_files == 1 && c->files[0].unpack == MBT_UNPACK_ARCHIVE && !strcmp(c->files[0].dest, "."));
    CHECK(c && c->n_expect == 6);

    /* A later entry of the same name replaces the built-in; MD5s are lowercased; titles kept. */
    const char *extra = "# test entries\n"
                        "dataset cifar10 Replaced   title  # comment\n"
                        "file a.tgz 0123456789ABCDEF0123456789abcdef archive sub http://h/a.tgz https://h2/a.tgz\n"
                        "expect sub/x ./sub//y\n"
                        "dataset toy\n"
                        "mirror http://m1/\n"
                        "file t.gz 0123456789abcdef0123456789abcdef gunzip out/t\n";
    CHECK_OK(mbt_source_catalog_parse(&cat, extra, "extra"));
    CHECK(cat.count == 6);
    c = mbt_source_catalog_find(&cat, "cifar10");
    CHECK(c && !strcmp(c->title, "Replaced   title"));
    CHECK(c && !strcmp(c->files[0].md5, "0123456789abcdef0123456789abcdef") && c->files[0].n_urls == 2);
    CHECK(c && c->n_expect == 2 && !strcmp(c->expect[1], "sub/y"));
    const mbt_dataset_source *t = mbt_source_catalog_find(&cat, "toy");
    CHECK(t && !strcmp(t->title, "toy") && t->files[0].n_urls == 1 && !strcmp(t->files[0].urls[0], "http://m1/t.gz"));

    /* Errors name the origin and line; the catalogue is unchanged. */
    struct {
        const char *text, *needle;
    } bad[] = {
        {"file a.gz 0123456789abcdef0123456789abcdef gunzip a http://h/a\n", "before any 'dataset'"},
        {"dataset x\nfile a.gz 0123 gunzip a http://h/a\n", "line 2: '0123' is not an MD5"},
        {"dataset x\nfile a.gz 0123456789abcdef0123456789abcdef unzip a http://h/a\n", "unpack kind"},
        {"dataset x\nfile a.gz 0123456789abcdef0123456789abcdef gunzip ../a http://h/a\n", "destination"},
        {"dataset x\nfile a.gz 0123456789abcdef0123456789abcdef gunzip a ftp://h/a\n", "not an http"},
        {"dataset x\nfile a.gz 0123456789abcdef0123456789abcdef gunzip a\n", "no URL"},
        {"dataset x\nmirror http://h\n", "ending in '/'"},
        {"dataset x\n", "lists no file"},
        {"dataset Bad-Name\n", "NAME of a-z"},
        {"dataset x\nfetch y\n", "unknown statement 'fetch'"},
        {"dataset x\nexpect /etc/passwd\n", "expected file"},
        {"dataset x\nfile a/b.gz 0123456789abcdef0123456789abcdef gunzip a http://h/a\n", "bad file name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(mbt_source_catalog_parse(&cat, bad[i].text, "bad.cat") == MBT_ERR_FORMAT);
        CHECK_MSG(strstr(mbt_error_message(), bad[i].needle) && strstr(mbt_error_message(), "bad.cat line"),
                  "case %zu: %s", i, mbt_error_message());
    }
    CHECK(cat.count == 6);
    mbt_source_catalog_free(&cat);

    /* The environment variable adds a catalogue file; a bad one is an error naming the variable. */
    char path[300];
    snprintf(path, sizeof path, "%s/extra.cat", tmp);
    write_bytes(path, extra, strlen(extra));
    setenv("MIXBT_DOWNLOAD_CATALOG", path, 1);
    CHECK_OK(mbt_source_catalog_load(&cat));
    CHECK(cat.count == 6 && mbt_source_catalog_find(&cat, "toy"));
    mbt_source_catalog_free(&cat);
    snprintf(path, sizeof path, "%s/absent.cat", tmp);
    setenv("MIXBT_DOWNLOAD_CATALOG", path, 1);
    CHECK(mbt_source_catalog_load(&cat) == MBT_ERR_IO);
    CHECK(strstr(mbt_error_message(), "MIXBT_DOWNLOAD_CATALOG") != NULL);
    unsetenv("MIXBT_DOWNLOAD_CATALOG");
    CHECK_OK(mbt_source_catalog_load(&cat));
    CHECK(cat.count == 5);
    mbt_source_catalog_free(&cat);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/mbt_dlparts_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_md5_vectors();
    test_md5_file();
    test_safe_relpath();
    test_extract_tar();
    test_extract_hostile();
    test_gunzip();
    test_catalog();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report("test_download_parts");
}
