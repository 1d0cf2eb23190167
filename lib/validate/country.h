/*
 * country.h — ISO 3166-1 alpha-2 country codes.
 *
 * The table holds the 249 officially assigned codes (no user-assigned or
 * reserved ones: XK, EU, UK, ... are refused).
 */
#ifndef RP_VALIDATE_COUNTRY_H
#define RP_VALIDATE_COUNTRY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when cc is exactly two ASCII letters (any case) naming an officially
 * assigned ISO 3166-1 alpha-2 code; out then receives the upper-cased code
 * and a NUL. On false, out (if non-NULL) receives the empty string.
 * NULL cc → false.
 */
bool country_normalize(const char *cc, char out[3]);

/* Number of assigned codes in the table: 249. */
size_t country_count(void);

#endif
