/* mikros.h — the MIKROS family (spec 000 + CONTRACT 7.2): analytics, RPG and leaderboards for the
 * Discord bot. The route rows are in routes.c, one block per part. */
#ifndef GH_API_MIKROS_H
#define GH_API_MIKROS_H

#include "family.h"

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
