/* roblox.h — the Roblox game-asset family (spec 004 + CONTRACT 7.4): games, their keys and tokens,
 * display objects. The route rows are in routes.c. */
#ifndef GH_API_ROBLOX_H
#define GH_API_ROBLOX_H

#include "family.h"

extern const struct family family_roblox;

struct request;
struct body_schema;

/* callers and games (games.c). A game's token or key makes r->key_subject "game:<id>"; an admin
 * key leaves it NULL. */
bool roblox_authenticate(struct request *r);
const char *roblox_caller_game(const struct request *r);   /* NULL: a roblox_admin key */
/* false (403 replied) when a game's token or key names another game */
bool roblox_game_allowed(struct request *r, const char *game_id);
extern const struct body_schema roblox_game_body, roblox_rotate_body, roblox_authenticate_body;
extern struct rate_limit roblox_auth_failures;
int roblox_create_game(struct request *r);
int roblox_rotate_key(struct request *r);
int roblox_issue_token(struct request *r);

/* display objects (displays.c) */
extern const struct body_schema roblox_display_body, roblox_display_update_body;
int roblox_create_display(struct request *r);
int roblox_list_displays(struct request *r);
int roblox_get_display(struct request *r);
int roblox_update_display(struct request *r);
int roblox_delete_display(struct request *r);

/* game ads (ads.c) */
extern const struct body_schema roblox_ad_body, roblox_ad_event_body;
int roblox_list_ads(struct request *r);
int roblox_create_ad(struct request *r);
int roblox_get_ad(struct request *r);
int roblox_replace_ad(struct request *r);
int roblox_delete_ad(struct request *r);
int roblox_report_ad_event(struct request *r);

#endif
