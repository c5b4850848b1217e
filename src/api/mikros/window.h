/* window.h — the analytics' time windows (CONTRACT 7.2): "the period ending now", exact to the second,
 * split into the whole UTC days inside it (read from the daily rollups) and its two edges (read from
 * the raw rows). Pure arithmetic, so the unit tests can pin every edge. */
#ifndef GH_API_MIKROS_WINDOW_H
#define GH_API_MIKROS_WINDOW_H

#include <stdint.h>

#define MIKROS_DAY_SECONDS 86400

/* [start, end) in Unix seconds; [whole_from, whole_to) the whole days inside it (midnights UTC).
 * Without a whole day inside, whole_from = whole_to = end: the raw rows cover all of it. */
struct mikros_window {
    int64_t start, whole_from, whole_to, end;
};

/* The window of length seconds that ends `back` lengths before end (0: the one ending at end;
 * 1: the previous period of equal length). */
struct mikros_window mikros_window_before(int64_t end, int64_t length, int back);

/* "7d", "30d", "90d" → seconds; 0 for anything else. */
int64_t mikros_period_seconds(const char *period);

#endif
