/* feed.c — the MIKROS data feed (CONTRACT 7.2, scope mikros_ingest): apps, sessions, contributors.
 * A batch is checked here field by field, then written by one SQL function call
 * (sql/009_mikros_feed.sql) that stores the raw rows and the rollups in the same statement, so the
 * batch is committed, all of it or none, before the 200. */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "db.h"
#include "request.h"
#include "schema.h"

DB_STMT(upsert_app_stmt, 6, false,
        "INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type, active) "
        "VALUES ($1, $2, $3, $4, $5, $6::boolean) ON CONFLICT (app_id) DO UPDATE SET name = EXCLUDED.name, "
        "genre = EXCLUDED.genre, content_genre = EXCLUDED.content_genre, "
        "gameplay_type = EXCLUDED.gameplay_type, active = EXCLUDED.active, updated_at = now()");
DB_STMT(ingest_stmt, 1, false, "SELECT accepted, unknown_app FROM mikros_ingest_sessions($1::jsonb)");
DB_STMT(contributors_stmt, 1, false, "SELECT mikros_upsert_contributors($1::jsonb)");

/* A session may start at most this far in the future (clock skew between the game and us). */
#define FUTURE_SKEW_US (5 * 60 * 1000000LL)

static const char *const content_types[] = {"level", "boss", "character", "item", "campaign", "other", NULL};
static const char *const roles[] = {"developer", "tester", "player", NULL};

struct app_input {
    const char *name, *genre, *content_genre, *gameplay_type;
    bool active;
};

const struct body_schema mikros_app_body = {
    .fields = (const struct body_field[]){
        {.name = "name", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct app_input, name),
         .min = 1, .max = 200},
        {.name = "genre", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct app_input, genre),
         .min = 1, .max = 100},
        {.name = "content_genre", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct app_input, content_genre), .min = 1, .max = 100},
        {.name = "gameplay_type", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct app_input, gameplay_type), .min = 1, .max = 100},
        {.name = "active", .type = F_BOOL, .offset = offsetof(struct app_input, active), .def = "true"},
        {0},
    },
    .size = sizeof(struct app_input),
};

struct content_input {
    const char *content_id, *content_name;
    int content_type;
    int64_t playtime_seconds;
};

static const struct body_schema content_schema = {
    .fields = (const struct body_field[]){
        {.name = "content_id", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct content_input, content_id), .min = 1, .max = 128},
        {.name = "content_name", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct content_input, content_name), .min = 1, .max = 200},
        {.name = "content_type", .type = F_ENUM, .flags = F_REQUIRED,
         .offset = offsetof(struct content_input, content_type), .values = content_types},
        {.name = "playtime_seconds", .type = F_INT, .flags = F_REQUIRED,
         .offset = offsetof(struct content_input, playtime_seconds), .min = 0, .max = 7 * 86400},
        {0},
    },
    .size = sizeof(struct content_input),
};

struct session_input {
    const char *app_id, *user_id;
    int64_t started_at, duration_seconds;
    struct field_array content;
};

static const struct body_field content_item = {.type = F_OBJECT, .schema = &content_schema};

static const struct body_schema session_schema = {
    .fields = (const struct body_field[]){
        {.name = "app_id", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct session_input, app_id),
         .min = 1, .max = 128},
        {.name = "user_id", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct session_input, user_id), .min = 1, .max = 128},
        {.name = "started_at", .type = F_TIMESTAMP, .flags = F_REQUIRED,
         .offset = offsetof(struct session_input, started_at)},
        {.name = "duration_seconds", .type = F_INT, .flags = F_REQUIRED,
         .offset = offsetof(struct session_input, duration_seconds), .min = 0, .max = 7 * 86400},
        {.name = "content", .type = F_ARRAY, .offset = offsetof(struct session_input, content), .min = 0,
         .max = MIKROS_MAX_CONTENT_PER_SESSION, .items = &content_item},
        {0},
    },
    .size = sizeof(struct session_input),
};

struct sessions_input {
    struct field_array sessions;
};

static const struct body_field session_item = {.type = F_OBJECT, .schema = &session_schema};

const struct body_schema mikros_sessions_body = {
    .fields = (const struct body_field[]){
        {.name = "sessions", .type = F_ARRAY, .flags = F_REQUIRED, .offset = offsetof(struct sessions_input, sessions),
         .min = 1, .max = MIKROS_MAX_SESSIONS_PER_BATCH, .items = &session_item},
        {0},
    },
    .size = sizeof(struct sessions_input),
};

struct contributor_input {
    const char *user_id;
    int role;
};

static const struct body_schema contributor_schema = {
    .fields = (const struct body_field[]){
        {.name = "user_id", .type = F_STRING, .flags = F_REQUIRED,
         .offset = offsetof(struct contributor_input, user_id), .min = 1, .max = 128},
        {.name = "role", .type = F_ENUM, .flags = F_REQUIRED, .offset = offsetof(struct contributor_input, role),
         .values = roles},
        {0},
    },
    .size = sizeof(struct contributor_input),
};

struct contributors_input {
    struct field_array contributors;
};

static const struct body_field contributor_item = {.type = F_OBJECT, .schema = &contributor_schema};

const struct body_schema mikros_contributors_body = {
    .fields = (const struct body_field[]){
        {.name = "contributors", .type = F_ARRAY, .flags = F_REQUIRED,
         .offset = offsetof(struct contributors_input, contributors), .min = 1,
         .max = MIKROS_MAX_SESSIONS_PER_BATCH, .items = &contributor_item},
        {0},
    },
    .size = sizeof(struct contributors_input),
};

/* {"success": true, <key>: value, "timestamp": T}: the feed's answers (CONTRACT 7.2). */
static int reply_fed(struct request *r, const char *key, json_object *value)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, value);
    return mikros_reply_top(r, o);
}

int mikros_put_app(struct request *r)
{
    const struct app_input *in = r->input;
    const char *app_id = path_param(&r->params, "app_id");
    const char *params[] = {app_id, in->name, in->genre, in->content_genre, in->gameplay_type,
                            in->active ? "true" : "false"};
    PGresult *res = query(r, &upsert_app_stmt, params);
    if (!res)
        return -1;
    PQclear(res);
    return reply_fed(r, "app_id", json_object_new_string(app_id));
}

/* The feed is a pipeline, not the bot, whose 10 s the database's statement timeout matches: a batch
 * of 10,000 sessions at 10M sessions takes seconds, and waits for a concurrent batch that shares any
 * of its players (their chains are spliced one batch at a time, sql/021). Its transaction allows 30 s
 * (nginx waits 60). */
static bool feed_transaction(struct request *r)
{
    if (!request_begin(r))
        return false;
    enum db_status st = db_command(r->svc->db, "SET LOCAL statement_timeout = '30s'");
    if (st == DB_OK)
        return true;
    request_rollback(r);
    fail(r, st == DB_DOWN ? 503 : 500, st == DB_DOWN ? "Database unavailable" : "Internal error");
    return false;
}

/* The checks the schema cannot make: no session from the future, one row per content in a session. */
static bool sessions_sane(struct request *r, const struct sessions_input *in)
{
    const struct session_input *s = in->sessions.items;
    int64_t latest = (int64_t)now_us() + FUTURE_SKEW_US;
    for (size_t i = 0; i < in->sessions.n; i++) {
        char field[96];
        if (s[i].started_at > latest) {
            snprintf(field, sizeof field, "sessions[%zu].started_at", i);
            fail_field(r, 400, field, "%s is in the future", field);
            return false;
        }
        const struct content_input *c = s[i].content.items;
        for (size_t j = 0; j < s[i].content.n; j++)
            for (size_t k = 0; k < j; k++)
                if (!strcmp(c[j].content_id, c[k].content_id)) {
                    snprintf(field, sizeof field, "sessions[%zu].content[%zu].content_id", i, j);
                    fail_field(r, 400, field, "%s repeats content %s", field, c[j].content_id);
                    return false;
                }
    }
    return true;
}

/* The batch as mikros_ingest_sessions takes it: the bound values, timestamps in UTC. */
static json_object *sessions_json(const struct sessions_input *in)
{
    json_object *batch = json_object_new_array_ext((int)in->sessions.n);
    const struct session_input *s = in->sessions.items;
    for (size_t i = 0; i < in->sessions.n; i++) {
        char ts[32];
        format_timestamp(ts, (uint64_t)s[i].started_at, TS_MILLIS_Z);
        json_object *o = json_object_new_object(), *content = json_object_new_array();
        json_object_object_add(o, "app_id", json_object_new_string(s[i].app_id));
        json_object_object_add(o, "user_id", json_object_new_string(s[i].user_id));
        json_object_object_add(o, "started_at", json_object_new_string(ts));
        json_object_object_add(o, "duration_seconds", json_object_new_int64(s[i].duration_seconds));
        const struct content_input *c = s[i].content.items;
        for (size_t j = 0; j < s[i].content.n; j++) {
            json_object *p = json_object_new_object();
            json_object_object_add(p, "content_id", json_object_new_string(c[j].content_id));
            json_object_object_add(p, "content_name", json_object_new_string(c[j].content_name));
            json_object_object_add(p, "content_type", json_object_new_string(content_types[c[j].content_type]));
            json_object_object_add(p, "playtime_seconds", json_object_new_int64(c[j].playtime_seconds));
            json_object_array_add(content, p);
        }
        json_object_object_add(o, "content", content);
        json_object_array_add(batch, o);
    }
    return batch;
}

int mikros_post_sessions(struct request *r)
{
    const struct sessions_input *in = r->input;
    if (!sessions_sane(r, in))
        return -1;
    if (!feed_transaction(r))
        return -1;
    json_object *batch = sessions_json(in);
    const char *params[] = {json_object_to_json_string_ext(batch, JSON_C_TO_STRING_PLAIN)};
    PGresult *res = query(r, &ingest_stmt, params);
    json_object_put(batch);
    if (!res) {
        request_rollback(r);
        return -1;
    }
    bool unknown = !PQgetisnull(res, 0, 1);
    char accepted[24], unknown_app[160];
    snprintf(accepted, sizeof accepted, "%s", PQgetvalue(res, 0, 0));
    snprintf(unknown_app, sizeof unknown_app, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!request_commit(r))
        return -1;
    if (unknown)
        return fail_field(r, 400, "app_id", "Unknown app_id: %s (register it with PUT /api/gamestats/apps/{app_id})",
                          unknown_app);
    return reply_fed(r, "accepted", json_object_new_int64(atoll(accepted)));
}

int mikros_post_contributors(struct request *r)
{
    const struct contributors_input *in = r->input;
    json_object *batch = json_object_new_array_ext((int)in->contributors.n);
    const struct contributor_input *c = in->contributors.items;
    for (size_t i = 0; i < in->contributors.n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "user_id", json_object_new_string(c[i].user_id));
        json_object_object_add(o, "role", json_object_new_string(roles[c[i].role]));
        json_object_array_add(batch, o);
    }
    const char *params[] = {json_object_to_json_string_ext(batch, JSON_C_TO_STRING_PLAIN)};
    PGresult *res = query(r, &contributors_stmt, params);
    json_object_put(batch);
    if (!res)
        return -1;
    int rc = reply_fed(r, "accepted", json_object_new_int64(atoll(PQgetvalue(res, 0, 0))));
    PQclear(res);
    return rc;
}
