/* test_canvas.c — the packed canvas format of CONTRACT 7.1 and its gzip wrapper. */
#include "unit.h"
#include "api/places/canvas.h"

static void palette_is_the_reference_one(void **state)
{
    assert_int_equal(CANVAS_PALETTE_SIZE, 16);
    assert_int_equal(canvas_palette[0], 0xFFFFFF);
    assert_int_equal(canvas_palette[5], 0xE50000);
    assert_int_equal(canvas_palette[10], 0x02BE01);
    assert_int_equal(canvas_palette[15], 0x820080);
}

static void packed_sizes_round_up(void **state)
{
    static const struct {
        int w, h;
        size_t bytes;
    } cases[] = {
        {500, 500, 125000}, {1, 1, 1}, {3, 3, 5}, {2, 3, 3}, {501, 1, 251}, {0, 10, 0}, {10, -1, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        assert_int_equal(canvas_packed_size(cases[i].w, cases[i].h), cases[i].bytes);
}

static void even_cells_take_the_high_nibble(void **state)
{
    uint8_t p[3] = {0};
    canvas_set(p, 0, 0xA);
    assert_int_equal(p[0], 0xA0);
    canvas_set(p, 1, 0x5);
    assert_int_equal(p[0], 0xA5);
    /* 5 cells (an odd count): the last cell is the high nibble of byte 2, the low nibble stays 0 */
    canvas_set(p, 4, 0xF);
    assert_int_equal(p[1], 0x00);
    assert_int_equal(p[2], 0xF0);
    canvas_set(p, 3, 0x1);
    assert_int_equal(p[1], 0x01);
    assert_int_equal(canvas_get(p, 0), 0xA);
    assert_int_equal(canvas_get(p, 1), 0x5);
    assert_int_equal(canvas_get(p, 2), 0x0);
    assert_int_equal(canvas_get(p, 3), 0x1);
    assert_int_equal(canvas_get(p, 4), 0xF);
}

static void set_leaves_the_neighbour_alone(void **state)
{
    uint8_t p[1] = {0xFF};
    canvas_set(p, 0, 0);
    assert_int_equal(p[0], 0x0F);
    canvas_set(p, 1, 0);
    assert_int_equal(p[0], 0x00);
    /* an out-of-range colour is masked instead of spilling into cell 0 */
    canvas_set(p, 1, 0x13);
    assert_int_equal(p[0], 0x03);
}

static void every_colour_round_trips_in_every_position(void **state)
{
    enum { W = 7, H = 5 };   /* 35 cells: odd, rows not byte-aligned */
    uint8_t p[(W * H + 1) / 2];
    memset(p, 0, sizeof(p));
    for (int cell = 0; cell < W * H; cell++)
        canvas_set(p, cell, (cell * 7 + 3) % 16);
    for (int cell = 0; cell < W * H; cell++)
        assert_int_equal(canvas_get(p, cell), (cell * 7 + 3) % 16);
    for (int c = 0; c < 16; c++) {
        canvas_set(p, 0, c);
        canvas_set(p, 1, 15 - c);
        assert_int_equal(canvas_get(p, 0), c);
        assert_int_equal(canvas_get(p, 1), 15 - c);
        assert_int_equal(p[0], (c << 4) | (15 - c));
    }
}

static void white_canvas_is_all_zero_bytes(void **state)
{
    size_t n = canvas_packed_size(500, 500);
    assert_int_equal(n, 125000);
    uint8_t *p = xcalloc(n, 1);
    for (int cell = 0; cell < 500 * 500; cell++)
        canvas_set(p, cell, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], 0);
    for (int cell = 0; cell < 500 * 500; cell += 4999)
        assert_int_equal(canvas_palette[canvas_get(p, cell)], 0xFFFFFF);
    free(p);
}

static void gzip_round_trips(void **state)
{
    size_t n = canvas_packed_size(500, 500);
    uint8_t *p = xcalloc(n, 1);
    for (int cell = 0; cell < 500 * 500; cell += 3)
        canvas_set(p, cell, cell % 16);
    struct buf gz = {0}, back = {0};
    assert_true(canvas_gzip(p, n, &gz));
    assert_true(gz.len > 18 && gz.len < n);
    assert_int_equal((uint8_t)gz.data[0], 0x1f);   /* gzip magic, not a bare zlib stream */
    assert_int_equal((uint8_t)gz.data[1], 0x8b);
    assert_true(canvas_gunzip((const uint8_t *)gz.data, gz.len, n, &back));
    assert_int_equal(back.len, n);
    assert_memory_equal(back.data, p, n);
    buf_free(&gz);
    buf_free(&back);
    free(p);
}

static void gzip_of_empty_and_tiny_inputs(void **state)
{
    struct buf gz = {0}, back = {0};
    assert_true(canvas_gzip((const uint8_t *)"", 0, &gz));
    assert_true(canvas_gunzip((const uint8_t *)gz.data, gz.len, 0, &back));
    assert_int_equal(back.len, 0);
    buf_free(&gz);
    uint8_t one = 0x5A;
    assert_true(canvas_gzip(&one, 1, &gz));
    assert_true(canvas_gunzip((const uint8_t *)gz.data, gz.len, 1, &back));
    assert_int_equal(back.len, 1);
    assert_int_equal((uint8_t)back.data[0], 0x5A);
    buf_free(&gz);
    buf_free(&back);
}

static void gunzip_rejects_a_size_mismatch_and_garbage(void **state)
{
    uint8_t p[1000];
    memset(p, 0x12, sizeof(p));
    struct buf gz = {0}, back = {0};
    assert_true(canvas_gzip(p, sizeof(p), &gz));
    const uint8_t *z = (const uint8_t *)gz.data;

    buf_puts(&back, "kept");
    assert_false(canvas_gunzip(z, gz.len, 999, &back));    /* longer than expected */
    assert_false(canvas_gunzip(z, gz.len, 1001, &back));   /* shorter than expected */
    assert_false(canvas_gunzip(z, gz.len - 4, 1000, &back));   /* truncated trailer */
    assert_false(canvas_gunzip(z, gz.len / 2, 1000, &back));   /* truncated stream */
    assert_false(canvas_gunzip((const uint8_t *)"not gzip at all", 15, 15, &back));
    assert_false(canvas_gunzip(z, 0, 0, &back));
    /* a failure leaves what the buffer held */
    assert_int_equal(back.len, 4);
    assert_string_equal(back.data, "kept");

    /* trailing bytes after the member */
    struct buf padded = {0};
    buf_append(&padded, gz.data, gz.len);
    buf_append(&padded, "xx", 2);
    assert_false(canvas_gunzip((const uint8_t *)padded.data, padded.len, 1000, &back));
    /* a flipped byte of the stored CRC-32 (the trailer's first four bytes) */
    padded.len = gz.len;
    padded.data[gz.len - 6] ^= 0x40;
    assert_false(canvas_gunzip((const uint8_t *)padded.data, padded.len, 1000, &back));
    assert_int_equal(back.len, 4);

    buf_reset(&back);
    assert_true(canvas_gunzip(z, gz.len, 1000, &back));
    assert_memory_equal(back.data, p, sizeof(p));
    buf_free(&padded);
    buf_free(&gz);
    buf_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(palette_is_the_reference_one),
        cmocka_unit_test(packed_sizes_round_up),
        cmocka_unit_test(even_cells_take_the_high_nibble),
        cmocka_unit_test(set_leaves_the_neighbour_alone),
        cmocka_unit_test(every_colour_round_trips_in_every_position),
        cmocka_unit_test(white_canvas_is_all_zero_bytes),
        cmocka_unit_test(gzip_round_trips),
        cmocka_unit_test(gzip_of_empty_and_tiny_inputs),
        cmocka_unit_test(gunzip_rejects_a_size_mismatch_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
