/* ads.c — game ads (spec 004 "Game Ads API", CONTRACT 7.4) at /api/game-ads and /api/v1/game-ads:
 * list (10 a page, newest first, search/status/gameId AND-ed), create, get, replace, delete, and the
 * events games report, summed into `performance` in place. A game's token or key sees and changes
 * only its own game's ads (another's by id: 404; creating for another: 403); an admin key all. */
#include "guildhall.h"
#include "api/roblox/roblox.h"
#include "db.h"
#include "request.h"
#include "schema.h"

#define PAGE_SIZE "10"
#define DEFAULT_GAME "game_001"
#define NOT_FOUND "Game ad not found"

DB_STMT(list_stmt, 5, true,
        "WITH f AS (SELECT a.* FROM roblox_ads a WHERE ($1::text IS NULL OR lower(a.name) LIKE roblox_contains($1)) "
        " AND ($2::text IS NULL OR a.status = $2) AND ($3::text IS NULL OR a.game_id = $3) "
        " AND ($4::text IS NULL OR a.game_id = $4)), "
        "page AS (SELECT * FROM f ORDER BY created_at DESC, id DESC LIMIT " PAGE_SIZE
        " OFFSET ($5::bigint - 1) * " PAGE_SIZE "), "
        "n AS (SELECT count(*) AS total FROM f) "
        "SELECT jsonb_build_object('gameAds', coalesce((SELECT jsonb_agg(roblox_ad_json(p) ORDER BY p.created_at DESC, "
        " p.id DESC) FROM page p), '[]'), 'total', n.total, 'page', $5::bigint, "
        " 'totalPages', ceil(n.total / " PAGE_SIZE ".0)::bigint)::text FROM n");
/* The game must exist (column 1); a name clash leaves column 2 NULL. */
DB_STMT(create_stmt, 8, false,
        "WITH g AS (SELECT id FROM roblox_games WHERE id = $1), "
        "ins AS (INSERT INTO roblox_ads AS a (game_id, name, template_type, status, schedule, targeting, metrics, assets) "
        " SELECT g.id, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8::jsonb FROM g "
        " ON CONFLICT ((lower(name))) DO NOTHING RETURNING a.*) "
        "SELECT EXISTS (SELECT 1 FROM g), (SELECT roblox_ad_json(ins)::text FROM ins)");
DB_STMT(get_stmt, 2, true,
        "SELECT roblox_ad_json(a)::text FROM roblox_ads a WHERE a.id = $1::uuid AND ($2::text IS NULL OR a.game_id = $2)");
DB_STMT(game_of_stmt, 2, true,
        "SELECT game_id FROM roblox_ads WHERE id = $1::uuid AND ($2::text IS NULL OR game_id = $2)");
DB_STMT(replace_stmt, 9, false,
        "SELECT roblox_replace_ad($1::uuid, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9::jsonb)::text");
DB_STMT(delete_stmt, 2, false,
        "DELETE FROM roblox_ads WHERE id = $1::uuid AND ($2::text IS NULL OR game_id = $2) "
        "RETURNING '{\"success\":true}'");
/* One statement: the ad (in the caller's game), the event_id once, the sum in place. */
DB_STMT(event_stmt, 5, false,
        "WITH ad AS (SELECT id FROM roblox_ads WHERE id = $1::uuid AND ($2::text IS NULL OR game_id = $2)), "
        "fresh AS (INSERT INTO roblox_ad_events (ad_id, event_id) SELECT id, $5::text FROM ad WHERE $5::text IS NOT NULL "
        " ON CONFLICT DO NOTHING RETURNING ad_id), "
        "bump AS (UPDATE roblox_ads SET "
        " impressions = impressions + CASE WHEN $3::text = 'impression' THEN $4::bigint ELSE 0 END, "
        " clicks = clicks + CASE WHEN $3 = 'click' THEN $4::bigint ELSE 0 END, "
        " conversions = conversions + CASE WHEN $3 = 'conversion' THEN $4::bigint ELSE 0 END "
        " WHERE id = (SELECT id FROM ad) AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM fresh)) RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM ad), EXISTS (SELECT 1 FROM bump)");

struct asset {
    const char *type, *id, *roblox_id;
};
struct ad_input {
    const char *name, *template_type, *game_id, *status;
    json_object *schedule, *targeting, *metrics;
    struct field_array assets;
};

#define ASSET(json, c) {.name = json, .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct asset, c), \
                        .min = 1, .max = 200}
static const struct body_schema asset_schema = {
    .fields = (const struct body_field[]){ASSET("assetType", type), ASSET("assetId", id),
                                          ASSET("robloxAssetId", roblox_id), {0}},
    .size = sizeof(struct asset),
};
static const struct body_field asset_item = {.type = F_OBJECT, .schema = &asset_schema};

#define AD_STRING(json, c, fl, hi) {.name = json, .type = F_STRING, .flags = fl, .offset = offsetof(struct ad_input, c), \
                                    .min = 1, .max = hi}
#define AD_JSON(json, c) {.name = json, .type = F_JSON, .flags = F_NULLABLE, .offset = offsetof(struct ad_input, c)}
#define AD_FIELDS                                                                                          \
    AD_STRING("name", name, F_REQUIRED, 200), AD_STRING("templateType", template_type, F_REQUIRED, 100),     \
        AD_STRING("gameId", game_id, F_NULLABLE, 64),                                                        \
        {.name = "status", .type = F_STRING, .flags = F_NULLABLE, .offset = offsetof(struct ad_input, status), \
         .min = 1, .max = 50, .def = "\"active\""},                                                          \
        AD_JSON("schedule", schedule), AD_JSON("targeting", targeting), AD_JSON("metrics", metrics),         \
        {.name = "assets", .type = F_ARRAY, .flags = F_REQUIRED, .offset = offsetof(struct ad_input, assets),   \
         .min = 1, .max = 50, .items = &asset_item}

const struct body_schema roblox_ad_body = {
    .fields = (const struct body_field[]){AD_FIELDS, {0}},
    .size = sizeof(struct ad_input),
};

static const char *const event_types[] = {"impression", "click", "conversion", NULL};
struct event_input {
    int type;
    int64_t count;
    const char *event_id;
};

const struct body_schema roblox_ad_event_body = {
    .fields = (const struct body_field[]){
        {.name = "type", .type = F_ENUM, .flags = F_REQUIRED, .offset = offsetof(struct event_input, type),
         .values = event_types},
        {.name = "count", .type = F_INT, .flags = F_NULLABLE, .offset = offsetof(struct event_input, count), .min = 1,
         .max = 1000000, .def = "1"},
        {.name = "event_id", .type = F_STRING, .flags = F_NULLABLE, .offset = offsetof(struct event_input, event_id),
         .min = 1, .max = 128},
        {0},
    },
    .size = sizeof(struct event_input),
};

/* schedule, targeting and metrics: an object or null; the answer lists every one that is not. */
static bool ad_objects_valid(struct request *r, const struct ad_input *in)
{
    struct field_error errs[3];
    int n = 0;
    const struct {
        const char *name;
        json_object *v;
    } objects[] = {{"schedule", in->schedule}, {"targeting", in->targeting}, {"metrics", in->metrics}};
    for (size_t i = 0; i < ARRAY_LEN(objects); i++)
        if (objects[i].v && !json_object_is_type(objects[i].v, json_type_object)) {
            snprintf(errs[n].field, sizeof errs[n].field, "%s", objects[i].name);
            snprintf(errs[n].message, sizeof errs[n].message, "%s must be an object or null", objects[i].name);
            n++;
        }
    return n == 0 || (fail_fields(r, errs, n), false);
}

static const char *json_param(json_object *v)
{
    return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL;
}

static json_object *assets_json(const struct ad_input *in)
{
    json_object *list = json_object_new_array();
    const struct asset *a = in->assets.items;
    for (size_t i = 0; i < in->assets.n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "assetType", json_object_new_string(a[i].type));
        json_object_object_add(o, "assetId", json_object_new_string(a[i].id));
        json_object_object_add(o, "robloxAssetId", json_object_new_string(a[i].roblox_id));
        json_object_array_add(list, o);
    }
    return list;
}

int roblox_list_ads(struct request *r)
{
    const char *params[] = {qstr(r, "search"), qstr(r, "status"), qstr(r, "gameId"), roblox_caller_game(r),
                            qstr(r, "page")};
    return reply_column(r, query(r, &list_stmt, params), 200, "Failed to load game ads");
}

int roblox_create_ad(struct request *r)
{
    const struct ad_input *in = r->input;
    if (!ad_objects_valid(r, in))
        return -1;
    const char *mine = roblox_caller_game(r);
    const char *game = in->game_id ? in->game_id : mine ? mine : DEFAULT_GAME;
    if (!roblox_game_allowed(r, game))
        return -1;
    json_object *assets = assets_json(in);
    const char *params[] = {game, in->name, in->template_type, in->status, json_param(in->schedule),
                            json_param(in->targeting), json_param(in->metrics), json_param(assets)};
    PGresult *res = query(r, &create_stmt, params);
    json_object_put(assets);
    if (!res)
        return -1;
    bool game_exists = PQgetvalue(res, 0, 0)[0] == 't', created = !PQgetisnull(res, 0, 1);
    int rc = !game_exists ? fail(r, 400, "Referenced game does not exist")
             : !created   ? fail(r, 409, "A game ad with this name already exists")
                          : reply_text(r, 200, "application/json", PQgetvalue(res, 0, 1),
                                       (size_t)PQgetlength(res, 0, 1));
    PQclear(res);
    return rc;
}

int roblox_get_ad(struct request *r)
{
    const char *params[] = {path_param(&r->params, "id"), roblox_caller_game(r)};
    return reply_column(r, query(r, &get_stmt, params), 200, NOT_FOUND);
}

int roblox_replace_ad(struct request *r)
{
    const struct ad_input *in = r->input;
    const char *id = path_param(&r->params, "id"), *mine = roblox_caller_game(r);
    if (!ad_objects_valid(r, in))
        return -1;
    if (in->game_id) {   /* the ad's game is not the body's to change */
        const char *params[] = {id, mine};
        PGresult *res = query(r, &game_of_stmt, params);
        if (!res)
            return -1;
        bool found = PQntuples(res) == 1, same = found && !strcmp(PQgetvalue(res, 0, 0), in->game_id);
        PQclear(res);
        if (!found)
            return fail(r, 404, NOT_FOUND);
        if (!same)
            return fail_field(r, 400, "gameId", "gameId cannot be changed");
    }
    json_object *assets = assets_json(in);
    const char *params[] = {id, mine, in->name, in->template_type, in->status, json_param(in->schedule),
                            json_param(in->targeting), json_param(in->metrics), json_param(assets)};
    PGresult *res = query(r, &replace_stmt, params);
    json_object_put(assets);
    if (!res)
        return query_state(r) && !strcmp(query_state(r), "GHNAM")
                   ? fail(r, 409, "A game ad with this name already exists")
                   : -1;
    return reply_column(r, res, 200, NOT_FOUND);
}

int roblox_delete_ad(struct request *r)
{
    const char *params[] = {path_param(&r->params, "id"), roblox_caller_game(r)};
    return reply_column(r, query(r, &delete_stmt, params), 200, NOT_FOUND);
}

int roblox_report_ad_event(struct request *r)
{
    const struct event_input *in = r->input;
    char count[24];
    snprintf(count, sizeof count, "%lld", (long long)in->count);
    const char *params[] = {path_param(&r->params, "id"), roblox_caller_game(r), event_types[in->type], count,
                            in->event_id};
    PGresult *res = query(r, &event_stmt, params);
    if (!res)
        return -1;
    bool found = PQgetvalue(res, 0, 0)[0] == 't', counted = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (!found)
        return fail(r, 404, NOT_FOUND);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "counted", json_object_new_boolean(counted));
    return reply_json(r, 200, o);
}
