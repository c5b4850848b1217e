/* rpg.c — RPG progression (spec 000 §19–22, CONTRACT 7.2): characters unique per (discord_id,
 * server_id), their leaderboard ranked with rank() (sql/010_mikros_rpg.sql), and the action log. */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "db.h"
#include "request.h"
#include "schema.h"

DB_STMT(save_stmt, 9, false,
        "INSERT INTO mikros_rpg_characters AS c (discord_id, server_id, character_name, character_class, level, "
        "xp, stats, inventory, last_action_time) VALUES ($1, $2, $3, $4, $5::int, $6::bigint, $7::jsonb, $8::jsonb, "
        "to_timestamp($9::double precision / 1e6)) ON CONFLICT (discord_id, server_id) DO UPDATE SET "
        "character_name = EXCLUDED.character_name, character_class = EXCLUDED.character_class, "
        "level = EXCLUDED.level, xp = EXCLUDED.xp, stats = EXCLUDED.stats, inventory = EXCLUDED.inventory, "
        "last_action_time = EXCLUDED.last_action_time, updated_at = now() RETURNING c.id");
DB_STMT(get_stmt, 2, true,
        "SELECT mikros_rpg_character_json(c)::text FROM mikros_rpg_characters c WHERE c.discord_id = $1 "
        "AND ($2::text IS NULL OR c.server_id = $2) ORDER BY c.updated_at DESC LIMIT 1");
DB_STMT(board_stmt, 4, true, "SELECT mikros_rpg_leaderboard_json($1, $2::int, $3, $4)::text");
DB_STMT(action_stmt, 8, false,
        "INSERT INTO mikros_rpg_actions (discord_id, server_id, action_type, character_level, xp_gained, outcome, "
        "narrative_encounter, happened_at) VALUES ($1, $2, $3, $4::int, $5::int, $6, $7, "
        "COALESCE(to_timestamp($8::double precision / 1e6), now())) RETURNING id");

#define MAX_STAT 1000000
#define MAX_INVENTORY 500

struct character_input {
    const char *discord_id, *server_id, *character_name, *character_class;
    int64_t level, xp, last_action_time, updated_at;
    json_object *stats, *inventory;
};

const struct body_schema mikros_character_body = {
    .fields = (const struct body_field[]){
        {.name = "discord_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED,
         .offset = offsetof(struct character_input, discord_id)},
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED,
         .offset = offsetof(struct character_input, server_id)},
        {.name = "character_name", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct character_input, character_name), .min = 1, .max = 64},
        {.name = "character_class", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct character_input, character_class), .min = 1, .max = 32},
        {.name = "level", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct character_input, level),
         .min = 1, .max = 1000000},
        {.name = "xp", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct character_input, xp),
         .min = 0, .max = 1000000000000LL},
        {.name = "stats", .type = F_JSON, .offset = offsetof(struct character_input, stats)},
        {.name = "last_action_time", .type = F_TIMESTAMP, .flags = F_NULLABLE,
         .offset = offsetof(struct character_input, last_action_time)},
        {.name = "inventory", .type = F_JSON, .offset = offsetof(struct character_input, inventory)},
        {.name = "updated_at", .type = F_TIMESTAMP, .flags = F_NULLABLE,
         .offset = offsetof(struct character_input, updated_at)},
        {0},
    },
    .size = sizeof(struct character_input),
};

struct action_input {
    const char *discord_id, *server_id, *action_type, *outcome, *narrative_encounter;
    int64_t character_level, xp_gained, timestamp;
};

const struct body_schema mikros_action_body = {
    .fields = (const struct body_field[]){
        {.name = "discord_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct action_input, discord_id)},
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct action_input, server_id)},
        {.name = "action_type", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct action_input, action_type), .min = 1, .max = 64},
        {.name = "character_level", .type = F_INT, .flags = F_REQUIRED,
         .offset = offsetof(struct action_input, character_level), .min = 1, .max = 1000000},
        {.name = "xp_gained", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct action_input, xp_gained),
         .min = 0, .max = 1000000},
        {.name = "outcome", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct action_input, outcome),
         .min = 1, .max = 64},
        {.name = "narrative_encounter", .type = F_STRING, .flags = F_NULLABLE,
         .offset = offsetof(struct action_input, narrative_encounter), .max = 2000},
        {.name = "timestamp", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct action_input, timestamp)},
        {0},
    },
    .size = sizeof(struct action_input),
};

/* stats: an object of small non-negative integers; inventory: an array. */
static bool character_valid(struct request *r, const struct character_input *in)
{
    if (in->stats) {
        if (!json_object_is_type(in->stats, json_type_object))
            return fail_field(r, 400, "stats", "stats must be an object of integers"), false;
        json_object_object_foreach(in->stats, name, v) {
            int64_t n = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || n < 0 || n > MAX_STAT)
                return fail_field(r, 400, "stats", "stats.%s must be an integer between 0 and %d", name, MAX_STAT),
                       false;
        }
    }
    if (in->inventory && (!json_object_is_type(in->inventory, json_type_array) ||
                          json_object_array_length(in->inventory) > MAX_INVENTORY))
        return fail_field(r, 400, "inventory", "inventory must be an array of at most %d items", MAX_INVENTORY),
               false;
    return true;
}

/* {"success": true, <id_key>: id, "message": M, "timestamp": T} — what the spec's saves answer. */
static int reply_saved(struct request *r, PGresult *res, const char *id_key, const char *message)
{
    if (!res)
        return -1;
    int rc = mikros_reply_id(r, id_key, PQgetvalue(res, 0, 0), message);
    PQclear(res);
    return rc;
}

int mikros_save_character(struct request *r)
{
    const struct character_input *in = r->input;
    if (!character_valid(r, in))
        return -1;
    char level[24], xp[24], last[24];
    snprintf(level, sizeof level, "%lld", (long long)in->level);
    snprintf(xp, sizeof xp, "%lld", (long long)in->xp);
    const char *params[9] = {in->discord_id, in->server_id, in->character_name, in->character_class, level, xp,
                             in->stats ? json_object_to_json_string(in->stats) : "{}",
                             in->inventory ? json_object_to_json_string(in->inventory) : "[]"};
    params[8] = mikros_micros_param(in->last_action_time, last);
    return reply_saved(r, query(r, &save_stmt, params), "character_id", "Character saved successfully");
}

int mikros_get_character(struct request *r)
{
    const char *params[] = {path_param(&r->params, "discord_id"), qstr(r, "server_id")};
    PGresult *res = query(r, &get_stmt, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 404, "No character for discord_id %s", params[0]);
    }
    json_object *data = json_tokener_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    return reply_ok(r, 200, data);
}

int mikros_rpg_leaderboard(struct request *r)
{
    const char *server = qstr(r, "server_id"), *me = qstr(r, "discord_id");
    const char *params[] = {server, qstr(r, "limit"), qstr(r, "sort_by"), me};
    return reply_column(r, query(r, &board_stmt, params), 200, "Leaderboard not found");
}

int mikros_log_action(struct request *r)
{
    const struct action_input *in = r->input;
    char level[24], xp[24], at[24];
    snprintf(level, sizeof level, "%lld", (long long)in->character_level);
    snprintf(xp, sizeof xp, "%lld", (long long)in->xp_gained);
    const char *params[8] = {in->discord_id, in->server_id, in->action_type, level, xp, in->outcome,
                             in->narrative_encounter};
    params[7] = mikros_micros_param(in->timestamp, at);
    return reply_saved(r, query(r, &action_stmt, params), "action_id", "Action logged successfully");
}
