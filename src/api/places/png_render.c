/* png_render.c — canvases as 4-bit palette PNGs: the canvas already is 16 palette indices, so a
 * palette image needs no colour conversion and is a quarter of the size of 8-bit RGB before
 * compression. Everything is written into memory; the caller stores or serves the bytes. */
#include "guildhall.h"
#include "api/places/png_render.h"
#include "api/places/canvas.h"

#include <png.h>

static void write_to_buf(png_structp png, png_bytep data, size_t len)
{
    buf_append(png_get_io_ptr(png), data, len);
}

/* Required: a NULL flush makes libpng install its default, which calls fflush() on the io pointer
 * as if it were a FILE *. */
static void flush_nothing(png_structp png)
{
    (void)png;
}

/* libpng's default handlers print to stderr; this module does no I/O, so an error only unwinds
 * to the setjmp below and the caller decides what to log. */
static NORETURN void on_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Nearest neighbour at the centre of output pixel `i` of `out_n`, over `in_n` source cells. */
static uint32_t sample(uint32_t i, uint32_t out_n, uint32_t in_n)
{
    return (uint32_t)(((uint64_t)i * 2 + 1) * in_n / ((uint64_t)out_n * 2));
}

/* Everything that can longjmp lives here, so the caller's locals are all set before its setjmp
 * and none can be clobbered. */
static void write_image(png_structp png, png_infop info, const uint8_t *packed, uint32_t width,
                        uint32_t height, uint32_t out_w, uint32_t out_h, uint8_t *row)
{
    png_color palette[CANVAS_PALETTE_SIZE];
    for (int i = 0; i < CANVAS_PALETTE_SIZE; i++) {
        palette[i].red = (png_byte)(canvas_palette[i] >> 16);
        palette[i].green = (png_byte)(canvas_palette[i] >> 8);
        palette[i].blue = (png_byte)canvas_palette[i];
    }
    png_set_IHDR(png, info, out_w, out_h, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_PLTE(png, info, palette, CANVAS_PALETTE_SIZE);
    png_write_info(png, info);

    size_t row_bytes = ((size_t)out_w + 1) / 2;
    for (uint32_t y = 0; y < out_h; y++) {
        uint32_t sy = out_h == height ? y : sample(y, out_h, height);
        size_t base = (size_t)sy * width;
        /* A 4-bit PNG row packs its leftmost pixel in the high nibble, like the canvas, but canvas
         * rows of odd width do not start on a byte boundary, so repack cell by cell. */
        memset(row, 0, row_bytes);
        for (uint32_t x = 0; x < out_w; x++) {
            uint32_t sx = out_w == width ? x : sample(x, out_w, width);
            canvas_set(row, (int)x, canvas_get(packed, (int)(base + sx)));
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
}

bool png_render_canvas(const uint8_t *packed, int width, int height, int scale_to_longest, struct buf *out)
{
    /* canvas_get takes an int cell index. */
    if (width <= 0 || height <= 0 || scale_to_longest < 0 || (int64_t)width * height > INT32_MAX)
        return false;
    uint32_t out_w = (uint32_t)width, out_h = (uint32_t)height;
    if (scale_to_longest > 0) {
        uint32_t longer = width > height ? (uint32_t)width : (uint32_t)height;
        uint32_t s = (uint32_t)scale_to_longest;
        /* Round the shorter side to the nearest pixel: 500x250 -> 128x64. */
        out_w = (uint32_t)(((uint64_t)out_w * s + longer / 2) / longer);
        out_h = (uint32_t)(((uint64_t)out_h * s + longer / 2) / longer);
        if (out_w == 0)
            out_w = 1;
        if (out_h == 0)
            out_h = 1;
    }

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, on_error, on_warning);
    if (!png)
        return false;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return false;
    }
    uint8_t *row = xmalloc(((size_t)out_w + 1) / 2);
    size_t start = out->len;

    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return false;
    }
    png_set_write_fn(png, out, write_to_buf, flush_nothing);
    write_image(png, info, packed, (uint32_t)width, (uint32_t)height, out_w, out_h, row);

    png_destroy_write_struct(&png, &info);
    free(row);
    return true;
}
