/* Installing a downloadable dataset into a data folder: download (resumable) or take a local copy,
 * check the published MD5s, unpack into the layout the readers expect, and record a manifest so
 * that a later run knows the data is present and intact. */
#ifndef MBT_DATASET_INSTALL_H
#define MBT_DATASET_INSTALL_H

#include <stdint.h>

#include "core/status.h"
#include "io/dataset_source.h"

typedef enum { MBT_FETCH_DOWNLOAD, MBT_FETCH_VERIFY, MBT_FETCH_UNPACK } mbt_fetch_phase;

/* A progress report: one phase of work on one file. */
typedef struct {
    mbt_fetch_phase phase;
    const char *file;    /* the published file name, or a manifest path while verifying an install */
    int64_t done, total; /* bytes (total -1 if unknown); UNPACK counts archive bytes consumed */
    int64_t start;       /* done when the phase began (the bytes a resumed download already had) */
    int finished;        /* 1 on the phase's last report for this file */
} mbt_fetch_event;

typedef struct {
    void *ctx;
    void (*note)(void *ctx, const char *text);                /* a line of news; may be NULL */
    int (*progress)(void *ctx, const mbt_fetch_event *event); /* non-zero cancels; may be NULL */
} mbt_fetch_callbacks;

typedef struct {
    const char *from;  /* a local copy to install from instead of downloading: the file itself (for a
                          one-file dataset) or a folder holding the files under their published
                          names (a file of a several-file dataset stands for its folder); NULL: download */
    int force;         /* install again even when present and verified */
    int keep_archives; /* keep downloaded archives in the data folder after unpacking */
    int retries;       /* further attempts at a URL after a network failure that made progress */
    mbt_fetch_callbacks cb;
} mbt_install_options;

/* The manifest an install writes: dir/.mixbt-NAME.manifest (malloc'ed, or NULL). */
char *mbt_dataset_manifest_path(const mbt_dataset_source *src, const char *dir);

/* Checks that src is installed in dir: the manifest exists, names the same published files and
 * MD5s as src, and every file it lists has its recorded size and MD5; the expected files exist.
 * MBT_OK if so (*n_files: how many were checked; may be NULL); MBT_ERR_IO if there is no manifest
 * (not installed); MBT_ERR_FORMAT naming the first file that is missing or changed. */
mbt_status mbt_dataset_verify(const mbt_dataset_source *src, const char *dir, const mbt_fetch_callbacks *cb,
                              int *n_files);

/* Makes src present in dir (created if needed). Unless opt->force, an install that verifies
 * (mbt_dataset_verify) is left alone and *already is set to 1. Otherwise each published file is
 * obtained: from opt->from, or dir/NAME when a verified copy is there, or downloaded into
 * dir/NAME.partial, resuming what an earlier run left there, trying each URL in turn; every copy
 * must match its published MD5 (a mismatch names the file and both sums; a resumed download that
 * does not match is fetched afresh once). Then the files are unpacked into dir, the expected files
 * checked, the manifest written last, and downloaded archives removed unless opt->keep_archives.
 * Errors are one line: a network failure names the URL and suggests --from; disk errors name the
 * path and the system's reason. */
mbt_status mbt_dataset_install(const mbt_dataset_source *src, const char *dir, const mbt_install_options *opt,
                               int *already);

#endif
