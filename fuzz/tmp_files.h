/* A private temporary folder for the dataset harnesses, whose readers take a folder of files: emptied
 * before each input, filled with the files the input describes, removed at exit. */
#ifndef MBT_FUZZ_TMP_FILES_H
#define MBT_FUZZ_TMP_FILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_tmp[512];

/* Removes everything inside folder (recursively; links are removed, not followed). */
static void fuzz_tmp_empty(const char *folder) {
    DIR *d = opendir(folder);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            fuzz_tmp_empty(path);
            rmdir(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
}

static void fuzz_tmp_remove(void) {
    if (!fuzz_tmp[0]) return;
    fuzz_tmp_empty(fuzz_tmp);
    rmdir(fuzz_tmp);
}

/* The folder (created on first use, in /dev/shm when there is one), emptied. Aborts if it cannot be made. */
static const char *fuzz_tmp_reset(void) {
    if (!fuzz_tmp[0]) {
        const char *base = getenv("TMPDIR");
        struct stat st;
        if (!base || !*base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && !access("/dev/shm", W_OK)
                                        ? "/dev/shm" : "/tmp";
        snprintf(fuzz_tmp, sizeof fuzz_tmp, "%s/mbt-fuzz-XXXXXX", base);
        if (!mkdtemp(fuzz_tmp)) {
            perror(fuzz_tmp);
            abort();
        }
        atexit(fuzz_tmp_remove);
    } else {
        fuzz_tmp_empty(fuzz_tmp);
    }
    return fuzz_tmp;
}

/* Writes data[0, len) to <folder>/rel, creating rel's folders. Aborts on failure. */
static void fuzz_tmp_put(const char *rel, const void *data, size_t len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fuzz_tmp, rel);
    for (char *s = path + strlen(fuzz_tmp) + 1; (s = strchr(s, '/')); s++) {
        *s = 0;
        mkdir(path, 0700);
        *s = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
        perror(path);
        abort();
    }
}

#endif
