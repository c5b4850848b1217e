/* leaderboards.c — the community-game and spelling leaderboards (spec 000 §23–26, CONTRACT 7.2):
 * every save kept with its time, answered per period with each player's latest figures
 * (sql/013_mikros_leaderboards.sql). Both boards share one table; spelling's total_points and
 * total_solves are its score and wins. */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "db.h"
#include "request.h"
#include "schema.h"

DB_STMT(save_stmt, 6, false,
        "WITH save AS (INSERT INTO mikros_board_saves (board, server_id, game_type, session_id, updated_at) "
        " VALUES ($1, $2, $3, $4, to_timestamp($5::double precision / 1e6)) RETURNING id), "
        "rows AS (INSERT INTO mikros_board_entries (save_id, discord_id, username, score, wins, first_solves) "
        " SELECT save.id, e.discord_id, e.username, e.score, e.wins, e.first_solves FROM save, "
        " jsonb_to_recordset($6::jsonb) AS e(discord_id text, username text, score bigint, wins bigint, "
        " first_solves bigint)) "
        "SELECT id::text FROM save");
DB_STMT(board_stmt, 7, true, "SELECT mikros_board_json($1, $2, $3, $4, $5::int, $6, $7)::text");

#define MAX_ENTRIES 1000

static const char *const game_types[] = {"word_unscramble", NULL};

struct entry_input {
    const char *discord_id, *username;
    int64_t score, wins, first_solves, rank;
};

#define FIGURE(label, member) {.name = label, .type = F_INT, .flags = F_REQUIRED, \
                              .offset = offsetof(struct entry_input, member), .min = 0, .max = INT64_MAX}
#define ENTRY_FIELDS(score_name, wins_name)                                                                   \
    {.name = "discord_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct entry_input, discord_id)}, \
    {.name = "username", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct entry_input, username),    \
     .min = 1, .max = 100},                                                                                   \
    FIGURE(score_name, score), FIGURE(wins_name, wins), FIGURE("first_solves", first_solves),                \
    {.name = "rank", .type = F_INT, .flags = F_NULLABLE, .offset = offsetof(struct entry_input, rank), .min = 1, \
     .max = INT64_MAX}

static const struct body_schema community_entry = {
    .fields = (const struct body_field[]){ENTRY_FIELDS("score", "wins"), {0}},
    .size = sizeof(struct entry_input),
};
static const struct body_schema spelling_entry = {
    .fields = (const struct body_field[]){ENTRY_FIELDS("total_points", "total_solves"), {0}},
    .size = sizeof(struct entry_input),
};
static const struct body_field community_item = {.type = F_OBJECT, .schema = &community_entry};
static const struct body_field spelling_item = {.type = F_OBJECT, .schema = &spelling_entry};

struct board_input {
    const char *server_id, *session_id;
    int game_type;
    struct field_array leaderboard;
    int64_t updated_at;
};

const struct body_schema mikros_community_body = {
    .fields = (const struct body_field[]){
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct board_input, server_id)},
        {.name = "game_type", .type = F_ENUM, .offset = offsetof(struct board_input, game_type), .values = game_types,
         .def = "\"word_unscramble\""},
        {.name = "session_id", .type = F_STRING, .flags = F_NULLABLE, .offset = offsetof(struct board_input, session_id),
         .max = 128},
        {.name = "leaderboard", .type = F_ARRAY, .flags = F_REQUIRED, .offset = offsetof(struct board_input, leaderboard),
         .max = MAX_ENTRIES, .items = &community_item},
        {.name = "updated_at", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct board_input, updated_at)},
        {0},
    },
    .size = sizeof(struct board_input),
};

const struct body_schema mikros_spelling_body = {
    .fields = (const struct body_field[]){
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct board_input, server_id)},
        {.name = "leaderboard", .type = F_ARRAY, .flags = F_REQUIRED, .offset = offsetof(struct board_input, leaderboard),
         .max = MAX_ENTRIES, .items = &spelling_item},
        {.name = "updated_at", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct board_input, updated_at)},
        {0},
    },
    .size = sizeof(struct board_input),
};

/* Each player once per save. */
static bool entries_valid(struct request *r, const struct board_input *in)
{
    const struct entry_input *e = in->leaderboard.items;
    for (size_t i = 0; i < in->leaderboard.n; i++) {
        char field[48];
        snprintf(field, sizeof field, "leaderboard[%zu].discord_id", i);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(e[k].discord_id, e[i].discord_id))
                return fail_field(r, 400, field, "%s repeats player %s", field, e[i].discord_id), false;
    }
    return true;
}

static int save_board(struct request *r, const char *board, const char *game_type, const char *message)
{
    const struct board_input *in = r->input;
    if (!entries_valid(r, in))
        return -1;
    json_object *rows = json_object_new_array_ext((int)in->leaderboard.n);
    const struct entry_input *e = in->leaderboard.items;
    for (size_t i = 0; i < in->leaderboard.n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "discord_id", json_object_new_string(e[i].discord_id));
        json_object_object_add(o, "username", json_object_new_string(e[i].username));
        json_object_object_add(o, "score", json_object_new_int64(e[i].score));
        json_object_object_add(o, "wins", json_object_new_int64(e[i].wins));
        json_object_object_add(o, "first_solves", json_object_new_int64(e[i].first_solves));
        json_object_array_add(rows, o);
    }
    char updated[24];
    const char *params[] = {board, in->server_id, game_type, in->session_id,
                            mikros_micros_param(in->updated_at, updated),
                            json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN)};
    PGresult *res = query(r, &save_stmt, params);
    json_object_put(rows);
    if (!res)
        return -1;
    int rc = mikros_reply_id(r, "leaderboard_id", PQgetvalue(res, 0, 0), message);
    PQclear(res);
    return rc;
}

int mikros_save_community_board(struct request *r)
{
    const struct board_input *in = r->input;
    return save_board(r, "community", game_types[in->game_type], "Leaderboard saved successfully");
}

int mikros_save_spelling_board(struct request *r)
{
    return save_board(r, "spelling", NULL, "Spelling leaderboard saved successfully");
}

/* {"success", "data": {"server_id", ["game_type",] "period", "leaderboard", "total_players"}, "timestamp"} */
static int get_board(struct request *r, const char *board, const char *game_type, const char *score_key,
                     const char *wins_key)
{
    const char *server = qstr(r, "server_id");
    if (!server)
        return fail_field(r, 400, "server_id", "Missing required parameter: server_id");
    const char *period = qstr(r, "period");
    const char *params[] = {board, server, game_type ? game_type : "all", period, qstr(r, "limit"), score_key,
                            wins_key};
    PGresult *res = query(r, &board_stmt, params);
    if (!res)
        return -1;
    json_object *figures = json_tokener_parse(PQgetvalue(res, 0, 0)), *data = json_object_new_object(), *v;
    PQclear(res);
    json_object_object_add(data, "server_id", json_object_new_string(server));
    if (game_type)
        json_object_object_add(data, "game_type", json_object_new_string(game_type));
    json_object_object_add(data, "period", json_object_new_string(period));
    json_object_object_get_ex(figures, "leaderboard", &v);
    json_object_object_add(data, "leaderboard", json_object_get(v));
    json_object_object_get_ex(figures, "total_players", &v);
    json_object_object_add(data, "total_players", json_object_get(v));
    json_object_put(figures);
    return reply_ok(r, 200, data);
}

int mikros_get_community_board(struct request *r)
{
    return get_board(r, "community", qstr(r, "game_type"), "score", "wins");
}

int mikros_get_spelling_board(struct request *r)
{
    return get_board(r, "spelling", NULL, "total_points", "total_solves");
}
