/* Where each downloadable dataset comes from: its files, their published MD5s, mirrors and what
 * unpacking them must produce. A built-in catalogue, extendable by a catalogue file. */
#ifndef MBT_DATASET_SOURCE_H
#define MBT_DATASET_SOURCE_H

#include "core/status.h"
#include "io/checksum.h"

#define MBT_SOURCE_MAX_URLS 4
#define MBT_SOURCE_MAX_FILES 8
#define MBT_SOURCE_MAX_EXPECT 8

typedef enum {
    MBT_UNPACK_ARCHIVE, /* a tar(.gz)/zip archive unpacked into the folder `dest` under the data folder */
    MBT_UNPACK_GUNZIP   /* one gzip file decompressed to the path `dest` under the data folder */
} mbt_unpack_kind;

typedef struct {
    char *name;                        /* the published file name, e.g. "cifar-10-binary.tar.gz" */
    char md5[MBT_MD5_HEX_LEN + 1];     /* its published MD5, lowercase */
    mbt_unpack_kind unpack;
    char *dest;                        /* ARCHIVE: folder ("." = the data folder); GUNZIP: file path */
    int n_urls;
    char *urls[MBT_SOURCE_MAX_URLS];   /* tried in order */
} mbt_source_file;

typedef struct {
    char *name;  /* "cifar10" */
    char *title; /* "CIFAR-10 (binary version)" */
    int n_files;
    mbt_source_file files[MBT_SOURCE_MAX_FILES];
    int n_expect;
    char *expect[MBT_SOURCE_MAX_EXPECT]; /* paths under the data folder that must exist afterwards */
} mbt_dataset_source;

typedef struct {
    int count;
    mbt_dataset_source *items;
} mbt_source_catalog;

/* The catalogue text built into the program (CIFAR-10, CIFAR-100, STL-10, MNIST, Fashion-MNIST). */
const char *mbt_source_builtin_text(void);

/* Adds the entries described by text to cat (cat zeroed before the first call). An entry whose
 * name is already in cat replaces it. The format, one statement per line, '#' starts a comment:
 *   dataset NAME TITLE...              starts an entry (NAME: lowercase letters, digits, '_')
 *   mirror BASE_URL                    a base URL ending in '/', tried in order for every file
 *                                      of the entry that lists no URLs of its own
 *   file NAME MD5 archive DIR [URL...] an archive unpacked into DIR ("." = the data folder)
 *   file NAME MD5 gunzip PATH [URL...] a .gz file decompressed to PATH
 *   expect PATH...                     files that must exist under the data folder afterwards
 * URLs are http:// or https://; paths are relative without "..". Errors (MBT_ERR_FORMAT) name
 * origin and the line. On error cat keeps the entries it had before the call. */
mbt_status mbt_source_catalog_parse(mbt_source_catalog *cat, const char *text, const char *origin);

/* The built-in catalogue, then the catalogue file named by the environment variable
 * MIXBT_DOWNLOAD_CATALOG if it is set (for tests and private mirrors). */
mbt_status mbt_source_catalog_load(mbt_source_catalog *cat);

/* The entry called name, or NULL. */
const mbt_dataset_source *mbt_source_catalog_find(const mbt_source_catalog *cat, const char *name);

void mbt_source_catalog_free(mbt_source_catalog *cat);

#endif
