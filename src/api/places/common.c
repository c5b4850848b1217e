/* common.c — what several places handlers share: ids, the canvas object, loading the canvas and
 * the territory computation. */
#include "guildhall.h"
#include "api/places/places.h"
#include "api/places/canvas.h"
#include "api/places/png_render.h"
#include "api/places/territory.h"
#include "config.h"
#include "db.h"
#include "request.h"

#include <ctype.h>

DB_STMT(canvas_cells_stmt, 0, true,
        "SELECT s.width, s.height, coalesce((SELECT array_agg(cell ORDER BY cell) FROM canvas_cells), '{}')::text, "
        "coalesce((SELECT array_agg(color ORDER BY cell) FROM canvas_cells), '{}')::text FROM places_settings s");
DB_STMT(canvas_size_stmt, 0, true, "SELECT width, height FROM places_settings");
DB_STMT(owned_cells_stmt, 0, true, "SELECT kind, placer::text, cells::text FROM places_owned_cells()");
DB_STMT(set_territory_stmt, 3, false, "SELECT places_set_territory($1::text[], $2::uuid[], $3::int[])");


json_object *places_canvas_object(int width, int height)
{
    json_object *c = json_object_new_object(), *palette = json_object_new_array();
    for (int i = 0; i < CANVAS_PALETTE_SIZE; i++) {
        char hex[8];
        snprintf(hex, sizeof(hex), "#%06X", (unsigned)canvas_palette[i]);
        json_object_array_add(palette, json_object_new_string(hex));
    }
    json_object_object_add(c, "width", json_object_new_int(width));
    json_object_object_add(c, "height", json_object_new_int(height));
    json_object_object_add(c, "bits_per_pixel", json_object_new_int(4));
    json_object_object_add(c, "palette", palette);
    return c;
}

int places_reply_with_canvas(struct request *r, const char *json_text)
{
    json_object *o = json_tokener_parse(json_text), *w, *h;
    if (!o || !json_object_object_get_ex(o, "width", &w) || !json_object_object_get_ex(o, "height", &h)) {
        json_object_put(o);
        return fail(r, 500, "Internal error");
    }
    json_object *canvas = places_canvas_object(json_object_get_int(w), json_object_get_int(h));
    json_object_object_del(o, "width");
    json_object_object_del(o, "height");
    json_object_object_add(o, "canvas", canvas);
    return reply_json(r, 200, o);
}

const char *places_base_url(const struct request *r)
{
    const char *base = r->svc->cfg->public_base_url;
    return base ? base : "";
}

/* Parses PostgreSQL's "{1,2,3}" int array text into out (n entries at most). */
static size_t parse_int_array(const char *text, long *out, size_t n)
{
    size_t k = 0;
    const char *p = text;
    if (*p == '{')
        p++;
    while (*p && *p != '}' && k < n) {
        char *end;
        out[k++] = strtol(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p != '}')
            break;
    }
    return k;
}

bool places_load_canvas(struct request *r, struct buf *packed, int *width, int *height)
{
    PGresult *res = query(r, &canvas_cells_stmt, NULL);
    if (!res)
        return false;
    *width = atoi(PQgetvalue(res, 0, 0));
    *height = atoi(PQgetvalue(res, 0, 1));
    size_t cells = (size_t)*width * (size_t)*height;
    long *cell = xcalloc(cells, sizeof(long)), *color = xcalloc(cells, sizeof(long));
    size_t n = parse_int_array(PQgetvalue(res, 0, 2), cell, cells);
    size_t m = parse_int_array(PQgetvalue(res, 0, 3), color, cells);
    PQclear(res);
    buf_reset(packed);
    size_t size = canvas_packed_size(*width, *height);
    uint8_t *bytes = xcalloc(1, size);
    for (size_t i = 0; i < n && i < m; i++)
        if (cell[i] >= 0 && (size_t)cell[i] < cells)
            canvas_set(bytes, (int)cell[i], (int)color[i]);
    buf_append(packed, bytes, size);
    free(bytes);
    free(cell);
    free(color);
    return true;
}

/* Marks owner's cells, PostgreSQL's "{1,2,3}" text, in the grid of `cells` cells. */
static void mark_cells(const char *text, uint32_t owner, uint32_t *grid, size_t cells)
{
    const char *p = *text == '{' ? text + 1 : text;
    while (*p && *p != '}') {
        char *end;
        long cell = strtol(p, &end, 10);
        if (end == p)
            break;
        if (cell >= 0 && (size_t)cell < cells)
            grid[cell] = owner;
        p = *end == ',' ? end + 1 : end;
    }
}

bool places_refresh_territory(struct request *r)
{
    PGresult *size = query(r, &canvas_size_stmt, NULL);
    if (!size)
        return false;
    int width = atoi(PQgetvalue(size, 0, 0)), height = atoi(PQgetvalue(size, 0, 1));
    PQclear(size);
    PGresult *res = query(r, &owned_cells_stmt, NULL);
    if (!res)
        return false;
    /* owner o (1..n) is row o - 1 */
    size_t cells = (size_t)width * (size_t)height;
    uint32_t n_owners = (uint32_t)PQntuples(res);
    uint32_t *grid = xcalloc(cells ? cells : 1, sizeof(uint32_t)), *largest = xcalloc(n_owners + 1, sizeof(uint32_t));
    for (uint32_t o = 1; o <= n_owners; o++)
        mark_cells(PQgetvalue(res, (int)o - 1, 2), o, grid, cells);
    territory_largest(grid, width, height, n_owners, largest);

    struct buf kinds = {0}, uuids = {0}, sizes = {0};
    buf_puts(&kinds, "{");
    buf_puts(&uuids, "{");
    buf_puts(&sizes, "{");
    for (uint32_t o = 1; o <= n_owners; o++) {
        const char *sep = o > 1 ? "," : "";
        buf_printf(&kinds, "%s%s", sep, PQgetvalue(res, (int)o - 1, 0));
        buf_printf(&uuids, "%s%s", sep, PQgetvalue(res, (int)o - 1, 1));
        buf_printf(&sizes, "%s%u", sep, largest[o]);
    }
    buf_puts(&kinds, "}");
    buf_puts(&uuids, "}");
    buf_puts(&sizes, "}");
    PQclear(res);
    const char *params[] = {kinds.data, uuids.data, sizes.data};
    res = query(r, &set_territory_stmt, params);
    PQclear(res);
    buf_free(&kinds);
    buf_free(&uuids);
    buf_free(&sizes);
    free(grid);
    free(largest);
    return res != NULL;
}

bool places_render_png(const char *gz, size_t gz_len, int width, int height, int longest, struct buf *png)
{
    struct buf packed = {0};
    bool ok = canvas_gunzip((const uint8_t *)gz, gz_len, canvas_packed_size(width, height), &packed) &&
              png_render_canvas((const uint8_t *)packed.data, width, height, longest, png);
    buf_free(&packed);
    return ok;
}

void places_bytea_hex(const void *data, size_t len, struct buf *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    buf_reset(out);
    buf_puts(out, "\\x");
    char chunk[512];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        chunk[k++] = digits[p[i] >> 4];
        chunk[k++] = digits[p[i] & 15];
        if (k == sizeof(chunk)) {
            buf_append(out, chunk, k);
            k = 0;
        }
    }
    buf_append(out, chunk, k);
}

bool places_bytea_unhex(const char *text, struct buf *out)
{
    if (strncmp(text, "\\x", 2) != 0)
        return false;
    text += 2;
    size_t n = strlen(text);
    if (n % 2)
        return false;
    buf_reset(out);
    char chunk[512];
    size_t k = 0;
    for (size_t i = 0; i < n; i += 2) {
        int hi = isdigit((unsigned char)text[i]) ? text[i] - '0' : tolower((unsigned char)text[i]) - 'a' + 10;
        int lo = isdigit((unsigned char)text[i + 1]) ? text[i + 1] - '0' : tolower((unsigned char)text[i + 1]) - 'a' + 10;
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
            return false;
        chunk[k++] = (char)(hi * 16 + lo);
        if (k == sizeof(chunk)) {
            buf_append(out, chunk, k);
            k = 0;
        }
    }
    buf_append(out, chunk, k);
    return true;
}
