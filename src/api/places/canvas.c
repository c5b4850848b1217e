/* canvas.c — packing and the gzip wrapper of the canvas bytes. The format is fixed by the
 * reference implementation's tools, which read our archives: do not change the nibble order. */
#include "guildhall.h"
#include "api/places/canvas.h"

#include <limits.h>
#include <zlib.h>

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

/* Undo a partial append so a failed call leaves the caller's buffer untouched. */
static void truncate_to(struct buf *out, size_t len)
{
    out->len = len;
    if (out->data)
        out->data[len] = '\0';
}

bool canvas_gzip(const uint8_t *data, size_t len, struct buf *out)
{
    if (len > UINT_MAX)
        return false;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 16 + MAX_WBITS: a gzip header and trailer, which is what Content-Encoding: gzip means. */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    /* deflateBound covers the zlib wrapper; the gzip header and trailer add at most 18 bytes more. */
    size_t bound = deflateBound(&zs, (uLong)len) + 18;
    size_t start = out->len;
    /* Reserve the space through buf_append so the buffer's invariants hold, then deflate into it. */
    buf_append(out, "", 0);
    if (out->cap < start + bound + 1) {
        out->data = xrealloc(out->data, start + bound + 1);
        out->cap = start + bound + 1;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + start;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t produced = bound - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        truncate_to(out, start);
        return false;
    }
    truncate_to(out, start + produced);
    return true;
}

bool canvas_gunzip(const uint8_t *gz, size_t len, size_t expected, struct buf *out)
{
    if (len > UINT_MAX || expected >= UINT_MAX)
        return false;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return false;
    size_t start = out->len;
    /* One byte of room past `expected` so a longer stream shows up as output, not as Z_BUF_ERROR. */
    size_t room = expected + 1;
    if (out->cap < start + room + 1) {
        out->data = xrealloc(out->data, start + room + 1);
        out->cap = start + room + 1;
    }
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + start;
    zs.avail_out = (uInt)room;
    int rc = inflate(&zs, Z_FINISH);
    size_t produced = room - zs.avail_out;
    bool ok = rc == Z_STREAM_END && produced == expected && zs.avail_in == 0;
    inflateEnd(&zs);
    truncate_to(out, ok ? start + produced : start);
    return ok;
}
