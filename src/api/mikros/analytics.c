/* analytics.c — the 13 analytics GETs (spec 000 §1–13, CONTRACT 7.2). Each is one round trip to a
 * SQL function of sql/011_mikros_analytics.sql that counts over the feed's rows; this file picks the
 * windows (window.c) and wraps the figures in the spec's envelope. The dispatcher caches the answers
 * (5 minutes, totals 1 minute). */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "api/mikros/window.h"
#include "db.h"
#include "job.h"
#include "request.h"

#define TS(n) "to_timestamp($" #n "::bigint)"
#define WINDOW(a, b, c, d) TS(a) ", " TS(b) ", " TS(c) ", " TS(d)

DB_STMT(trending_stmt, 14, true,
        "SELECT mikros_trending_json($1, $2, $3::int, $4, $5, $6, " WINDOW(7, 8, 9, 10) ", " WINDOW(11, 12, 13, 14) ")");
DB_STMT(popular_stmt, 9, true,
        "SELECT mikros_popular_json($1, $2::int, $3, $4, $5::boolean, " WINDOW(6, 7, 8, 9) ")");
DB_STMT(trending_content_stmt, 10, true,
        "SELECT mikros_trending_content_json($1::int, $2, " WINDOW(3, 4, 5, 6) ", " WINDOW(7, 8, 9, 10) ")");
DB_STMT(popular_content_stmt, 5, true, "SELECT mikros_popular_content_json($1::int, " WINDOW(2, 3, 4, 5) ")");
DB_STMT(total_apps_stmt, 1, true, "SELECT mikros_total_apps_json(" TS(1) ")");
DB_STMT(total_contributors_stmt, 1, true, "SELECT mikros_total_contributors_json(" TS(1) ")");
DB_STMT(total_users_stmt, 1, true, "SELECT mikros_total_users_json(" TS(1) ")");
DB_STMT(avg_gameplay_stmt, 6, true, "SELECT mikros_avg_gameplay_json($1, " TS(2) ", " WINDOW(3, 4, 5, 6) ")");
DB_STMT(pair_window_stmt, 0, false, "SELECT mikros_pair_refresh(now())");
DB_STMT(avg_session_stmt, 4, true, "SELECT mikros_avg_session_json($1, " TS(2) ", " TS(3) ", " TS(4) ")");

/* popular-* and the averages look at the last 30 days (CONTRACT 7.2); trending-content at 7. */
#define POPULAR_SECONDS (30 * MIKROS_DAY_SECONDS)
#define TRENDING_CONTENT_SECONDS (7 * MIKROS_DAY_SECONDS)

/* A window's four bounds as the text parameters of a statement. */
struct window_text {
    char v[4][24];
};

static void window_text(const struct mikros_window *w, struct window_text *t, const char **params)
{
    const int64_t bounds[4] = {w->start, w->whole_from, w->whole_to, w->end};
    for (int i = 0; i < 4; i++) {
        snprintf(t->v[i], sizeof t->v[i], "%lld", (long long)bounds[i]);
        params[i] = t->v[i];
    }
}

/* The end of "the period ending now": the end of the current second, so a session that started
 * within it counts, and every window is whole seconds long. */
static int64_t now_seconds(void)
{
    return (int64_t)(now_us() / 1000000) + 1;
}

/* {"success":true,"data":<figures>[,"period":P],"timestamp":T} — or, for the totals and averages
 * whose timestamp sits inside data, {"success":true,"data":<figures>}. */
static int reply_figures(struct request *r, PGresult *res, const char *period, bool outer_timestamp)
{
    if (!res)
        return -1;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return fail(r, 500, "Internal error");
    }
    struct buf b = {0};
    buf_puts(&b, "{\"success\":true,\"data\":");
    buf_append(&b, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    if (period)
        buf_printf(&b, ",\"period\":\"%s\"", period);
    if (outer_timestamp) {
        char ts[32];
        format_timestamp(ts, now_us(), TS_SECONDS_Z);
        buf_printf(&b, ",\"timestamp\":\"%s\"", ts);
    }
    buf_puts(&b, "}");
    int rc = reply_text(r, 200, "application/json", b.data, b.len);
    buf_free(&b);
    return rc;
}

/* The trending rows of one dimension: current vs previous period of equal length. */
static int trending(struct request *r, const char *dim, const char *measure, const char *value_key,
                    const char *current_key, const char *previous_key, bool echo_period)
{
    const char *period = qstr(r, "period");
    int64_t length = mikros_period_seconds(period ? period : "30d"), end = now_seconds();
    struct mikros_window cur = mikros_window_before(end, length, 0), prev = mikros_window_before(end, length, 1);
    struct window_text ct, pt;
    const char *params[14] = {dim, measure, qstr(r, "limit"), value_key, current_key, previous_key};
    window_text(&cur, &ct, params + 6);
    window_text(&prev, &pt, params + 10);
    return reply_figures(r, query(r, &trending_stmt, params), echo_period ? period : NULL, true);
}

int mikros_trending_genres(struct request *r)
{
    return trending(r, "genre", "players", "genre", "current_players", "previous_players", true);
}

int mikros_trending_content_genres(struct request *r)
{
    return trending(r, "content_genre", "sessions", "genre", "current_engagement", "previous_engagement", false);
}

int mikros_trending_gameplay_types(struct request *r)
{
    return trending(r, "gameplay_type", "players", "type", "current_players", NULL, true);
}

int mikros_trending_content(struct request *r)
{
    int64_t end = now_seconds();
    struct mikros_window cur = mikros_window_before(end, TRENDING_CONTENT_SECONDS, 0),
                         prev = mikros_window_before(end, TRENDING_CONTENT_SECONDS, 1);
    struct window_text ct, pt;
    const char *params[10] = {qstr(r, "limit"), qstr(r, "content_type")};
    window_text(&cur, &ct, params + 2);
    window_text(&prev, &pt, params + 6);
    return reply_figures(r, query(r, &trending_content_stmt, params), NULL, true);
}

static int popular(struct request *r, const char *dim, const char *value_key, const char *figure_key,
                   bool with_share)
{
    struct mikros_window w = mikros_window_before(now_seconds(), POPULAR_SECONDS, 0);
    struct window_text t;
    const char *params[9] = {dim, qstr(r, "limit"), value_key, figure_key, with_share ? "true" : "false"};
    window_text(&w, &t, params + 5);
    return reply_figures(r, query(r, &popular_stmt, params), NULL, true);
}

int mikros_popular_genres(struct request *r)
{
    return popular(r, "genre", "genre", "total_players", true);
}

int mikros_popular_content_genres(struct request *r)
{
    return popular(r, "content_genre", "genre", "total_engagement", false);
}

int mikros_popular_gameplay_types(struct request *r)
{
    return popular(r, "gameplay_type", "type", "total_players", false);
}

int mikros_popular_content(struct request *r)
{
    struct mikros_window w = mikros_window_before(now_seconds(), POPULAR_SECONDS, 0);
    struct window_text t;
    const char *params[5] = {qstr(r, "limit")};
    window_text(&w, &t, params + 1);
    return reply_figures(r, query(r, &popular_content_stmt, params), NULL, true);
}

static int total(struct request *r, struct db_stmt *stmt)
{
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)now_seconds());
    const char *params[] = {at};
    return reply_figures(r, query(r, stmt, params), NULL, false);
}

int mikros_total_apps(struct request *r)
{
    return total(r, &total_apps_stmt);
}

int mikros_total_contributors(struct request *r)
{
    return total(r, &total_contributors_stmt);
}

int mikros_total_users(struct request *r)
{
    return total(r, &total_users_stmt);
}

int mikros_avg_gameplay_time(struct request *r)
{
    int64_t end = now_seconds();
    struct mikros_window w = mikros_window_before(end, POPULAR_SECONDS, 0);
    struct window_text t;
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)end);
    const char *params[6] = {qstr(r, "genre"), at};
    window_text(&w, &t, params + 2);
    return reply_figures(r, query(r, &avg_gameplay_stmt, params), NULL, false);
}

int mikros_avg_session_time(struct request *r)
{
    int64_t end = now_seconds();
    struct mikros_window w = mikros_window_before(end, POPULAR_SECONDS, 0);
    char at[24], start[24];
    snprintf(at, sizeof at, "%lld", (long long)end);
    snprintf(start, sizeof start, "%lld", (long long)w.start);
    const char *params[4] = {qstr(r, "genre"), at, start, at};
    return reply_figures(r, query(r, &avg_session_stmt, params), NULL, false);
}

void mikros_job_pair_window(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    job_run_counting(svc, &pair_window_stmt, "pairs_changed", "could not move the avg-gameplay-time window", o);
}
