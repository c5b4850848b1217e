/* mikros.h — the MIKROS family (spec 000 + CONTRACT 7.2): analytics, RPG and leaderboards for the
 * Discord bot. The route rows are in routes.c, one block per part. */
#ifndef GH_API_MIKROS_H
#define GH_API_MIKROS_H

#include "family.h"
#include "scheduler/schedule.h"

#include <json-c/json.h>

extern const struct family family_mikros;

struct request;
struct body_schema;

/* the data feed (feed.c), scope mikros_ingest */
#define MIKROS_MAX_SESSIONS_PER_BATCH 10000
#define MIKROS_MAX_CONTENT_PER_SESSION 100
#define MIKROS_FEED_MAX_BODY (16L * 1024 * 1024)
extern const struct body_schema mikros_app_body, mikros_sessions_body, mikros_contributors_body;
int mikros_put_app(struct request *r);
int mikros_post_sessions(struct request *r);
int mikros_post_contributors(struct request *r);

/* promotions (promotions.c) */
#define MIKROS_PROMO_CODE_LEN 17     /* MIKROS2025-ABC123 */
extern const struct body_schema mikros_promotion_body, mikros_push_body, mikros_lead_body;
int mikros_put_promotion(struct request *r);
int mikros_active_promotions(struct request *r);
int mikros_mark_pushed(struct request *r);
int mikros_submit_lead(struct request *r);
bool mikros_email_valid(const char *email);
void mikros_promo_code(char out[MIKROS_PROMO_CODE_LEN + 1], int year);

/* leaderboards (leaderboards.c) */
extern const struct body_schema mikros_community_body, mikros_spelling_body;
int mikros_save_community_board(struct request *r);
int mikros_get_community_board(struct request *r);
int mikros_save_spelling_board(struct request *r);
int mikros_get_spelling_board(struct request *r);

/* community games (games.c) */
struct services;
struct job_outcome;
extern const struct body_schema mikros_game_config_body;
int mikros_sync_game_config(struct request *r);
int mikros_game_session_state(struct request *r);
/* job kind mikros.game_reset: bot_config {"server_id"} */
void mikros_job_game_reset(struct services *svc, const char *config, struct job_outcome *o);

/* scheduling sync (schedulers.c) */
extern const struct body_schema mikros_scheduler_sync_body, mikros_scheduler_trigger_body;
int mikros_sync_scheduler(struct request *r);
int mikros_scheduler_status(struct request *r);
int mikros_trigger_scheduler(struct request *r);
/* job kinds mikros.monthly_report and mikros.promotion_check: bot_config {"server_id"} */
void mikros_job_monthly_report(struct services *svc, const char *config, struct job_outcome *o);
void mikros_job_promotion_check(struct services *svc, const char *config, struct job_outcome *o);
/* mikros.pair_window (built in, every minute): moves avg-gameplay-time's kept window to now (sql/022);
 * pairs_changed is -1 when batches held the sessions table for 200 ms and it waits for the next minute. */
void mikros_job_pair_window(struct services *svc, const char *config, struct job_outcome *o);
/* A server's job: runs run(r, bot_config.server_id) on a job request and makes its reply the outcome. */
void mikros_job_for_server(struct services *svc, const char *config, int (*run)(struct request *r, const char *server),
                           struct job_outcome *o);
/* "HH:MM", 00:00–23:59 */
bool mikros_time_of_day(const char *s, int *hour, int *minute);
/* A server's job schedule: the type, its config normalised by the engine's rules, the next run. */
struct mikros_schedule {
    enum schedule_type type;
    json_object *config;     /* owned */
    char next_run[24];       /* Unix seconds */
};
/* Checks config (taken) for type; false with err when schedule.c refuses it. */
bool mikros_schedule_make(struct mikros_schedule *s, enum schedule_type type, json_object *config, char *err,
                          size_t errlen);

/* {"success": true, <fields, in order>, "timestamp"}: the writes' answers, whose fields sit beside
 * success rather than under data (spec 000). Takes fields. */
int mikros_reply_top(struct request *r, json_object *fields);
/* mikros_reply_top of {key: id, "message": message} */
int mikros_reply_id(struct request *r, const char *key, const char *id, const char *message);
/* "2025-01-27T12:00:00Z", now */
json_object *mikros_timestamp_now(void);
/* A bound F_TIMESTAMP (µs) as a statement parameter in out: NULL when absent (0). */
const char *mikros_micros_param(int64_t us, char out[24]);

/* RPG progression (rpg.c) */
extern const struct body_schema mikros_character_body, mikros_action_body;
int mikros_save_character(struct request *r);
int mikros_get_character(struct request *r);
int mikros_rpg_leaderboard(struct request *r);
int mikros_log_action(struct request *r);

/* analytics (analytics.c) */
int mikros_trending_genres(struct request *r);
int mikros_trending_content_genres(struct request *r);
int mikros_trending_content(struct request *r);
int mikros_trending_gameplay_types(struct request *r);
int mikros_popular_genres(struct request *r);
int mikros_popular_content_genres(struct request *r);
int mikros_popular_content(struct request *r);
int mikros_popular_gameplay_types(struct request *r);
int mikros_total_apps(struct request *r);
int mikros_total_contributors(struct request *r);
int mikros_total_users(struct request *r);
int mikros_avg_gameplay_time(struct request *r);
int mikros_avg_session_time(struct request *r);

#endif
