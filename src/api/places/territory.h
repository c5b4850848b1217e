/* territory.h — territory scores over the owner grid: who owns how much of the canvas, and the
 * largest 4-connected region each owner holds (CONTRACT 7.1 largest_territory, territory_count). */
#ifndef GH_PLACES_TERRITORY_H
#define GH_PLACES_TERRITORY_H

#include "guildhall.h"

/* owner holds width*height cells, row-major (cell = y*width + x): 0 is unowned, 1..n_owners an
 * owner index the caller assigned. Values above n_owners are ignored (treated as unowned).
 * largest_out has n_owners+1 entries: largest_out[o] is the size of owner o's largest region of
 * cells joined through edges (not corners); 0 for an owner with no cells and for index 0. */
void territory_largest(const uint32_t *owner, int width, int height, uint32_t n_owners, uint32_t *largest_out);

/* count_out has n_owners+1 entries: count_out[o] is how many cells owner o holds; count_out[0]
 * is the unowned cells. Values above n_owners are not counted anywhere. */
void territory_count_cells(const uint32_t *owner, size_t cells, uint32_t n_owners, uint32_t *count_out);

#endif
