/* territory.c — largest regions by union-find in one scan: each owned cell is joined to its left
 * and upper neighbour when they share an owner, so every region ends as one tree whose root holds
 * its size. Path compression and union by size keep each find near constant, which is what lets
 * a 500x500 canvas with thousands of owners be scored inside a request (a flood fill per owner
 * would rescan the grid or need a queue as large as it). */
#include "guildhall.h"
#include "api/places/territory.h"

struct forest {
    uint32_t *parent;
    uint32_t *size;      /* meaningful at roots only */
};

static uint32_t find(struct forest *f, uint32_t i)
{
    uint32_t root = i;
    while (f->parent[root] != root)
        root = f->parent[root];
    /* Second walk: point every cell on the path straight at the root. */
    while (f->parent[i] != root) {
        uint32_t next = f->parent[i];
        f->parent[i] = root;
        i = next;
    }
    return root;
}

static void unite(struct forest *f, uint32_t a, uint32_t b)
{
    uint32_t ra = find(f, a), rb = find(f, b);
    if (ra == rb)
        return;
    if (f->size[ra] < f->size[rb]) {
        uint32_t t = ra;
        ra = rb;
        rb = t;
    }
    f->parent[rb] = ra;
    f->size[ra] += f->size[rb];
}

void territory_largest(const uint32_t *owner, int width, int height, uint32_t n_owners, uint32_t *largest_out)
{
    memset(largest_out, 0, ((size_t)n_owners + 1) * sizeof(*largest_out));
    if (width <= 0 || height <= 0)
        return;
    size_t cells = (size_t)width * (size_t)height;
    /* Cell indices are stored as uint32_t; a canvas is far below that. */
    if (cells > UINT32_MAX)
        return;
    struct forest f = {
        .parent = xmalloc(cells * sizeof(uint32_t)),
        .size = xmalloc(cells * sizeof(uint32_t)),
    };
    for (uint32_t i = 0; i < (uint32_t)cells; i++) {
        f.parent[i] = i;
        f.size[i] = 1;
    }

    uint32_t w = (uint32_t)width;
    for (uint32_t y = 0; y < (uint32_t)height; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint32_t i = y * w + x;
            uint32_t o = owner[i];
            if (o == 0 || o > n_owners)
                continue;
            if (x > 0 && owner[i - 1] == o)
                unite(&f, i, i - 1);
            if (y > 0 && owner[i - w] == o)
                unite(&f, i, i - w);
        }
    }

    for (uint32_t i = 0; i < (uint32_t)cells; i++) {
        uint32_t o = owner[i];
        if (o == 0 || o > n_owners || f.parent[i] != i)
            continue;
        if (f.size[i] > largest_out[o])
            largest_out[o] = f.size[i];
    }
    free(f.parent);
    free(f.size);
}

void territory_count_cells(const uint32_t *owner, size_t cells, uint32_t n_owners, uint32_t *count_out)
{
    memset(count_out, 0, ((size_t)n_owners + 1) * sizeof(*count_out));
    for (size_t i = 0; i < cells; i++) {
        if (owner[i] <= n_owners)
            count_out[owner[i]]++;
    }
}
