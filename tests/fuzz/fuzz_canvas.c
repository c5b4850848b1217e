/* fuzz_canvas — the places canvas nibble codec: the input picks a size and a list of (cell, colour)
 * writes; every write reads back, touches only its own nibble, and the packed bytes survive
 * canvas_gzip → canvas_gunzip. The raw input is also fed to canvas_gunzip as an archive, which must
 * either give exactly the expected size or fail and leave the caller's buffer as it was. */
#include "fuzz.h"
#include "api/places/canvas.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int width = 1 + data[0] % 64, height = 1 + data[1] % 64;
    size_t packed_len = canvas_packed_size(width, height);
    int cells = width * height;
    FUZZ_CHECK(packed_len == ((size_t)cells + 1) / 2, "packed size %zu for %dx%d", packed_len, width, height);
    FUZZ_CHECK(canvas_packed_size(0, height) == 0 && canvas_packed_size(width, -1) == 0, "empty sizes");
    uint8_t *packed = xcalloc(1, packed_len);   /* exactly sized: ASan sees a nibble past the end */
    uint8_t *shadow = xcalloc((size_t)cells, 1);
    for (size_t i = 2; i + 2 < size; i += 3) {
        int cell = (data[i] << 8 | data[i + 1]) % cells;
        int colour = (int)(int8_t)data[i + 2];   /* negative and > 15 too: masked to 4 bits */
        canvas_set(packed, cell, colour);
        shadow[cell] = (uint8_t)(colour & 0x0F);
        FUZZ_CHECK(canvas_get(packed, cell) == (colour & 0x0F), "cell %d reads %d after writing %d", cell,
                   canvas_get(packed, cell), colour);
        int neighbour = cell ^ 1;
        if (neighbour < cells)
            FUZZ_CHECK(canvas_get(packed, neighbour) == shadow[neighbour], "writing cell %d changed cell %d", cell,
                       neighbour);
    }
    for (int c = 0; c < cells; c++)
        FUZZ_CHECK(canvas_get(packed, c) == shadow[c], "cell %d is %d, expected %d", c, canvas_get(packed, c), shadow[c]);
    if (cells % 2)
        FUZZ_CHECK((packed[packed_len - 1] & 0x0F) == 0, "the padding nibble was written");

    struct buf gz = {0}, back = {0};
    buf_puts(&back, "prefix");
    FUZZ_CHECK(canvas_gzip(packed, packed_len, &gz), "canvas_gzip failed");
    FUZZ_CHECK(canvas_gunzip((const uint8_t *)gz.data, gz.len, packed_len, &back), "canvas_gunzip of our own gzip failed");
    FUZZ_CHECK(back.len == 6 + packed_len && !memcmp(back.data, "prefix", 6) && !memcmp(back.data + 6, packed, packed_len),
               "gzip round trip changed the canvas");
    FUZZ_CHECK(!canvas_gunzip((const uint8_t *)gz.data, gz.len, packed_len + 1, &back) && back.len == 6 + packed_len,
               "a canvas of the wrong size was accepted");
    if (gz.len > 1)
        FUZZ_CHECK(!canvas_gunzip((const uint8_t *)gz.data, gz.len - 1, packed_len, &back) && back.len == 6 + packed_len,
                   "a truncated archive was accepted");

    /* the input itself as an archive of a canvas of its first byte's size */
    struct buf raw = {0};
    buf_puts(&raw, "x");
    size_t expected = data[0];
    if (canvas_gunzip(data + 1, size - 1, expected, &raw))
        FUZZ_CHECK(raw.len == 1 + expected, "canvas_gunzip gave %zu bytes, expected %zu", raw.len - 1, expected);
    else
        FUZZ_CHECK(raw.len == 1 && raw.data[0] == 'x' && raw.data[1] == '\0', "a failed canvas_gunzip changed the buffer");
    buf_free(&raw);
    buf_free(&gz);
    buf_free(&back);
    free(packed);
    free(shadow);
    return 0;
}
