/* Creating a folder with its missing parents (mkdir -p), for the --out folders of the commands. */
#include "io/make_dirs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

mbt_status mbt_make_dirs(const char *path, const char *what) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return MBT_FAIL(MBT_ERR_ARG, "%s '%s': empty or too long a path", what, path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return MBT_FAIL(MBT_ERR_IO, "%s %s: cannot create the folder %s (%s)", what, path, buf, strerror(errno));
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return MBT_FAIL(MBT_ERR_IO, "%s %s: exists and is not a folder", what, path);
    return MBT_OK;
}
