/* pixels.c — the current canvas and pixel placement. A placement's checks (bounds, the mode's rules,
 * the budget, the placer's cooldown) and its commit are one statement in PostgreSQL before the 201
 * (the cooldown is a game rule: it must not vanish with memcached). */
#include "guildhall.h"
#include "api/places/places.h"
#include "api/places/canvas.h"
#include "db.h"
#include "log.h"
#include "request.h"

/* The mode's rules, the placer, the canvas bounds, the budget and the cooldown, checked and the
 * placement committed in one statement (sql/019_places_one_round_trip.sql): placed, it returns
 * placed_at and next_placement_at (whole seconds, rounded up); refused, it raises one of our codes. */
DB_STMT(place_stmt, 5, false,
        "SELECT places_ts(p.placed_at), places_ts(p.next_placement_at) "
        "FROM place_pixel_checked($1::uuid, $2::uuid, $3::bigint, $4::bigint, $5::int) p");

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

/* x and y are checked against this week's canvas size by place_pixel_checked. */
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

/* The answer to a refusal place_pixel_checked raised (its codes are listed in sql/019). */
static int refuse(struct request *r, const char *kind, int color)
{
    const char *state = query_state(r), *detail = db_error_detail(r->svc->db);
    char axis[2];
    long largest;
    if (!strcmp(state, "GHNOW"))
        return fail(r, 503, "No week is open");
    if (!strcmp(state, "GHPLR"))
        return fail(r, 403, "This key's %s does not exist", kind);
    if (!strcmp(state, "GHXYB") && sscanf(detail, "%1[xy] %ld", axis, &largest) == 2)
        return fail_field(r, 400, axis, "%s must be an integer between 0 and %ld", axis, largest);
    if (!strcmp(state, "GHPAL"))
        return fail_field(r, 400, "color", "color %d is not in this week's palette", color);
    if (!strcmp(state, "GHFAC"))
        return fail(r, 403, "This week's mode needs a faction: the placer has none");
    if (!strcmp(state, "GHFCL"))
        return fail_field(r, 400, "color", "color must be your faction's colour (%.8s)", detail);
    if (!strcmp(state, "GHBUD"))
        return fail(r, 403, "This week's pixel budget is spent");
    if (!strcmp(state, "GHCDN"))
        return refuse_cooldown(r);
    log_error("place_pixel_checked: unexpected %s (\"%s\")", state, detail);
    return fail(r, 500, "Internal error (request %s)", r->request_id ? r->request_id : "-");
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
    char xs[24], ys[24], cs[16];
    snprintf(xs, sizeof(xs), "%lld", (long long)in->x);
    snprintf(ys, sizeof(ys), "%lld", (long long)in->y);
    snprintf(cs, sizeof(cs), "%d", (int)in->color);
    const char *pp[] = {is_user ? colon + 1 : NULL, is_user ? NULL : colon + 1, xs, ys, cs};
    PGresult *res = query(r, &place_stmt, pp);
    if (!res)
        return r->status ? -1 : refuse(r, kind, (int)in->color);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "x", json_object_new_int64(in->x));
    json_object_object_add(o, "y", json_object_new_int64(in->y));
    json_object_object_add(o, "color", json_object_new_int((int)in->color));
    json_object_object_add(o, "placed_at", json_object_new_string(PQgetvalue(res, 0, 0)));
    json_object_object_add(o, "next_placement_at", json_object_new_string(PQgetvalue(res, 0, 1)));
    PQclear(res);
    return reply_ok(r, 201, o);
}
