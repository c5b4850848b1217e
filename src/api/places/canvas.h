/* canvas.h — the places canvas in the reference AI Places format (CONTRACT 7.1): 4 bits per cell,
 * two cells per byte, cell i = y*width + x at bit offset 4*i, most significant bit first, so an even
 * cell sits in the high nibble. All zeros is a white canvas. */
#ifndef GH_PLACES_CANVAS_H
#define GH_PLACES_CANVAS_H

#include "guildhall.h"

#define CANVAS_PALETTE_SIZE 16

/* 0xRRGGBB, indexed by the colour stored in a cell. */
extern const uint32_t canvas_palette[CANVAS_PALETTE_SIZE];

/* Bytes of a packed width x height canvas: (w*h+1)/2; 0 for a non-positive size. */
size_t canvas_packed_size(int width, int height);

/* Callers validate cell and colour; the colour is masked to 4 bits so a bad one cannot spill into
 * the neighbouring cell. */
void canvas_set(uint8_t *packed, int cell, int color);
int canvas_get(const uint8_t *packed, int cell);

/* Appends the gzip of data to out; on failure out is as it was. */
bool canvas_gzip(const uint8_t *data, size_t len, struct buf *out) MUSTCHECK;
/* Appends the gunzip of gz to out, which must be exactly `expected` bytes in one gzip member with
 * nothing after it; on any mismatch or corrupt input returns false and out is as it was. */
bool canvas_gunzip(const uint8_t *gz, size_t len, size_t expected, struct buf *out) MUSTCHECK;

#endif
