/* pixels.c — the current canvas and pixel placement. A placement is validated (bounds, palette,
 * the mode's rules), then place_pixel takes the placer's cooldown and commits it in PostgreSQL in one
 * statement before the 201 (the cooldown is a game rule: it must not vanish with memcached). */
#include "guildhall.h"
#include "api/places/places.h"
#include "api/places/canvas.h"
#include "db.h"
#include "log.h"
#include "request.h"

/* The current mode's rules, the canvas size, the placer's faction colour (NULL without one) and
 * whether the placer exists. One statement per placer kind, so PostgreSQL can keep a generic plan. */
#define PLACEMENT_RULES(table)                                                                        \
    "SELECT c.rules::text, s.width, s.height, f.color, p.id IS NOT NULL "                            \
    "FROM get_current_game_mode() c CROSS JOIN places_settings s "                                    \
    "LEFT JOIN " table " p ON p.id = $1::uuid LEFT JOIN factions f ON f.id = p.faction_id"
DB_STMT(user_rules_stmt, 1, true, PLACEMENT_RULES("places_users"));
DB_STMT(agent_rules_stmt, 1, true, PLACEMENT_RULES("agents"));
/* The cooldown is checked and taken inside place_pixel (sql/008_places_cooldown.sql): refused, it
 * raises GHCDN; placed, it returns placed_at and next_placement_at (whole seconds, rounded up). */
DB_STMT(place_stmt, 5, false,
        "SELECT places_ts(p.placed_at), places_ts(p.next_placement_at) "
        "FROM place_pixel($1::uuid, $2::uuid, $3::int, $4::int, $5::int) p");

int places_canvas(struct request *r)
{
    struct buf packed = {0}, gz = {0};
    int width, height, rc = -1;
    if (places_load_canvas(r, &packed, &width, &height)) {
        if (canvas_gzip((const uint8_t *)packed.data, packed.len, &gz)) {
            r->out_gzipped = true;
            add_header(r, "X-Canvas-Width: %d", width);
            add_header(r, "X-Canvas-Height: %d", height);
            rc = reply_text(r, 200, "application/octet-stream", gz.data, gz.len);
        } else {
            rc = fail(r, 500, "Internal error");
        }
    }
    buf_free(&packed);
    buf_free(&gz);
    return rc;
}

struct pixel_input {
    int64_t x, y, color;
};

/* x and y are checked against this week's canvas size, known only after the rules query. */
const struct body_schema places_pixel_body = {
    .fields = (const struct body_field[]){
        {.name = "x", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct pixel_input, x)},
        {.name = "y", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct pixel_input, y)},
        {.name = "color", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct pixel_input, color),
         .min = 0, .max = CANVAS_PALETTE_SIZE - 1},
        {0},
    },
    .size = sizeof(struct pixel_input),
};

/* Checks the mode's rules; replies and returns false on a violation. */
static bool rules_allow(struct request *r, json_object *rules, int color, const char *faction_color)
{
    json_object *palette, *factions;
    if (json_object_object_get_ex(rules, "palette", &palette) && json_object_is_type(palette, json_type_array)) {
        bool allowed = false;
        for (size_t i = 0; i < json_object_array_length(palette); i++)
            allowed |= json_object_get_int(json_object_array_get_idx(palette, i)) == color;
        if (!allowed) {
            fail_field(r, 400, "color", "color %d is not in this week's palette", color);
            return false;
        }
    }
    if (json_object_object_get_ex(rules, "factions", &factions) && json_object_get_boolean(factions)) {
        if (!faction_color) {
            fail(r, 403, "This week's mode needs a faction: the placer has none");
            return false;
        }
        if (atoi(faction_color) != color) {
            fail_field(r, 400, "color", "color must be your faction's colour (%s)", faction_color);
            return false;
        }
    }
    return true;
}

/* A GHCDN refusal: place_pixel's DETAIL is "<next placement instant> <seconds until then>". */
static int refuse_cooldown(struct request *r)
{
    char ts[32];
    unsigned long long wait_s;
    if (sscanf(db_error_detail(r->svc->db), "%31s %llu", ts, &wait_s) != 2) {
        log_error("place_pixel: GHCDN without its detail (\"%s\")", db_error_detail(r->svc->db));
        return fail(r, 500, "Internal error (request %s)", r->request_id ? r->request_id : "-");
    }
    int rc = fail(r, 429, "Cooldown: the next placement is allowed at %s", ts);
    add_header(r, "Retry-After: %llu", wait_s ? wait_s : 1);
    return rc;
}

int places_place_pixel(struct request *r)
{
    const struct pixel_input *in = r->input;
    const char *subject = r->key_subject;
    const char *colon = subject ? strchr(subject, ':') : NULL;
    if (!colon)
        return fail(r, 403, "This key is not bound to a user or agent");
    char kind[8];
    snprintf(kind, sizeof(kind), "%.*s", (int)(colon - subject), subject);
    bool is_user = !strcmp(kind, "user");
    const char *rp[] = {colon + 1};
    PGresult *res = query(r, is_user ? &user_rules_stmt : &agent_rules_stmt, rp);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 503, "No week is open");
    }
    if (PQgetvalue(res, 0, 4)[0] != 't') {
        PQclear(res);
        return fail(r, 403, "This key's %s does not exist", kind);
    }
    int width = atoi(PQgetvalue(res, 0, 1)), height = atoi(PQgetvalue(res, 0, 2));
    json_object *rules = json_tokener_parse(PQgetvalue(res, 0, 0));
    char faction_color[8] = "";
    if (!PQgetisnull(res, 0, 3))
        snprintf(faction_color, sizeof(faction_color), "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    int rc = -1;
    if (in->x < 0 || in->x >= width) {
        fail_field(r, 400, "x", "x must be an integer between 0 and %d", width - 1);
        goto out;
    }
    if (in->y < 0 || in->y >= height) {
        fail_field(r, 400, "y", "y must be an integer between 0 and %d", height - 1);
        goto out;
    }
    int x = (int)in->x, y = (int)in->y, color = (int)in->color;
    if (!rules_allow(r, rules, color, faction_color[0] ? faction_color : NULL))
        goto out;
    char xs[16], ys[16], cs[16];
    snprintf(xs, sizeof(xs), "%d", x);
    snprintf(ys, sizeof(ys), "%d", y);
    snprintf(cs, sizeof(cs), "%d", color);
    const char *pp[] = {is_user ? colon + 1 : NULL, is_user ? NULL : colon + 1, xs, ys, cs};
    res = query(r, &place_stmt, pp);
    if (!res) {
        if (!strcmp(query_state(r), "GHBUD"))
            fail(r, 403, "This week's pixel budget is spent");
        else if (!strcmp(query_state(r), "GHCDN"))
            refuse_cooldown(r);
        goto out;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "x", json_object_new_int(x));
    json_object_object_add(o, "y", json_object_new_int(y));
    json_object_object_add(o, "color", json_object_new_int(color));
    json_object_object_add(o, "placed_at", json_object_new_string(PQgetvalue(res, 0, 0)));
    json_object_object_add(o, "next_placement_at", json_object_new_string(PQgetvalue(res, 0, 1)));
    PQclear(res);
    rc = reply_ok(r, 201, o);
out:
    json_object_put(rules);
    return rc;
}
