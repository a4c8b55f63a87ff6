/* Splits a fuzz input into parts at a separator ("#REC#"), for harnesses that build several files
 * (the members of an archive, the files of a dataset) from one input. */
#ifndef MBT_FUZZ_PARTS_H
#define MBT_FUZZ_PARTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_SEP "#REC#"

/* The part starting at *p (before the next separator or end): its start and length; *p moves past
 * the separator, or to NULL after the last part. */
static inline const uint8_t *fuzz_next_part(const uint8_t **p, const uint8_t *end, size_t *len) {
    const uint8_t *start = *p, *q = start;
    size_t seplen = sizeof FUZZ_SEP - 1;
    while (q + seplen <= end && memcmp(q, FUZZ_SEP, seplen)) q++;
    if (q + seplen <= end) {
        *len = (size_t)(q - start);
        *p = q + seplen;
    } else {
        *len = (size_t)(end - start);
        *p = NULL;
    }
    return start;
}

#endif
