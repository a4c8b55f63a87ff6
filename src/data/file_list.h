/* Labelled lists of image files (private to src/data): what the transfer-set readers (DTD, CUB-200,
 * Flowers-102, GTSRB, FGVC-Aircraft) build from their split and label files, turned into a dataset
 * whose image i is decoded on demand (JPEG, PNG or PPM) and optionally cropped to a box; plus the
 * line-by-line reading of those text files. */
#ifndef MBT_FILE_LIST_H
#define MBT_FILE_LIST_H

#include <stdint.h>

#include "data/dataset.h"

/* A crop box as PIL's Image.crop takes it: columns [x0, x1), rows [y0, y1); pixels outside the image
 * read as black. */
typedef struct {
    int32_t x0, y0, x1, y1;
} mbt_crop_rect;

typedef struct {
    char *chars;     /* NUL-terminated paths back to back */
    size_t len, cap;
    size_t *offsets; /* start of path i in chars */
    int32_t *labels;
    mbt_crop_rect *boxes; /* NULL until the first box is added */
    int64_t count, cap_n;
} mbt_file_list;

/* Appends dir/name (name alone when dir is NULL) with its label and crop box (box NULL: the whole
 * image; a list either has a box for every file or none). */
mbt_status mbt_file_list_add(mbt_file_list *l, const char *dir, const char *name, int32_t label,
                             const mbt_crop_rect *box);
void mbt_file_list_free(mbt_file_list *l);
/* Moves the list into a new dataset (l is left empty, even on failure). class_names: num_classes
 * strings, copied. */
mbt_status mbt_file_list_wrap(mbt_dataset **ds, mbt_file_list *l, int num_classes, const char *const *class_names,
                              const char *description);

/* The lines of a text file: read whole, split at '\n', a trailing '\r' removed from each. */
typedef struct {
    char *text;
    char **line;
    int64_t count;
} mbt_text_lines;

/* Reads path; MBT_ERR_IO naming the file if it is missing or unreadable. Empty lines are kept (as ""),
 * except that a final newline does not make an empty last line. */
mbt_status mbt_text_lines_read(mbt_text_lines *t, const char *path);
void mbt_text_lines_free(mbt_text_lines *t);

/* 1 if s is only blanks (spaces, tabs). */
int mbt_text_blank(const char *s);

/* Sorted, deduplicated copies of strings (for class lists). */
typedef struct {
    char **items;
    int64_t n, cap;
} mbt_str_set;

mbt_status mbt_str_set_add(mbt_str_set *s, const char *str);
/* Sorts by strcmp (Python's order of str for ASCII names) and drops duplicates. */
void mbt_str_set_finish(mbt_str_set *s);
/* Index of str in a finished set, or -1. */
int64_t mbt_str_set_find(const mbt_str_set *s, const char *str);
void mbt_str_set_free(mbt_str_set *s);

#endif
