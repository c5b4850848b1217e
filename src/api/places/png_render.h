/* png_render.h — the archive image and thumbnail of a packed canvas (CONTRACT 7.1). */
#ifndef GH_PLACES_PNG_RENDER_H
#define GH_PLACES_PNG_RENDER_H

#include "guildhall.h"

/* Appends a PNG of the packed width x height canvas (canvas.h format) to out.
 * scale_to_longest 0: one pixel per cell (the archive image). Otherwise the longer side becomes
 * scale_to_longest pixels and the shorter keeps the aspect ratio, at least 1 (the thumbnail: 128),
 * sampled nearest-neighbour. False on a bad size or a libpng error; out is then as it was. */
bool png_render_canvas(const uint8_t *packed, int width, int height, int scale_to_longest, struct buf *out) MUSTCHECK;

#endif
