/* Listing image folders for the readers of folder layouts (private to src/data): sorted names, and a
 * class folder's images in torchvision's order. */
#ifndef MBT_IMAGE_TREE_H
#define MBT_IMAGE_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/file_list.h"

/* A growing list of strings (copies). */
typedef struct {
    char **items;
    size_t n, cap;
} mbt_str_vec;

/* Appends a copy of s; 0 when out of memory. */
int mbt_tree_push(mbt_str_vec *v, const char *s);
void mbt_tree_free(mbt_str_vec *v);
/* strcmp of two char * (for qsort and bsearch over mbt_str_vec items). */
int mbt_tree_cmp_str(const void *a, const void *b);
/* The names in dir that are folders (want_dirs) or image files (.jpg, .jpeg, .png, any case), sorted. */
mbt_status mbt_tree_list(const char *dir, int want_dirs, mbt_str_vec *out);
/* Adds the images under class_dir with label, in torchvision's order (sorted os.walk: folders by path,
 * files by name); an error if there is none. */
mbt_status mbt_tree_add_class(mbt_file_list *l, const char *class_dir, int32_t label);

#endif
