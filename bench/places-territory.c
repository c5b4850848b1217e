/* places-territory.c — bench/places: times territory_largest() (src/api/places/territory.c, linked
 * from src/libguildhall.a) on a real ownership grid.
 *
 *   places-territory WIDTH HEIGHT GRID_FILE [RUNS]
 *
 * GRID_FILE: one "cell<TAB>owner" line per owned cell (owner numbered 1..n, as places_ownership()
 * numbers them; bench/places exports it from canvas_cells with COPY). Runs territory_largest() RUNS
 * times (default 50) on the same grid, each call timed alone with CLOCK_MONOTONIC (the grid is
 * loaded once, outside the timing: the request path's parsing of the SQL arrays is not part of
 * this figure), and prints one line of key=value pairs: best_ms, median_ms, mean_ms, worst_ms,
 * cells, owned, owners, max_largest, sum_largest. */
#include "guildhall.h"
#include "api/places/territory.h"

#include <errno.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s WIDTH HEIGHT GRID_FILE [RUNS]\n", argv[0]);
        return 2;
    }
    int width = atoi(argv[1]), height = atoi(argv[2]), runs = argc == 5 ? atoi(argv[4]) : 50;
    if (width <= 0 || height <= 0 || runs <= 0) {
        fprintf(stderr, "places-territory: bad width, height or runs\n");
        return 2;
    }
    size_t cells = (size_t)width * (size_t)height;
    uint32_t *grid = xcalloc(cells, sizeof(uint32_t));
    FILE *f = fopen(argv[3], "r");
    if (!f) {
        fprintf(stderr, "places-territory: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    long cell, owner;
    size_t owned = 0;
    uint32_t n_owners = 0;
    while (fscanf(f, "%ld %ld", &cell, &owner) == 2) {
        if (cell < 0 || (size_t)cell >= cells || owner <= 0 || owner > (long)UINT32_MAX) {
            fprintf(stderr, "places-territory: bad line: cell %ld owner %ld\n", cell, owner);
            return 1;
        }
        grid[cell] = (uint32_t)owner;
        owned++;
        if ((uint32_t)owner > n_owners)
            n_owners = (uint32_t)owner;
    }
    fclose(f);

    uint32_t *largest = xcalloc((size_t)n_owners + 1, sizeof(uint32_t));
    double *ms = xcalloc((size_t)runs, sizeof(double)), sum = 0;
    territory_largest(grid, width, height, n_owners, largest); /* warm-up: page faults, caches */
    for (int i = 0; i < runs; i++) {
        double t = now_ms();
        territory_largest(grid, width, height, n_owners, largest);
        ms[i] = now_ms() - t;
        sum += ms[i];
    }
    qsort(ms, (size_t)runs, sizeof(double), cmp_double);
    double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
    unsigned long long total = 0;
    uint32_t max = 0;
    for (uint32_t o = 1; o <= n_owners; o++) {
        total += largest[o];
        if (largest[o] > max)
            max = largest[o];
    }
    printf("best_ms=%.3f median_ms=%.3f mean_ms=%.3f worst_ms=%.3f runs=%d cells=%zu owned=%zu owners=%u "
           "max_largest=%u sum_largest=%llu\n",
           ms[0], median, sum / runs, ms[runs - 1], runs, cells, owned, n_owners, max, total);
    free(grid);
    free(largest);
    free(ms);
    return 0;
}
