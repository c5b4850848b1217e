/* promotions.c — game promotions (spec 000 §14–16, CONTRACT 7.2): the feed's PUT, the active list,
 * mark-pushed (once per game and server) and leads with a promo code whose email is queued in the
 * outbox (sql/012_mikros_promotions.sql). */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "db.h"
#include "request.h"
#include "schema.h"

#include <sodium.h>

DB_STMT(put_stmt, 10, false,
        "INSERT INTO mikros_promotions AS p (game_id, game_name, description, promotion_url, promotion_message, "
        "image_url, deadline, platform, genre, release_date) VALUES ($1::bigint, $2, $3, $4, $5, $6, "
        "to_timestamp($7::double precision / 1e6), $8, $9, to_timestamp($10::double precision / 1e6)) "
        "ON CONFLICT (game_id) DO UPDATE SET game_name = EXCLUDED.game_name, description = EXCLUDED.description, "
        "promotion_url = EXCLUDED.promotion_url, promotion_message = EXCLUDED.promotion_message, "
        "image_url = EXCLUDED.image_url, deadline = EXCLUDED.deadline, platform = EXCLUDED.platform, "
        "genre = EXCLUDED.genre, release_date = EXCLUDED.release_date, updated_at = now()");
DB_STMT(active_stmt, 4, true, "SELECT mikros_promotions_active_json($1::int, $2::bigint, $3, $4)::text");
/* true when the game has a promotion; the push is kept once (the first one stays). */
DB_STMT(push_stmt, 5, false,
        "WITH p AS (SELECT game_id FROM mikros_promotions WHERE game_id = $1::bigint), "
        "pushed AS (INSERT INTO mikros_promotion_pushes (game_id, server_id, channel_id, pushed_at, bot_instance_id) "
        " SELECT game_id, $2, $3, COALESCE(to_timestamp($4::double precision / 1e6), now()), $5 FROM p "
        " ON CONFLICT (game_id, server_id) DO NOTHING) "
        "SELECT EXISTS (SELECT 1 FROM p)");
/* No row when the promo code was taken (the caller draws another). */
DB_STMT(lead_stmt, 8, false,
        "WITH lead AS (INSERT INTO mikros_leads (discord_id, username, server_id, campaign_interest, email, "
        " message_context, submitted_at, promo_code) VALUES ($1, $2, $3, $4, $5, $6, "
        " COALESCE(to_timestamp($7::double precision / 1e6), now()), $8) ON CONFLICT (promo_code) DO NOTHING "
        " RETURNING id, email, promo_code, username), "
        "mail AS (INSERT INTO outbox (kind, payload) SELECT 'email', jsonb_build_object('to', email, "
        " 'template', 'mikros_promo_code', 'promo_code', promo_code, 'username', username, 'lead_id', id) FROM lead) "
        "SELECT id::text FROM lead");

static const char *const platforms[] = {"steam", "itch", "epic", NULL};

struct promotion_input {
    const char *game_name, *description, *promotion_url, *promotion_message, *image_url, *genre;
    int platform;
    int64_t deadline, release_date;
};

#define TEXT(f, lo, hi, fl) {.name = #f, .type = F_STRING, .flags = fl, \
                             .offset = offsetof(struct promotion_input, f), .min = lo, .max = hi}
const struct body_schema mikros_promotion_body = {
    .fields = (const struct body_field[]){
        TEXT(game_name, 1, 200, F_REQUIRED),
        TEXT(description, 0, 2000, F_REQUIRED),
        TEXT(promotion_url, 1, 2000, F_REQUIRED),
        TEXT(promotion_message, 0, 2000, F_NULLABLE),
        TEXT(image_url, 0, 2000, F_NULLABLE),
        {.name = "deadline", .type = F_TIMESTAMP, .flags = F_NULLABLE,
         .offset = offsetof(struct promotion_input, deadline)},
        {.name = "platform", .type = F_ENUM, .flags = F_REQUIRED, .offset = offsetof(struct promotion_input, platform),
         .values = platforms},
        TEXT(genre, 1, 100, F_REQUIRED),
        {.name = "release_date", .type = F_TIMESTAMP, .flags = F_NULLABLE,
         .offset = offsetof(struct promotion_input, release_date)},
        {0},
    },
    .size = sizeof(struct promotion_input),
};

struct push_input {
    int64_t game_id, pushed_at;
    const char *server_id, *channel_id, *bot_instance_id;
};

const struct body_schema mikros_push_body = {
    .fields = (const struct body_field[]){
        {.name = "game_id", .type = F_INT, .flags = F_REQUIRED, .offset = offsetof(struct push_input, game_id),
         .min = 1, .max = INT64_MAX},
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct push_input, server_id)},
        {.name = "channel_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct push_input, channel_id)},
        {.name = "pushed_at", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct push_input, pushed_at)},
        {.name = "bot_instance_id", .type = F_STRING, .flags = F_NULLABLE,
         .offset = offsetof(struct push_input, bot_instance_id), .max = 128},
        {0},
    },
    .size = sizeof(struct push_input),
};

struct lead_input {
    const char *discord_id, *username, *server_id, *campaign_interest, *email, *message_context;
    int64_t timestamp;
};

#define LEAD(f, lo, hi, fl) {.name = #f, .type = F_STRING, .flags = fl, \
                             .offset = offsetof(struct lead_input, f), .min = lo, .max = hi}
const struct body_schema mikros_lead_body = {
    .fields = (const struct body_field[]){
        {.name = "discord_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct lead_input, discord_id)},
        LEAD(username, 1, 100, F_REQUIRED),
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct lead_input, server_id)},
        LEAD(campaign_interest, 1, 200, F_REQUIRED),
        LEAD(email, 3, 254, F_REQUIRED),
        LEAD(message_context, 0, 2000, F_NULLABLE),
        {.name = "timestamp", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct lead_input, timestamp)},
        {0},
    },
    .size = sizeof(struct lead_input),
};

static bool game_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 18 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int mikros_put_promotion(struct request *r)
{
    const struct promotion_input *in = r->input;
    const char *game_id = path_param(&r->params, "game_id");
    if (!game_id_valid(game_id))
        return fail_field(r, 400, "game_id", "game_id must be a positive integer");
    char deadline[24], release[24];
    const char *params[] = {game_id, in->game_name, in->description, in->promotion_url, in->promotion_message,
                            in->image_url, mikros_micros_param(in->deadline, deadline), platforms[in->platform], in->genre,
                            mikros_micros_param(in->release_date, release)};
    PGresult *res = query(r, &put_stmt, params);
    if (!res)
        return -1;
    PQclear(res);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "game_id", json_object_new_int64(atoll(game_id)));
    return mikros_reply_top(r, o);
}

int mikros_active_promotions(struct request *r)
{
    const char *server = qstr(r, "server_id");
    const char *params[] = {qstr(r, "limit"), qstr(r, "since_id"), qstr(r, "platform"), server};
    PGresult *res = query(r, &active_stmt, params);
    if (!res)
        return -1;
    json_object *data = json_tokener_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    return reply_ok(r, 200, data);
}

int mikros_mark_pushed(struct request *r)
{
    const struct push_input *in = r->input;
    char game_id[24], pushed[24];
    snprintf(game_id, sizeof game_id, "%lld", (long long)in->game_id);
    const char *params[] = {game_id, in->server_id, in->channel_id, mikros_micros_param(in->pushed_at, pushed),
                            in->bot_instance_id};
    PGresult *res = query(r, &push_stmt, params);
    if (!res)
        return -1;
    bool found = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!found)
        return fail(r, 404, "No promotion for game_id %s", game_id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string("Promotion marked as pushed"));
    json_object_object_add(o, "game_id", json_object_new_int64(in->game_id));
    return mikros_reply_top(r, o);
}

/* A plausible address: one '@', a local part of at most 64 characters, a dotted domain, no spaces
 * or control characters. Deliverability is the sender's concern. */
bool mikros_email_valid(const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || strchr(at + 1, '@') || at == email || at - email > 64)
        return false;
    const char *dot = strrchr(at, '.');
    if (!dot || dot == at + 1 || !dot[1] || at[strlen(at) - 1] == '.')
        return false;
    for (const char *p = email; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* "MIKROS<year>-" and six characters of A–Z0–9, uniformly drawn. */
void mikros_promo_code(char out[MIKROS_PROMO_CODE_LEN + 1], int year)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    int n = snprintf(out, MIKROS_PROMO_CODE_LEN + 1, "MIKROS%04d-", year);
    for (int i = 0; i < 6; i++)
        out[n + i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    out[n + 6] = '\0';
}

int mikros_submit_lead(struct request *r)
{
    const struct lead_input *in = r->input;
    if (!mikros_email_valid(in->email))
        return fail_field(r, 400, "email", "email must be an email address");
    char code[MIKROS_PROMO_CODE_LEN + 1], ts[32], submitted[24];
    format_timestamp(ts, now_us(), TS_SECONDS_Z);
    for (int attempt = 0; attempt < 5; attempt++) {
        mikros_promo_code(code, atoi(ts));
        const char *params[] = {in->discord_id, in->username, in->server_id, in->campaign_interest, in->email,
                                in->message_context, mikros_micros_param(in->timestamp, submitted), code};
        PGresult *res = query(r, &lead_stmt, params);
        if (!res)
            return -1;
        if (PQntuples(res) == 0) {   /* the code was taken: draw another */
            PQclear(res);
            continue;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "lead_id", json_object_new_string(PQgetvalue(res, 0, 0)));
        json_object_object_add(o, "promo_code", json_object_new_string(code));
        json_object_object_add(o, "message",
                               json_object_new_string("Lead submitted successfully. The promo code email is queued."));
        PQclear(res);
        return mikros_reply_top(r, o);
    }
    return fail(r, 500, "Internal error");
}
