/* admin.c — service-role routes. reset-week runs in one transaction: it locks the open week and
 * the canvas, stores territory, renders the archive's canvas, image and thumbnail, calls
 * archive_and_reset_week(), queues the two WebSocket events and the audit entry, and commits;
 * only then are the caches invalidated. */
#include "guildhall.h"
#include "api/places/places.h"
#include "api/places/canvas.h"
#include "api/places/png_render.h"
#include "cache.h"
#include "db.h"
#include "request.h"

#define THUMBNAIL_LONGEST 128

DB_STMT(lock_week_stmt, 0, false,
        "SELECT resets_at <= now() FROM weeks WHERE closed_at IS NULL FOR UPDATE");
DB_STMT(mode_valid_stmt, 1, true, "SELECT 1 FROM game_modes WHERE slug = $1 AND is_active");
DB_STMT(lock_canvas_stmt, 0, false, "LOCK TABLE canvas_cells IN EXCLUSIVE MODE");
DB_STMT(archive_stmt, 2, false, "SELECT archive_and_reset_week($1::bytea, $2)");
DB_STMT(store_images_stmt, 3, false,
        "UPDATE canvas_archives SET image_png = $2::bytea, thumbnail_png = $3::bytea WHERE id = $1::uuid");
/* The spec's two events, in order, and what the response reports, from the rows just written. */
DB_STMT(after_reset_stmt, 1, false,
        "WITH a AS (SELECT * FROM canvas_archives WHERE id = $1::uuid), "
        "c AS (SELECT * FROM get_current_game_mode()), "
        "ev AS (INSERT INTO outbox (kind, payload) SELECT 'nchan', e FROM c, a, LATERAL (VALUES "
        " (1, jsonb_build_object('event', 'week_reset', 'message', jsonb_build_object('type', 'week_reset', "
        "  'data', jsonb_build_object('archive_id', a.id, 'new_week', c.week_number, 'new_year', c.year, "
        "  'game_mode', c.slug)))), "
        " (2, jsonb_build_object('event', 'game_mode_changed', 'message', jsonb_build_object('type', "
        "  'game_mode_changed', 'data', jsonb_build_object('new_mode', jsonb_build_object('slug', c.slug, "
        "  'name', c.name, 'rules', c.rules), 'week_number', c.week_number, 'year', c.year))))) v(n, e) "
        " ORDER BY v.n RETURNING id) "
        "SELECT c.week_number, c.year, c.slug, a.total_pixels_placed, a.unique_contributors, "
        "(SELECT count(*) FROM ev) FROM c, a");
DB_STMT(update_agent_stmt, 3, false, "SELECT update_agent_stats($1::uuid, $2::int, $3::int)");
DB_STMT(snapshot_stmt, 0, false, "SELECT snapshot_stats()::text");
DB_STMT(missing_images_stmt, 0, true,
        "SELECT id, canvas_gzip, width, height FROM canvas_archives "
        "WHERE image_png IS NULL OR thumbnail_png IS NULL ORDER BY ended_at");
DB_STMT(count_archives_stmt, 0, true, "SELECT count(*) FROM canvas_archives");

struct reset_input {
    const char *next_game_mode;   /* NULL: the rotation picks */
    bool force;
};

const struct body_schema places_reset_body = {
    .fields = (const struct body_field[]){
        {.name = "next_game_mode", .type = F_STRING, .flags = F_NULLABLE,
         .offset = offsetof(struct reset_input, next_game_mode), .max = 64},
        {.name = "force", .type = F_BOOL, .offset = offsetof(struct reset_input, force), .def = "false"},
        {0},
    },
    .size = sizeof(struct reset_input),
};

struct agent_stats_input {
    const char *agent_id;
    int64_t week_number, year;
};

const struct body_schema places_agent_stats_body = {
    .fields = (const struct body_field[]){
        {.name = "agent_id", .type = F_UUID, .flags = F_REQUIRED, .offset = offsetof(struct agent_stats_input, agent_id)},
        {.name = "week_number", .type = F_INT, .flags = F_REQUIRED,
         .offset = offsetof(struct agent_stats_input, week_number), .min = 1, .max = 53},
        {.name = "year", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct agent_stats_input, year),
         .min = 2000, .max = 9999},
        {0},
    },
    .size = sizeof(struct agent_stats_input),
};

/* Routes that take no fields still refuse a body that is not an object. */
struct no_input {
    char unused;
};
const struct body_schema places_empty_body = {
    .fields = (const struct body_field[]){{0}},
    .size = sizeof(struct no_input),
};

/* Renders the canvas's gzip, image and thumbnail as bytea hex parameters. */
static bool render_archive(struct request *r, struct buf *gz_hex, struct buf *png_hex, struct buf *thumb_hex)
{
    struct buf packed = {0}, gz = {0}, png = {0}, thumb = {0};
    int width, height;
    bool ok = places_load_canvas(r, &packed, &width, &height);
    if (ok && (!canvas_gzip((const uint8_t *)packed.data, packed.len, &gz) ||
               !png_render_canvas((const uint8_t *)packed.data, width, height, 0, &png) ||
               !png_render_canvas((const uint8_t *)packed.data, width, height, THUMBNAIL_LONGEST, &thumb))) {
        fail(r, 500, "Internal error");
        ok = false;
    }
    if (ok) {
        places_bytea_hex(gz.data, gz.len, gz_hex);
        places_bytea_hex(png.data, png.len, png_hex);
        places_bytea_hex(thumb.data, thumb.len, thumb_hex);
    }
    buf_free(&packed);
    buf_free(&gz);
    buf_free(&png);
    buf_free(&thumb);
    return ok;
}

int places_reset_week(struct request *r)
{
    const struct reset_input *in = r->input;
    return places_reset_week_run(r, in->next_game_mode, in->force);
}

int places_reset_week_run(struct request *r, const char *mode, bool force)
{
    uint64_t started = monotonic_us();
    if (!request_begin(r))
        return -1;
    struct buf gz = {0}, png = {0}, thumb = {0};
    PGresult *res = NULL;
    int rc = -1;
    if (mode) {
        const char *mp[] = {mode};
        if (!(res = query(r, &mode_valid_stmt, mp)))
            goto fail;
        bool known = PQntuples(res) > 0;
        PQclear(res);
        if (!known) {
            fail_field(r, 400, "next_game_mode", "next_game_mode '%s' is not an active game mode", mode);
            goto fail;
        }
    }
    if (!(res = query(r, &lock_week_stmt, NULL)))
        goto fail;
    bool due = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!due && !force) {
        fail(r, 409, "The week is not due to reset yet; send \"force\": true to reset it now");
        goto fail;
    }
    if (!(res = query(r, &lock_canvas_stmt, NULL)))
        goto fail;
    PQclear(res);
    if (!places_refresh_territory(r) || !render_archive(r, &gz, &png, &thumb))
        goto fail;
    const char *ap[] = {gz.data, mode};
    if (!(res = query(r, &archive_stmt, ap))) {
        if (!strcmp(query_state(r), "GHMOD"))
            fail_field(r, 400, "next_game_mode", "next_game_mode is not an active game mode");
        goto fail;
    }
    char archive_id[40];
    snprintf(archive_id, sizeof(archive_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *ip[] = {archive_id, png.data, thumb.data};
    if (!(res = query(r, &store_images_stmt, ip)))
        goto fail;
    PQclear(res);
    const char *evp[] = {archive_id};
    if (!(res = query(r, &after_reset_stmt, evp)))
        goto fail;
    json_object *o = json_object_new_object(), *week = json_object_new_object(), *stats = json_object_new_object();
    json_object_object_add(week, "week_number", json_object_new_int(atoi(PQgetvalue(res, 0, 0))));
    json_object_object_add(week, "year", json_object_new_int(atoi(PQgetvalue(res, 0, 1))));
    json_object_object_add(week, "game_mode", json_object_new_string(PQgetvalue(res, 0, 2)));
    json_object_object_add(stats, "pixels_archived", json_object_new_int64(atoll(PQgetvalue(res, 0, 3))));
    json_object_object_add(stats, "contributors", json_object_new_int64(atoll(PQgetvalue(res, 0, 4))));
    PQclear(res);
    json_object *details = json_object_new_object();
    json_object_object_add(details, "archive_id", json_object_new_string(archive_id));
    json_object_object_add(details, "forced", json_object_new_boolean(force));
    bool audited = request_audit(r, "places.reset_week", details);
    json_object_put(details);
    if (!audited || !request_commit(r)) {
        json_object_put(o);
        json_object_put(week);
        json_object_put(stats);
        if (!audited)
            goto fail;
        goto out;
    }
    json_object_object_add(stats, "duration_ms", json_object_new_int64((int64_t)((monotonic_us() - started) / 1000)));
    json_object_object_add(o, "archive_id", json_object_new_string(archive_id));
    json_object_object_add(o, "new_week", week);
    json_object_object_add(o, "stats", stats);
    rc = reply_ok(r, 200, o);
    goto out;
fail:
    request_rollback(r);
out:
    buf_free(&gz);
    buf_free(&png);
    buf_free(&thumb);
    return rc;
}

int places_update_agent_stats(struct request *r)
{
    const struct agent_stats_input *in = r->input;
    const char *agent = in->agent_id;
    char week[24], year[24];
    snprintf(week, sizeof(week), "%lld", (long long)in->week_number);
    snprintf(year, sizeof(year), "%lld", (long long)in->year);
    const char *params[] = {agent, week, year};
    if (!request_begin(r))
        return -1;
    PGresult *res = query(r, &update_agent_stmt, params);
    if (!res) {
        bool unknown = !strcmp(query_state(r), "GHNFD");
        request_rollback(r);
        return unknown ? fail(r, 404, "Agent %s not found", agent) : -1;
    }
    bool updated = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    json_object *details = json_object_new_object();
    json_object_object_add(details, "agent_id", json_object_new_string(agent));
    if (!request_audit_commit(r, "places.update_agent_stats", details))
        return -1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "stats_updated", json_object_new_boolean(updated));
    return reply_ok(r, 200, o);
}

/* Ends an admin write whose answer o is also its audit entry: audited and committed together,
 * or neither (a failure has been answered). */
static int commit_answer(struct request *r, const char *action, json_object *o)
{
    if (!request_audit(r, action, o)) {
        request_rollback(r);
        json_object_put(o);
        return -1;
    }
    if (!request_commit(r)) {
        json_object_put(o);
        return -1;
    }
    return reply_ok(r, 200, o);
}

int places_snapshot_stats(struct request *r)
{
    if (!request_begin(r))
        return -1;
    PGresult *res = NULL;
    if (!places_refresh_territory(r) || !(res = query(r, &snapshot_stmt, NULL))) {
        request_rollback(r);
        return -1;
    }
    json_object *o = json_tokener_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!o)
        o = json_object_new_object();
    return commit_answer(r, "places.snapshot_stats", o);
}

int places_cleanup_archives(struct request *r)
{
    if (!request_begin(r))
        return -1;
    PGresult *res = query(r, &missing_images_stmt, NULL);
    if (!res) {
        request_rollback(r);
        return -1;
    }
    int rendered = 0, failed = 0, n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct buf gz = {0}, png = {0}, thumb = {0}, png_hex = {0}, thumb_hex = {0};
        int width = atoi(PQgetvalue(res, i, 2)), height = atoi(PQgetvalue(res, i, 3));
        if (places_bytea_unhex(PQgetvalue(res, i, 1), &gz) &&
            places_render_png(gz.data, gz.len, width, height, 0, &png) &&
            places_render_png(gz.data, gz.len, width, height, THUMBNAIL_LONGEST, &thumb)) {
            places_bytea_hex(png.data, png.len, &png_hex);
            places_bytea_hex(thumb.data, thumb.len, &thumb_hex);
            const char *params[] = {PQgetvalue(res, i, 0), png_hex.data, thumb_hex.data};
            PGresult *u = query(r, &store_images_stmt, params);
            rendered += u != NULL;
            PQclear(u);
        } else {
            failed++;
        }
        buf_free(&gz);
        buf_free(&png);
        buf_free(&thumb);
        buf_free(&png_hex);
        buf_free(&thumb_hex);
        if (r->status)
            break;   /* the database went away: query() replied */
    }
    PQclear(res);
    if (r->status || !(res = query(r, &count_archives_stmt, NULL))) {
        request_rollback(r);
        return -1;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "archives", json_object_new_int64(atoll(PQgetvalue(res, 0, 0))));
    json_object_object_add(o, "images_rendered", json_object_new_int(rendered));
    json_object_object_add(o, "images_failed", json_object_new_int(failed));
    PQclear(res);
    return commit_answer(r, "places.cleanup_archives", o);
}
