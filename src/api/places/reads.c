/* reads.c — the public GETs. Each is one round trip to a SQL function that builds the JSON
 * (sql/004_places_api.sql); responses are cached by the dispatcher per the route table. An archive's
 * answers never change after its week ended, so they carry that time as Last-Modified. */
#include "guildhall.h"
#include "api/places/places.h"
#include "db.h"
#include "request.h"

DB_STMT(modes_stmt, 0, true, "SELECT places_modes_json()");
DB_STMT(current_stmt, 0, true, "SELECT places_current_json()");
DB_STMT(archives_stmt, 5, true, "SELECT places_archives_json($1::int, $2::int, $3, $4::int, $5)");
#define ARCHIVE_ENDED "(SELECT floor(extract(epoch FROM ended_at))::bigint FROM canvas_archives WHERE id = $1::uuid)"
DB_IMMUTABLE_STMT(archive_stmt, 2, "SELECT places_archive_json($1::uuid, $2), " ARCHIVE_ENDED);
DB_IMMUTABLE_STMT(archive_canvas_stmt, 1,
        "SELECT canvas_gzip, floor(extract(epoch FROM ended_at))::bigint FROM canvas_archives WHERE id = $1::uuid");
DB_IMMUTABLE_STMT(archive_png_stmt, 1,
        "SELECT image_png, thumbnail_png, canvas_gzip, width, height, floor(extract(epoch FROM ended_at))::bigint "
        "FROM canvas_archives WHERE id = $1::uuid");
DB_IMMUTABLE_STMT(archived_board_stmt, 2, "SELECT places_archived_leaderboard_json($1::uuid, $2), " ARCHIVE_ENDED);
DB_STMT(leaderboard_stmt, 2, true, "SELECT places_leaderboard_json($1, $2::int)");
DB_STMT(agent_stats_stmt, 2, true, "SELECT places_agent_stats_json($1::uuid, $2::int)");
DB_STMT(agent_current_stmt, 1, true, "SELECT places_agent_current_json($1::uuid)");

/* Last-Modified from an archive's ended_at column (seconds) of a one-row result. */
static void archive_last_modified(struct request *r, const PGresult *res, int col)
{
    if (PQntuples(res) && !PQgetisnull(res, 0, col))
        r->out_last_modified = strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

int places_game_modes(struct request *r)
{
    return reply_column(r, query(r, &modes_stmt, NULL), 200, "Game modes not found");
}

int places_current_mode(struct request *r)
{
    PGresult *res = query(r, &current_stmt, NULL);
    if (!res)
        return -1;
    int rc = PQntuples(res) && !PQgetisnull(res, 0, 0) ? places_reply_with_canvas(r, PQgetvalue(res, 0, 0))
                                                         : fail(r, 404, "No week is open");
    PQclear(res);
    return rc;
}

int places_archives(struct request *r)
{
    const char *params[] = {qstr(r, "page"), qstr(r, "limit"), qstr(r, "game_mode"), qstr(r, "year"),
                            places_base_url(r)};
    return reply_column(r, query(r, &archives_stmt, params), 200, "Archives not found");
}

int places_archive(struct request *r)
{
    const char *id = path_param(&r->params, "id");
    const char *params[] = {id, places_base_url(r)};
    PGresult *res = query(r, &archive_stmt, params);
    if (!res)
        return -1;
    archive_last_modified(r, res, 1);
    int rc = PQntuples(res) && !PQgetisnull(res, 0, 0) ? places_reply_with_canvas(r, PQgetvalue(res, 0, 0))
                                                         : fail(r, 404, "Archive %s not found", id);
    PQclear(res);
    return rc;
}

int places_archive_canvas(struct request *r)
{
    const char *id = path_param(&r->params, "id");
    const char *params[] = {id};
    PGresult *res = query(r, &archive_canvas_stmt, params);
    if (!res)
        return -1;
    archive_last_modified(r, res, 1);
    struct buf gz = {0};
    int rc;
    if (PQntuples(res) == 0)
        rc = fail(r, 404, "Archive %s not found", id);
    else if (!places_bytea_unhex(PQgetvalue(res, 0, 0), &gz))
        rc = fail(r, 500, "Internal error");
    else {
        /* the stored bytes are already gzip: served as they are, decoded by the client */
        r->out_gzipped = true;
        rc = reply_text(r, 200, "application/octet-stream", gz.data ? gz.data : "", gz.len);
    }
    buf_free(&gz);
    PQclear(res);
    return rc;
}

static int archive_png(struct request *r, bool thumbnail)
{
    const char *id = path_param(&r->params, "id");
    const char *params[] = {id};
    PGresult *res = query(r, &archive_png_stmt, params);
    if (!res)
        return -1;
    archive_last_modified(r, res, 5);
    struct buf png = {0}, gz = {0};
    int rc, col = thumbnail ? 1 : 0;
    if (PQntuples(res) == 0) {
        rc = fail(r, 404, "Archive %s not found", id);
    } else if (!PQgetisnull(res, 0, col) && places_bytea_unhex(PQgetvalue(res, 0, col), &png)) {
        rc = reply_text(r, 200, "image/png", png.data, png.len);
    } else if (places_bytea_unhex(PQgetvalue(res, 0, 2), &gz) &&
               places_render_png(gz.data, gz.len, atoi(PQgetvalue(res, 0, 3)), atoi(PQgetvalue(res, 0, 4)),
                                 thumbnail ? 128 : 0, &png)) {
        /* not rendered yet (cleanup-archives stores it): render this once on the fly */
        rc = reply_text(r, 200, "image/png", png.data, png.len);
    } else {
        rc = fail(r, 500, "Internal error");
    }
    buf_free(&png);
    buf_free(&gz);
    PQclear(res);
    return rc;
}

int places_archive_image(struct request *r)
{
    return archive_png(r, false);
}

int places_archive_thumbnail(struct request *r)
{
    return archive_png(r, true);
}

int places_leaderboard_current(struct request *r)
{
    /* the leaderboard is rebuilt at most once per cache lifetime: territory is computed here */
    if (!places_refresh_territory(r))
        return -1;
    const char *params[] = {qstr(r, "type"), qstr(r, "limit")};
    return reply_column(r, query(r, &leaderboard_stmt, params), 200, "Leaderboard not found");
}

int places_leaderboard_archive(struct request *r)
{
    const char *id = path_param(&r->params, "id");
    const char *params[] = {id, qstr(r, "type")};
    PGresult *res = query(r, &archived_board_stmt, params);
    if (!res)
        return -1;
    archive_last_modified(r, res, 1);
    return reply_column(r, res, 200, "Archive not found");
}

int places_agent_stats(struct request *r)
{
    const char *id = path_param(&r->params, "id");
    const char *params[] = {id, qstr(r, "weeks")};
    return reply_column(r, query(r, &agent_stats_stmt, params), 200, "Agent not found");
}

int places_agent_current_week(struct request *r)
{
    const char *id = path_param(&r->params, "id");
    const char *params[] = {id};
    return reply_column(r, query(r, &agent_current_stmt, params), 200, "Agent not found");
}
