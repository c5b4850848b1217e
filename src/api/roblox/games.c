/* games.c — the Roblox family's callers (CONTRACT 7.4): games, their keys (generated, rotated with
 * an optional grace period), the tokens a key buys, and who a request is — a game (token, or its key
 * in X-API-Key as the origin project's Lua client sends it) or a roblox_admin guildhall key. */
#include "guildhall.h"
#include "api/roblox/roblox.h"
#include "api/roblox/credentials.h"
#include "auth.h"
#include "db.h"
#include "ratelimit.h"
#include "request.h"
#include "schema.h"

#include <sodium.h>

#define TOKEN_SECONDS 86400
#define MAX_GRACE_SECONDS 604800

/* Who a presented game key or token acts for: the game and the key, when both still work. A key's
 * last_used_at is written at most once a minute (a busy game does not rewrite the row per call).
 * Plain statements rather than SQL functions: these run on every game call, and a function called
 * in FROM is planned again on each call. */
DB_STMT(key_game_stmt, 1, false,
        "WITH k AS (SELECT id, game_id, last_used_at FROM roblox_game_keys WHERE key_hash = decode($1, 'hex') "
        " AND (revoked_at IS NULL OR revoked_at > now())), "
        "used AS (UPDATE roblox_game_keys u SET last_used_at = now() FROM k WHERE u.id = k.id "
        " AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')) "
        "SELECT game_id, id::text FROM k");
DB_STMT(token_game_stmt, 1, true,
        "SELECT t.game_id, t.key_id::text FROM roblox_tokens t JOIN roblox_game_keys k ON k.id = t.key_id "
        "WHERE t.token_hash = decode($1, 'hex') AND t.expires_at > now() "
        "AND (k.revoked_at IS NULL OR k.revoked_at > now())");
DB_STMT(add_game_stmt, 3, false,
        "SELECT json_build_object('id', g.id, 'name', g.name, 'thumbnail', g.thumbnail, "
        "'createdAt', to_char(g.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))::text "
        "FROM roblox_add_game($1, $2, $3) g WHERE g.id IS NOT NULL");
DB_STMT(lock_game_stmt, 1, false, "SELECT 1 FROM roblox_games WHERE id = $1 FOR UPDATE");
/* A key already in a grace period keeps the earlier end. */
DB_STMT(revoke_keys_stmt, 2, false,
        "UPDATE roblox_game_keys SET revoked_at = least(coalesce(revoked_at, 'infinity'), "
        "now() + $2::int * interval '1 second') WHERE game_id = $1 AND (revoked_at IS NULL OR revoked_at > now()) "
        "RETURNING id");
DB_STMT(new_key_stmt, 2, false,
        "INSERT INTO roblox_game_keys (game_id, key_hash) VALUES ($1, decode($2, 'hex')) RETURNING id::text");
DB_STMT(new_token_stmt, 4, false,
        "INSERT INTO roblox_tokens (token_hash, key_id, game_id, expires_at) "
        "VALUES (decode($1, 'hex'), $2::uuid, $3, now() + $4::int * interval '1 second')");

const char *roblox_caller_game(const struct request *r)
{
    return r->key_subject && !strncmp(r->key_subject, "game:", 5) ? r->key_subject + 5 : NULL;
}

bool roblox_game_allowed(struct request *r, const char *game_id)
{
    const char *mine = roblox_caller_game(r);
    if (mine && strcmp(mine, game_id) != 0)
        return fail(r, 403, "This token or key belongs to another game"), false;
    return true;
}

/* A game's key or token: the game it acts for, or a 401. */
static bool game_credential(struct request *r, const char *presented, bool is_key)
{
    if (!(is_key ? roblox_key_valid(presented) : roblox_token_valid(presented)))
        return auth_refuse(r, 401, is_key ? "Invalid API key" : "Invalid or expired token");
    char hash[ROBLOX_HASH_HEX];
    roblox_credential_hash(presented, hash);
    const char *params[] = {hash};
    PGresult *res = query(r, is_key ? &key_game_stmt : &token_game_stmt, params);
    if (!res)
        return false;
    bool found = PQntuples(res) == 1;
    if (found)
        r->key_subject = xasprintf("game:%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found)
        return auth_refuse(r, 401, is_key ? "Invalid API key" : "Invalid or expired token");
    memcpy(r->key_id, hash, KEY_ID_LEN);   /* the credential's own limit bucket and log name */
    r->key_id[KEY_ID_LEN] = '\0';
    return true;
}

bool roblox_authenticate(struct request *r)
{
    const char *wanted = r->route->auth, *bearer = auth_bearer(r);
    bool games_allowed = strstr(wanted, "roblox_game") != NULL;
    bool ok;
    if (r->api_key_header && *r->api_key_header)
        ok = game_credential(r, r->api_key_header, true);
    else if (bearer && !strncmp(bearer, "gh_", 3))
        return auth_check_key(r, bearer, "roblox_admin");
    else if (bearer)
        ok = game_credential(r, bearer, false);
    else
        return auth_refuse(r, 401, "Missing Authorization: Bearer token (or X-API-Key)");
    if (ok && !games_allowed)
        return fail(r, 403, "This route needs a roblox_admin key"), false;
    return ok;
}

/* ---- routes --------------------------------------------------------------------------------- */

struct game_input {
    const char *id, *name, *thumbnail;
};

const struct body_schema roblox_game_body = {
    .fields = (const struct body_field[]){
        {.name = "name", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct game_input, name),
         .min = 1, .max = 200},
        {.name = "thumbnail", .type = F_STRING, .flags = F_NULLABLE, .offset = offsetof(struct game_input, thumbnail),
         .max = 2048},
        {.name = "id", .type = F_STRING, .flags = F_NULLABLE, .offset = offsetof(struct game_input, id), .min = 1,
         .max = 64},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct game_input),
};

int roblox_create_game(struct request *r)
{
    const struct game_input *in = r->input;
    if (in->id && !slug_valid(in->id))
        return fail_field(r, 400, "id", "id must be 1 to 64 letters, digits, '-' or '_'");
    if (!request_begin(r))
        return -1;
    const char *params[] = {in->id, in->name, in->thumbnail};
    PGresult *res = query(r, &add_game_stmt, params);
    if (!res) {
        request_rollback(r);
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        request_rollback(r);
        return fail(r, 409, "A game with this id already exists");
    }
    json_object *game = json_tokener_parse(PQgetvalue(res, 0, 0)), *id;
    PQclear(res);
    json_object_object_get_ex(game, "id", &id);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "game_id", json_object_get(id));
    if (!request_audit_commit(r, "roblox.game_create", d)) {
        json_object_put(game);
        return -1;
    }
    return reply_json(r, 201, game);
}

struct rotate_input {
    int64_t grace_seconds;
};

const struct body_schema roblox_rotate_body = {
    .fields = (const struct body_field[]){
        {.name = "grace_seconds", .type = F_INT, .flags = F_NULLABLE, .offset = offsetof(struct rotate_input, grace_seconds),
         .min = 0, .max = MAX_GRACE_SECONDS, .def = "0"},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct rotate_input),
};

int roblox_rotate_key(struct request *r)
{
    const struct rotate_input *in = r->input;   /* no body binds as {}: grace 0 */
    const char *game = path_param(&r->params, "game_id");
    char grace[24], key[ROBLOX_KEY_LEN + 1], hash[ROBLOX_HASH_HEX];
    snprintf(grace, sizeof grace, "%lld", (long long)in->grace_seconds);
    roblox_key_generate(key, hash);
    const char *lock[] = {game}, *revoke[] = {game, grace}, *insert[] = {game, hash};
    if (!request_begin(r))
        return -1;
    PGresult *res = query(r, &lock_game_stmt, lock);
    if (!res || PQntuples(res) == 0) {
        PQclear(res);
        request_rollback(r);
        return res ? fail(r, 404, "Game not found") : -1;
    }
    PQclear(res);
    if (!(res = query(r, &revoke_keys_stmt, revoke))) {
        request_rollback(r);
        return -1;
    }
    int revoked = PQntuples(res);
    PQclear(res);
    if (!(res = query(r, &new_key_stmt, insert))) {
        request_rollback(r);
        return -1;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "game_id", json_object_new_string(game));
    json_object_object_add(d, "key_id", json_object_new_string(PQgetvalue(res, 0, 0)));
    json_object_object_add(d, "revoked_keys", json_object_new_int(revoked));
    json_object_object_add(d, "grace_seconds", json_object_new_int64(in->grace_seconds));
    PQclear(res);
    if (!request_audit_commit(r, revoked ? "roblox.key_rotate" : "roblox.key_create", d))
        return -1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "apiKey", json_object_new_string(key));
    sodium_memzero(key, sizeof key);
    return reply_json(r, 200, o);
}

struct authenticate_input {
    const char *api_key;
};

const struct body_schema roblox_authenticate_body = {
    .fields = (const struct body_field[]){
        {.name = "api_key", .type = F_STRING, .flags = F_REQUIRED, .offset = offsetof(struct authenticate_input, api_key),
         .max = 128},
        {0},
    },
    .size = sizeof(struct authenticate_input),
};

static const char *client_ip(const struct request *r)
{
    return r->remote_addr ? r->remote_addr : "-";
}

/* 429 while the caller's IP has spent its failed attempts; nothing is spent by asking. */
static bool attempts_left(struct request *r)
{
    struct gcra_result g;
    const struct rate_limit *l = &roblox_auth_failures;
    if (ratelimit_peek(r->svc->mc, l->bucket, &l->rule, client_ip(r), now_us(), &g) != RL_REJECT)
        return true;
    fail(r, 429, "Too many failed attempts: retry in %ld seconds", g.retry_after_s);
    add_header(r, "Retry-After: %ld", g.retry_after_s);
    return false;
}

static int refuse_key(struct request *r)
{
    struct gcra_result g;
    const struct rate_limit *l = &roblox_auth_failures;
    (void)ratelimit_check(r->svc->mc, l->bucket, &l->rule, client_ip(r), now_us(), &g);
    return fail(r, 401, "Invalid API key");
}

int roblox_issue_token(struct request *r)
{
    const struct authenticate_input *in = r->input;
    char hash[ROBLOX_HASH_HEX];
    if (!attempts_left(r))
        return -1;
    if (!roblox_key_valid(in->api_key))
        return refuse_key(r);
    roblox_credential_hash(in->api_key, hash);
    const char *params[] = {hash};
    PGresult *res = query(r, &key_game_stmt, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return refuse_key(r);
    }
    char token[ROBLOX_TOKEN_LEN + 1], token_hash[ROBLOX_HASH_HEX], seconds[16];
    roblox_token_generate(token, token_hash);
    snprintf(seconds, sizeof seconds, "%d", TOKEN_SECONDS);
    const char *insert[] = {token_hash, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), seconds};
    PGresult *done = query(r, &new_token_stmt, insert);
    PQclear(res);
    if (!done)
        return -1;
    PQclear(done);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", json_object_new_string(token));
    json_object_object_add(o, "expires_in", json_object_new_int(TOKEN_SECONDS));
    sodium_memzero(token, sizeof token);
    return reply_json(r, 200, o);
}
