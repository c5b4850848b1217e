/* test_png.c — archive images and thumbnails, decoded back with libpng's own reader. */
#include "unit.h"
#include "api/places/canvas.h"
#include "api/places/png_render.h"

#include <png.h>

struct decoded {
    uint32_t width, height;
    uint8_t *rgb;   /* width*height*3 */
};

static void decode(const struct buf *png, struct decoded *d)
{
    png_image image;
    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&image, png->data, png->len));
    image.format = PNG_FORMAT_RGB;
    d->width = image.width;
    d->height = image.height;
    d->rgb = xmalloc(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, NULL, d->rgb, 0, NULL)) {
        png_image_free(&image);
        fail_msg("decode: %s", image.message);
    }
}

static uint32_t pixel(const struct decoded *d, uint32_t x, uint32_t y)
{
    const uint8_t *p = d->rgb + ((size_t)y * d->width + x) * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint8_t *new_canvas(int w, int h)
{
    return xcalloc(canvas_packed_size(w, h), 1);
}

static void starts_with_the_png_signature(void **state)
{
    uint8_t *c = new_canvas(4, 4);
    struct buf out = {0};
    assert_true(png_render_canvas(c, 4, 4, 0, &out));
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(out.len > 8);
    assert_memory_equal(out.data, sig, 8);
    assert_int_equal(png_sig_cmp((png_const_bytep)out.data, 0, 8), 0);
    buf_free(&out);
    free(c);
}

/* An odd width so canvas rows do not start on byte boundaries; every colour appears. */
static void one_pixel_per_cell_in_palette_colours(void **state)
{
    enum { W = 5, H = 4 };
    uint8_t *c = new_canvas(W, H);
    for (int cell = 0; cell < W * H; cell++)
        canvas_set(c, cell, cell % 16);
    struct buf out = {0};
    buf_puts(&out, "");   /* rendering appends: start from an empty, allocated buffer */
    assert_true(png_render_canvas(c, W, H, 0, &out));
    struct decoded d;
    decode(&out, &d);
    assert_int_equal(d.width, W);
    assert_int_equal(d.height, H);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++)
            assert_int_equal(pixel(&d, x, y), canvas_palette[(y * W + x) % 16]);
    free(d.rgb);
    buf_free(&out);
    free(c);
}

static void spot_colours_of_a_full_canvas(void **state)
{
    enum { W = 500, H = 500 };
    uint8_t *c = new_canvas(W, H);
    canvas_set(c, 0, 5);                     /* top left: red */
    canvas_set(c, W - 1, 13);                /* top right: blue */
    canvas_set(c, (H - 1) * W, 10);          /* bottom left: green */
    canvas_set(c, H * W - 1, 15);            /* bottom right: purple */
    canvas_set(c, 250 * W + 251, 3);
    struct buf out = {0};
    assert_true(png_render_canvas(c, W, H, 0, &out));
    struct decoded d;
    decode(&out, &d);
    assert_int_equal(d.width, W);
    assert_int_equal(d.height, H);
    assert_int_equal(pixel(&d, 0, 0), 0xE50000);
    assert_int_equal(pixel(&d, W - 1, 0), 0x0000EA);
    assert_int_equal(pixel(&d, 0, H - 1), 0x02BE01);
    assert_int_equal(pixel(&d, W - 1, H - 1), 0x820080);
    assert_int_equal(pixel(&d, 251, 250), 0x222222);
    assert_int_equal(pixel(&d, 1, 0), 0xFFFFFF);
    assert_int_equal(pixel(&d, 250, 250), 0xFFFFFF);
    free(d.rgb);
    buf_free(&out);
    free(c);
}

static void thumbnails_keep_the_aspect_ratio(void **state)
{
    static const struct {
        int w, h, longest;
        uint32_t want_w, want_h;
    } cases[] = {
        {500, 500, 128, 128, 128},
        {500, 250, 128, 128, 64},
        {250, 500, 128, 64, 128},
        {1000, 3, 128, 128, 1},    /* the shorter side never rounds to zero */
        {16, 8, 128, 128, 64},     /* a small canvas is scaled up */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t *c = new_canvas(cases[i].w, cases[i].h);
        struct buf out = {0};
        assert_true(png_render_canvas(c, cases[i].w, cases[i].h, cases[i].longest, &out));
        struct decoded d;
        decode(&out, &d);
        assert_int_equal(d.width, cases[i].want_w);
        assert_int_equal(d.height, cases[i].want_h);
        free(d.rgb);
        buf_free(&out);
        free(c);
    }
}

/* Quadrants of four colours must land in the matching quadrants of the thumbnail. */
static void thumbnail_samples_nearest_cells(void **state)
{
    enum { W = 500, H = 250 };
    uint8_t *c = new_canvas(W, H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            canvas_set(c, y * W + x, (y < H / 2 ? 0 : 2) + (x < W / 2 ? 5 : 8));
    struct buf out = {0};
    assert_true(png_render_canvas(c, W, H, 128, &out));
    struct decoded d;
    decode(&out, &d);
    assert_int_equal(d.width, 128);
    assert_int_equal(d.height, 64);
    for (uint32_t y = 0; y < 64; y++) {
        for (uint32_t x = 0; x < 128; x++) {
            int want = (y < 32 ? 0 : 2) + (x < 64 ? 5 : 8);
            assert_int_equal(pixel(&d, x, y), canvas_palette[want]);
        }
    }
    free(d.rgb);
    buf_free(&out);
    free(c);
}

static void bad_sizes_are_refused(void **state)
{
    uint8_t c[1] = {0};
    struct buf out = {0};
    buf_puts(&out, "kept");
    assert_false(png_render_canvas(c, 0, 1, 0, &out));
    assert_false(png_render_canvas(c, 1, -1, 0, &out));
    assert_false(png_render_canvas(c, 1, 1, -5, &out));
    /* wider than libpng accepts (1,000,000 columns): libpng's error unwinds cleanly */
    uint8_t *wide = new_canvas(2000000, 1);
    assert_false(png_render_canvas(wide, 2000000, 1, 0, &out));
    free(wide);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "kept");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_with_the_png_signature),
        cmocka_unit_test(one_pixel_per_cell_in_palette_colours),
        cmocka_unit_test(spot_colours_of_a_full_canvas),
        cmocka_unit_test(thumbnails_keep_the_aspect_ratio),
        cmocka_unit_test(thumbnail_samples_nearest_cells),
        cmocka_unit_test(bad_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
