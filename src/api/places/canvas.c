/* canvas.c — packing and the gzip wrapper of the canvas bytes. The format is fixed by the
 * reference implementation's tools, which read our archives: do not change the nibble order. */
#include "guildhall.h"
#include "api/places/canvas.h"
#include "body.h"

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
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    size_t start = out->len;
    unsigned char chunk[16384];
    int rc;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        rc = deflate(&zs, Z_FINISH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        buf_append(out, chunk, sizeof(chunk) - zs.avail_out);
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        truncate_to(out, start);
        return false;
    }
    return true;
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
