/* The dataset download catalogue: the built-in entries (published MD5s as listed by the dataset
 * authors and by torchvision) and a small line-based parser shared with catalogue files. */
#include "io/dataset_source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/archive.h"
#include "io/read_file.h"

/* MD5s: CIFAR binary versions from https://www.cs.toronto.edu/~kriz/cifar.html; STL-10, MNIST and
 * Fashion-MNIST from torchvision 0.14 (datasets/stl10.py, datasets/mnist.py), with its mirrors. */
static const char BUILTIN[] =
    "dataset cifar10 CIFAR-10 (binary version)\n"
    "file cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 archive . "
    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz\n"
    "expect cifar-10-batches-bin/data_batch_1.bin cifar-10-batches-bin/data_batch_2.bin "
    "cifar-10-batches-bin/data_batch_3.bin cifar-10-batches-bin/data_batch_4.bin "
    "cifar-10-batches-bin/data_batch_5.bin cifar-10-batches-bin/test_batch.bin\n"
    "\n"
    "dataset cifar100 CIFAR-100 (binary version)\n"
    "file cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 archive . "
    "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz\n"
    "expect cifar-100-binary/train.bin cifar-100-binary/test.bin\n"
    "\n"
    "dataset stl10 STL-10 (binary version)\n"
    "file stl10_binary.tar.gz 91f7769df0f17e558f3565bffb0c7dfb archive . "
    "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz\n"
    "expect stl10_binary/train_X.bin stl10_binary/train_y.bin stl10_binary/test_X.bin stl10_binary/test_y.bin "
    "stl10_binary/unlabeled_X.bin\n"
    "\n"
    "dataset mnist MNIST\n"
    "mirror https://ossci-datasets.s3.amazonaws.com/mnist/\n"
    "mirror http://yann.lecun.com/exdb/mnist/\n"
    "file train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873 gunzip MNIST/raw/train-images-idx3-ubyte\n"
    "file train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432 gunzip MNIST/raw/train-labels-idx1-ubyte\n"
    "file t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3 gunzip MNIST/raw/t10k-images-idx3-ubyte\n"
    "file t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c gunzip MNIST/raw/t10k-labels-idx1-ubyte\n"
    "\n"
    "dataset fashion_mnist Fashion-MNIST\n"
    "mirror http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/\n"
    "file train-images-idx3-ubyte.gz 8d4fb7e6c68d591d4c3dfef9ec88bf0d gunzip FashionMNIST/raw/train-images-idx3-ubyte\n"
    "file train-labels-idx1-ubyte.gz 25c81989df183df01b3e8a0aad5dffbe gunzip FashionMNIST/raw/train-labels-idx1-ubyte\n"
    "file t10k-images-idx3-ubyte.gz bef4ecab320f06d8554ea6380940ec79 gunzip FashionMNIST/raw/t10k-images-idx3-ubyte\n"
    "file t10k-labels-idx1-ubyte.gz bb300cfdad3c16e7a12a480ee83cd310 gunzip FashionMNIST/raw/t10k-labels-idx1-ubyte\n";

const char *mbt_source_builtin_text(void) { return BUILTIN; }

static void source_free(mbt_dataset_source *d) {
    free(d->name);
    free(d->title);
    for (int f = 0; f < d->n_files; f++) {
        free(d->files[f].name);
        free(d->files[f].dest);
        for (int u = 0; u < d->files[f].n_urls; u++) free(d->files[f].urls[u]);
    }
    for (int e = 0; e < d->n_expect; e++) free(d->expect[e]);
    memset(d, 0, sizeof *d);
}

void mbt_source_catalog_free(mbt_source_catalog *cat) {
    for (int i = 0; i < cat->count; i++) source_free(&cat->items[i]);
    free(cat->items);
    cat->items = NULL;
    cat->count = 0;
}

const mbt_dataset_source *mbt_source_catalog_find(const mbt_source_catalog *cat, const char *name) {
    for (int i = 0; i < cat->count; i++)
        if (!strcmp(cat->items[i].name, name)) return &cat->items[i];
    return NULL;
}

/* Parser state: the entry being built and the mirrors of that entry. */
typedef struct {
    const char *origin;
    int line;
    mbt_dataset_source cur;
    int open;
    int n_mirrors;
    char *mirrors[MBT_SOURCE_MAX_URLS];
    mbt_dataset_source *done;
    int n_done;
} parser;

#define PFAIL(p, ...) parse_fail((p), __FILE__, __LINE__, __VA_ARGS__)
static mbt_status parse_fail(parser *p, const char *file, int line, const char *fmt, const char *a, const char *b) {
    return mbt_error_set(MBT_ERR_FORMAT, file, line, "%s line %d: %s%s%s", p->origin, p->line, fmt, a ? a : "",
                         b ? b : "");
}

static char *dup_or_null(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int is_url(const char *s) { return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8); }

static int is_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

static void clear_mirrors(parser *p) {
    for (int i = 0; i < p->n_mirrors; i++) free(p->mirrors[i]);
    p->n_mirrors = 0;
}

/* Completes the open entry: files without URLs get mirror + name. */
static mbt_status close_entry(parser *p) {
    if (!p->open) return MBT_OK;
    mbt_dataset_source *d = &p->cur;
    if (d->n_files == 0) return PFAIL(p, "dataset '", d->name, "' lists no file");
    for (int f = 0; f < d->n_files; f++) {
        mbt_source_file *sf = &d->files[f];
        if (sf->n_urls) continue;
        if (!p->n_mirrors) return PFAIL(p, "file '", sf->name, "' has no URL and its dataset no mirror");
        for (int m = 0; m < p->n_mirrors; m++) {
            size_t n = strlen(p->mirrors[m]) + strlen(sf->name) + 1;
            char *u = malloc(n);
            if (!u) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p->origin);
            snprintf(u, n, "%s%s", p->mirrors[m], sf->name);
            sf->urls[sf->n_urls++] = u;
        }
    }
    mbt_dataset_source *grown = realloc(p->done, (size_t)(p->n_done + 1) * sizeof *grown);
    if (!grown) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p->origin);
    p->done = grown;
    p->done[p->n_done++] = *d;
    memset(d, 0, sizeof *d);
    p->open = 0;
    clear_mirrors(p);
    return MBT_OK;
}

/* Splits line (modified in place) into at most max tokens; returns the count (max + 1: too many). */
static int tokenize(char *line, char **tok, int max) {
    int n = 0;
    char *s = line;
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        if (n == max) return max + 1;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t') s++;
        if (*s) *s++ = 0;
    }
    return n;
}

static mbt_status parse_line(parser *p, char *line) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    size_t len = strlen(line);
    while (len && isspace((unsigned char)line[len - 1])) line[--len] = 0;
    char title_buf[512];
    /* Keep the untokenised tail for the title of a dataset line. */
    snprintf(title_buf, sizeof title_buf, "%s", line);
    char *tok[4 + MBT_SOURCE_MAX_URLS + MBT_SOURCE_MAX_EXPECT];
    int max = (int)(sizeof tok / sizeof *tok);
    int n = tokenize(line, tok, max);
    if (n == 0) return MBT_OK;
    if (n > max) return PFAIL(p, "too many words", NULL, NULL);
    mbt_dataset_source *d = &p->cur;
    if (!strcmp(tok[0], "dataset")) {
        MBT_TRY(close_entry(p));
        if (n < 2 || !is_name(tok[1])) return PFAIL(p, "expected 'dataset NAME TITLE' (NAME of a-z, 0-9, _)", NULL, NULL);
        const char *title = title_buf; /* after the first two words */
        for (int w = 0; w < 2; w++) {
            while (*title == ' ' || *title == '\t') title++;
            while (*title && *title != ' ' && *title != '\t') title++;
        }
        while (*title == ' ' || *title == '\t') title++;
        d->name = strdup(tok[1]);
        d->title = strdup(*title ? title : tok[1]);
        p->open = 1;
        if (!d->name || !d->title) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p->origin);
        return MBT_OK;
    }
    if (!p->open) return PFAIL(p, "'", tok[0], "' before any 'dataset' line");
    if (!strcmp(tok[0], "mirror")) {
        if (n != 2 || !is_url(tok[1]) || tok[1][strlen(tok[1]) - 1] != '/')
            return PFAIL(p, "expected 'mirror BASE_URL' with an http(s) URL ending in '/'", NULL, NULL);
        if (p->n_mirrors == MBT_SOURCE_MAX_URLS) return PFAIL(p, "too many mirrors", NULL, NULL);
        if (!(p->mirrors[p->n_mirrors] = strdup(tok[1])))
            return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p->origin);
        p->n_mirrors++;
        return MBT_OK;
    }
    if (!strcmp(tok[0], "file")) {
        if (n < 5) return PFAIL(p, "expected 'file NAME MD5 archive|gunzip DEST [URL...]'", NULL, NULL);
        if (d->n_files == MBT_SOURCE_MAX_FILES) return PFAIL(p, "too many files in dataset ", d->name, NULL);
        if (!*tok[1] || strchr(tok[1], '/') || !strcmp(tok[1], ".") || !strcmp(tok[1], ".."))
            return PFAIL(p, "bad file name '", tok[1], "' (a plain name without '/')");
        if (!mbt_md5_is_hex(tok[2])) return PFAIL(p, "'", tok[2], "' is not an MD5 (32 hex digits)");
        mbt_unpack_kind kind;
        if (!strcmp(tok[3], "archive")) kind = MBT_UNPACK_ARCHIVE;
        else if (!strcmp(tok[3], "gunzip")) kind = MBT_UNPACK_GUNZIP;
        else return PFAIL(p, "unpack kind '", tok[3], "' is neither 'archive' nor 'gunzip'");
        char dest[4096];
        snprintf(dest, sizeof dest, "%s", tok[4]);
        int safe = mbt_archive_safe_relpath(dest);
        if (safe < 0 || (safe == 0 && kind == MBT_UNPACK_GUNZIP))
            return PFAIL(p, "destination '", tok[4], "' is not a relative path without '..'");
        if (n - 5 > MBT_SOURCE_MAX_URLS) return PFAIL(p, "too many URLs for ", tok[1], NULL);
        for (int i = 5; i < n; i++)
            if (!is_url(tok[i])) return PFAIL(p, "'", tok[i], "' is not an http:// or https:// URL");
        mbt_source_file *f = &d->files[d->n_files++];
        f->name = strdup(tok[1]);
        f->dest = strdup(safe ? dest : ".");
        f->unpack = kind;
        for (int i = 0; i < 32; i++) f->md5[i] = (char)tolower((unsigned char)tok[2][i]);
        f->md5[32] = 0;
        for (int i = 5; i < n; i++) f->urls[f->n_urls++] = strdup(tok[i]);
        int ok = f->name && f->dest;
        for (int u = 0; u < f->n_urls; u++) ok = ok && f->urls[u];
        if (!ok) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p->origin);
        return MBT_OK;
    }
    if (!strcmp(tok[0], "expect")) {
        for (int i = 1; i < n; i++) {
            if (d->n_expect == MBT_SOURCE_MAX_EXPECT) return PFAIL(p, "too many expected files in ", d->name, NULL);
            char path[4096];
            snprintf(path, sizeof path, "%s", tok[i]);
            if (mbt_archive_safe_relpath(path) != 1)
                return PFAIL(p, "expected file '", tok[i], "' is not a relative path without '..'");
            if (!(d->expect[d->n_expect] = strdup(path)))
                return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p->origin);
            d->n_expect++;
        }
        return MBT_OK;
    }
    return PFAIL(p, "unknown statement '", tok[0], "' (expected dataset, mirror, file or expect)");
}

mbt_status mbt_source_catalog_parse(mbt_source_catalog *cat, const char *text, const char *origin) {
    parser p;
    memset(&p, 0, sizeof p);
    p.origin = origin ? origin : "catalogue";
    mbt_status st = MBT_OK;
    const char *s = text;
    while (st == MBT_OK && *s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        p.line++;
        char *line = dup_or_null(s, n);
        if (!line) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p.origin);
        else st = parse_line(&p, line);
        free(line);
        s += n + (nl ? 1 : 0);
    }
    if (st == MBT_OK) st = close_entry(&p);
    /* Merge: an entry replaces one of the same name. */
    if (st == MBT_OK) {
        mbt_dataset_source *items = realloc(cat->items, (size_t)(cat->count + p.n_done + 1) * sizeof *items);
        if (!items) st = MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the catalogue", p.origin);
        else {
            cat->items = items;
            for (int i = 0; i < p.n_done; i++) {
                int j = 0;
                while (j < cat->count && strcmp(cat->items[j].name, p.done[i].name)) j++;
                if (j < cat->count) source_free(&cat->items[j]);
                else cat->count++;
                cat->items[j] = p.done[i];
            }
            p.n_done = 0;
        }
    }
    for (int i = 0; i < p.n_done; i++) source_free(&p.done[i]);
    free(p.done);
    source_free(&p.cur);
    clear_mirrors(&p);
    return st;
}

mbt_status mbt_source_catalog_load(mbt_source_catalog *cat) {
    memset(cat, 0, sizeof *cat);
    mbt_status st = mbt_source_catalog_parse(cat, BUILTIN, "built-in catalogue");
    const char *extra = getenv("MIXBT_DOWNLOAD_CATALOG");
    if (st == MBT_OK && extra && *extra) {
        void *buf = NULL;
        size_t len = 0;
        st = mbt_read_file(extra, 1 << 20, &buf, &len);
        if (st == MBT_OK) st = mbt_source_catalog_parse(cat, buf, extra);
        else st = MBT_FAIL(st, "MIXBT_DOWNLOAD_CATALOG: %s", mbt_error_message());
        free(buf);
    }
    if (st != MBT_OK) mbt_source_catalog_free(cat);
    return st;
}
