/* Creating a folder with its missing parents (mkdir -p). */
#ifndef MBT_MAKE_DIRS_H
#define MBT_MAKE_DIRS_H

#include "core/status.h"

/* Creates path and every missing parent; an existing folder is fine. Errors name `what` (the flag,
 * e.g. "--out"), the path and the folder that could not be made, or say that path is not a folder. */
mbt_status mbt_make_dirs(const char *path, const char *what);

#endif
