/* displays.c — a game's display objects (spec 004, CONTRACT 7.4): create, list, get, partial
 * update, delete, each scoped to the game in the path, which a game's token or key must be its own. */
#include "guildhall.h"
#include "api/roblox/roblox.h"
#include "db.h"
#include "request.h"
#include "schema.h"

#define NOT_FOUND "Display object not found"

DB_STMT(game_exists_stmt, 1, true, "SELECT 1 FROM roblox_games WHERE id = $1");
DB_STMT(create_stmt, 6, false,
        "INSERT INTO roblox_displays (game_id, asset_id, asset_type, x, y, z) "
        "VALUES ($1, $2, $3, $4::float8, $5::float8, $6::float8) RETURNING id::text");
DB_STMT(list_stmt, 1, true,
        "SELECT json_build_object('displays', coalesce(json_agg(roblox_display_json(d) ORDER BY d.created_at, d.id), "
        "'[]'))::text FROM roblox_displays d WHERE d.game_id = $1");
DB_STMT(get_stmt, 2, true,
        "SELECT roblox_display_json(d)::text FROM roblox_displays d WHERE d.game_id = $1 AND d.id = $2::uuid");
DB_STMT(update_stmt, 7, false,
        "UPDATE roblox_displays SET asset_id = coalesce($3, asset_id), asset_type = coalesce($4, asset_type), "
        "x = coalesce($5::float8, x), y = coalesce($6::float8, y), z = coalesce($7::float8, z), updated_at = now() "
        "WHERE game_id = $1 AND id = $2::uuid RETURNING '{\"status\":\"success\"}'");
DB_STMT(delete_stmt, 2, false,
        "DELETE FROM roblox_displays WHERE game_id = $1 AND id = $2::uuid RETURNING '{\"status\":\"success\"}'");

static const char *const asset_types[] = {"image", "video", NULL};

struct position {
    double x, y, z;
};
struct display_input {
    const char *asset_id;
    int asset_type;
    struct position position;
    uint64_t present;
};
enum { GIVEN_ASSET_ID, GIVEN_ASSET_TYPE, GIVEN_POSITION };

#define COORD(c, fl) {.name = #c, .type = F_NUMBER, .flags = fl, .offset = offsetof(struct position, c), .def = "0"}
static const struct body_schema position_schema = {
    .fields = (const struct body_field[]){COORD(x, 0), COORD(y, 0), COORD(z, 0), {0}},
    .refuse_unknown = true,
    .size = sizeof(struct position),
};
/* An update moves the object to a whole new position: the three coordinates, no defaults. */
#define COORD_REQUIRED(c) {.name = #c, .type = F_NUMBER, .flags = F_REQUIRED, .offset = offsetof(struct position, c)}
static const struct body_schema new_position_schema = {
    .fields = (const struct body_field[]){COORD_REQUIRED(x), COORD_REQUIRED(y), COORD_REQUIRED(z), {0}},
    .refuse_unknown = true,
    .size = sizeof(struct position),
};

const struct body_schema roblox_display_body = {
    .fields = (const struct body_field[]){
        {.name = "asset_id", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct display_input, asset_id),
         .min = 1, .max = 128},
        {.name = "asset_type", .type = F_ENUM, .flags = F_REQUIRED, .offset = offsetof(struct display_input, asset_type),
         .values = asset_types},
        {.name = "position", .type = F_OBJECT, .offset = offsetof(struct display_input, position),
         .schema = &position_schema, .def = "{}"},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct display_input),
};

const struct body_schema roblox_display_update_body = {
    .fields = (const struct body_field[]){
        {.name = "asset_id", .type = F_STRING, .offset = offsetof(struct display_input, asset_id), .min = 1, .max = 128},
        {.name = "asset_type", .type = F_ENUM, .offset = offsetof(struct display_input, asset_type),
         .values = asset_types},
        {.name = "position", .type = F_OBJECT, .offset = offsetof(struct display_input, position),
         .schema = &new_position_schema},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct display_input),
    .present_offset = offsetof(struct display_input, present),
    .has_present = true,
};

/* The path's game: the caller's own (403 otherwise) and registered (404). */
static const char *path_game(struct request *r, bool must_exist)
{
    const char *game = path_param(&r->params, "game_id");
    if (!roblox_game_allowed(r, game))
        return NULL;
    if (!must_exist || roblox_caller_game(r))   /* a game's own credential: its game exists */
        return game;
    const char *params[] = {game};
    PGresult *res = query(r, &game_exists_stmt, params);
    if (!res)
        return NULL;
    bool found = PQntuples(res) == 1;
    PQclear(res);
    return found ? game : (fail(r, 404, "Game not found"), NULL);
}

static void coord(char out[32], double v)
{
    snprintf(out, 32, "%.17g", v);
}

int roblox_create_display(struct request *r)
{
    const struct display_input *in = r->input;
    const char *game = path_game(r, true);
    if (!game)
        return -1;
    char x[32], y[32], z[32];
    coord(x, in->position.x), coord(y, in->position.y), coord(z, in->position.z);
    const char *params[] = {game, in->asset_id, asset_types[in->asset_type], x, y, z};
    PGresult *res = query(r, &create_stmt, params);
    if (!res)
        return -1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("success"));
    json_object_object_add(o, "display_id", json_object_new_string(PQgetvalue(res, 0, 0)));
    PQclear(res);
    return reply_json(r, 200, o);
}

int roblox_list_displays(struct request *r)
{
    const char *game = path_game(r, true);
    if (!game)
        return -1;
    const char *params[] = {game};
    return reply_column(r, query(r, &list_stmt, params), 200, "Game not found");
}

int roblox_get_display(struct request *r)
{
    const char *game = path_game(r, false);
    if (!game)
        return -1;
    const char *params[] = {game, path_param(&r->params, "display_id")};
    return reply_column(r, query(r, &get_stmt, params), 200, NOT_FOUND);
}

int roblox_update_display(struct request *r)
{
    const struct display_input *in = r->input;
    const char *game = path_game(r, false);
    if (!game)
        return -1;
    bool moved = (in->present >> GIVEN_POSITION) & 1u;
    char x[32], y[32], z[32];
    coord(x, in->position.x), coord(y, in->position.y), coord(z, in->position.z);
    const char *params[] = {game, path_param(&r->params, "display_id"), in->asset_id,
                            (in->present >> GIVEN_ASSET_TYPE) & 1u ? asset_types[in->asset_type] : NULL,
                            moved ? x : NULL, moved ? y : NULL, moved ? z : NULL};
    return reply_column(r, query(r, &update_stmt, params), 200, NOT_FOUND);
}

int roblox_delete_display(struct request *r)
{
    const char *game = path_game(r, false);
    if (!game)
        return -1;
    const char *params[] = {game, path_param(&r->params, "display_id")};
    return reply_column(r, query(r, &delete_stmt, params), 200, NOT_FOUND);
}
