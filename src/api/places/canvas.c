/* canvas.c — packing and the gzip wrapper of the canvas bytes. The format is fixed by the
 * reference implementation's tools, which read our archives: do not change the nibble order. */
#include "guildhall.h"
#include "api/places/canvas.h"
#include "body.h"

#include <limits.h>

const uint32_t canvas_palette[CANVAS_PALETTE_SIZE] = {
    0xFFFFFF, 0xE4E4E4, 0x888888, 0x222222, 0xFFA7D1, 0xE50000, 0xE59500, 0xA06A42,
    0xE5D900, 0x94E044, 0x02BE01, 0x00D3DD, 0x0083C7, 0x0000EA, 0xCF6EE4, 0x820080,
};

size_t canvas_packed_size(int width, int height)
{
    if (width <= 0 || height <= 0)
        return 0;
    return ((size_t)width * (size_t)height + 1) / 2;
}

void canvas_set(uint8_t *packed, int cell, int color)
{
    uint8_t *p = &packed[cell / 2];
    uint8_t c = (uint8_t)(color & 0x0F);
    if (cell % 2 == 0)
        *p = (uint8_t)((*p & 0x0F) | (c << 4));
    else
        *p = (uint8_t)((*p & 0xF0) | c);
}

int canvas_get(const uint8_t *packed, int cell)
{
    uint8_t b = packed[cell / 2];
    return cell % 2 == 0 ? b >> 4 : b & 0x0F;
}

bool canvas_gzip(const uint8_t *data, size_t len, struct buf *out)
{
    return gzip_compress(data, len, out);
}

bool canvas_gunzip(const uint8_t *gz, size_t len, size_t expected, struct buf *out)
{
    /* the request-body inflater already stops at a size cap and refuses trailing bytes */
    struct buf canvas = {0};
    bool ok = expected <= LONG_MAX && gunzip_capped((const char *)gz, len, (long)expected, &canvas) == 0 &&
              canvas.len == expected;
    if (ok)
        buf_append(out, canvas.data ? canvas.data : "", canvas.len);
    buf_free(&canvas);
    return ok;
}
