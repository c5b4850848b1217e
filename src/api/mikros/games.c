/* games.c — community games (spec 000 §17–18, CONTRACT 7.2): a server's config, its
 * `mikros.game_reset` job on the scheduler engine (created or updated in the same statement), the
 * job itself (a new word_unscramble session with a word of the configured difficulty), and the
 * session's state (sql/014_mikros_games.sql). */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "api/mikros/scramble.h"
#include "db.h"
#include "request.h"
#include "schema.h"

DB_STMT(sync_stmt, 9, false,
        "WITH cfg AS (INSERT INTO mikros_game_configs AS c (server_id, game_channel_id, reset_time_utc, "
        " enabled_games, difficulty, updated_at) VALUES ($1, $2, $3, $4::text[], $5, "
        " to_timestamp($6::double precision / 1e6)) ON CONFLICT (server_id) DO UPDATE SET "
        " game_channel_id = EXCLUDED.game_channel_id, reset_time_utc = EXCLUDED.reset_time_utc, "
        " enabled_games = EXCLUDED.enabled_games, difficulty = EXCLUDED.difficulty, "
        " updated_at = EXCLUDED.updated_at, synced_at = now() RETURNING c.config_id), "
        "job AS (SELECT mikros_sync_job($1, 'game_reset', $7::boolean, 'daily', $8::jsonb, $9::bigint)) "
        "SELECT cfg.config_id::text FROM cfg, job");
DB_STMT(state_stmt, 2, true,
        "SELECT json_build_object('server_id', s.server_id, 'game_type', s.game_type, 'session_id', s.id, "
        "'started_at', mikros_ts(s.started_at), 'word', s.word, 'scrambled_word', s.scrambled_word, "
        "'solved', s.solved, 'solver_count', s.solver_count, 'attempts', s.attempts)::text "
        "FROM mikros_game_sessions s WHERE s.server_id = $1 AND s.game_type = $2 ORDER BY s.started_at DESC LIMIT 1");
/* A word of the server's difficulty (medium for a server whose game_reset came from the scheduling
 * sync alone), not the one its last session had. */
DB_STMT(word_stmt, 1, false,
        "SELECT w.word FROM mikros_words w WHERE w.difficulty = coalesce((SELECT difficulty FROM "
        " mikros_game_configs WHERE server_id = $1), 'medium') "
        "AND w.word IS DISTINCT FROM (SELECT word FROM mikros_game_sessions "
        " WHERE server_id = $1 ORDER BY started_at DESC LIMIT 1) ORDER BY random() LIMIT 1");
DB_STMT(open_stmt, 3, false,
        "INSERT INTO mikros_game_sessions (server_id, word, scrambled_word) VALUES ($1, $2, $3) "
        "RETURNING json_build_object('session_id', id, 'server_id', server_id, 'word', word, "
        "'started_at', mikros_ts(started_at))::text");

static const char *const games[] = {"word_unscramble", NULL};
static const char *const difficulties[] = {"easy", "medium", "hard", NULL};

struct game_config_input {
    const char *server_id, *game_channel_id, *reset_time_utc;
    struct field_array enabled_games;
    int difficulty;
    int64_t updated_at;
};

static const struct body_field game_item = {.type = F_ENUM, .values = games};

const struct body_schema mikros_game_config_body = {
    .fields = (const struct body_field[]){
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED,
         .offset = offsetof(struct game_config_input, server_id)},
        {.name = "game_channel_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED,
         .offset = offsetof(struct game_config_input, game_channel_id)},
        {.name = "reset_time_utc", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct game_config_input, reset_time_utc)},
        {.name = "enabled_games", .type = F_ARRAY, .flags = F_REQUIRED,
         .offset = offsetof(struct game_config_input, enabled_games), .max = 1, .items = &game_item},
        {.name = "difficulty", .type = F_ENUM, .offset = offsetof(struct game_config_input, difficulty),
         .values = difficulties, .def = "\"medium\""},
        {.name = "updated_at", .type = F_TIMESTAMP, .flags = F_NULLABLE,
         .offset = offsetof(struct game_config_input, updated_at)},
        {0},
    },
    .size = sizeof(struct game_config_input),
};

int mikros_sync_game_config(struct request *r)
{
    const struct game_config_input *in = r->input;
    int hour, minute;
    if (!mikros_time_of_day(in->reset_time_utc, &hour, &minute))
        return fail_field(r, 400, "reset_time_utc", "reset_time_utc must be HH:MM, 00:00 to 23:59");
    bool enabled = in->enabled_games.n > 0;
    json_object *cfg = json_object_new_object();
    json_object_object_add(cfg, "hour", json_object_new_int(hour));
    json_object_object_add(cfg, "minute", json_object_new_int(minute));
    struct mikros_schedule sched;
    char err[128];
    if (!mikros_schedule_make(&sched, SCHEDULE_DAILY, cfg, err, sizeof err))
        return fail_field(r, 400, "reset_time_utc", "reset_time_utc: %s", err);
    char updated[24];
    const char *params[] = {in->server_id, in->game_channel_id, in->reset_time_utc,
                            enabled ? "{word_unscramble}" : "{}", difficulties[in->difficulty],
                            mikros_micros_param(in->updated_at, updated), enabled ? "true" : "false",
                            json_object_to_json_string_ext(sched.config, JSON_C_TO_STRING_PLAIN), sched.next_run};
    PGresult *res = query(r, &sync_stmt, params);
    json_object_put(sched.config);
    if (!res)
        return -1;
    int rc = mikros_reply_id(r, "config_id", PQgetvalue(res, 0, 0), "Configuration synced successfully");
    PQclear(res);
    return rc;
}

int mikros_game_session_state(struct request *r)
{
    const char *server = qstr(r, "server_id");
    if (!server)
        return fail_field(r, 400, "server_id", "Missing required parameter: server_id");
    const char *params[] = {server, qstr(r, "game_type")};
    PGresult *res = query(r, &state_stmt, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 404, "No game session for server %s yet", server);
    }
    json_object *data = json_tokener_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    return reply_ok(r, 200, data);
}

/* Opens the server's next session: one word, scrambled here, stored before the run succeeds. */
static int open_session(struct request *r, const char *server)
{
    const char *params[] = {server};
    PGresult *res = query(r, &word_stmt, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 500, "The word list is empty");
    }
    char word[64], scrambled[64];
    snprintf(word, sizeof word, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!mikros_scramble(word, scrambled, sizeof scrambled))
        return fail(r, 500, "Internal error");
    const char *open_params[] = {server, word, scrambled};
    return reply_column(r, query(r, &open_stmt, open_params), 200, "Session not opened");
}

void mikros_job_game_reset(struct services *svc, const char *config, struct job_outcome *o)
{
    mikros_job_for_server(svc, config, open_session, o);
}
