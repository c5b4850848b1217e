/* places.h — the AI Places family (spec 001 + CONTRACT 7.1): game modes, weekly archives,
 * leaderboards, agent stats, the canvas, and the service-role admin routes. */
#ifndef GH_API_PLACES_H
#define GH_API_PLACES_H

#include <json-c/json.h>

#include "family.h"
#include "schema.h"

struct request;
struct buf;

extern const struct family family_places;
/* The places envelope {"error","code","details"} and its codes (the test family borrows them). */
extern const char *const places_codes[E_CODE_COUNT];
void places_render_error(const struct error_reply *e, struct buf *out);

/* Body schemas (the handlers' files define them beside their structs). */
extern const struct body_schema places_pixel_body, places_reset_body, places_agent_stats_body, places_empty_body;

/* Cache generations bumped by reset-week (and update-agent-stats for agent stats). */
#define PLACES_GEN_WEEK "places_week"
#define PLACES_GEN_AGENTS "places_agents"

int places_game_modes(struct request *r);
int places_current_mode(struct request *r);
int places_archives(struct request *r);
int places_archive(struct request *r);
int places_archive_canvas(struct request *r);
int places_archive_image(struct request *r);
int places_archive_thumbnail(struct request *r);
int places_leaderboard_current(struct request *r);
int places_leaderboard_archive(struct request *r);
int places_agent_stats(struct request *r);
int places_agent_current_week(struct request *r);
int places_canvas(struct request *r);
int places_place_pixel(struct request *r);
int places_reset_week(struct request *r);
int places_update_agent_stats(struct request *r);
int places_snapshot_stats(struct request *r);
int places_cleanup_archives(struct request *r);

/* reset-week's work with plain inputs: its handler and the built-in job (jobs.c) call it. next_mode
 * may be NULL (the rotation's next mode). Like a handler it replies into r and returns -1 after a
 * failure. snapshot-stats and cleanup-archives take no input: the jobs call their handlers. */
int places_reset_week_run(struct request *r, const char *next_mode, bool force);
/* What a reset invalidates (its route row's .bumps, and the built-in job's). */
#define PLACES_RESET_BUMPS {PLACES_GEN_WEEK, PLACES_GEN_AGENTS}

/* Job entry points for the scheduler's kinds table (src/scheduler/kinds.c): places.reset_week
 * (skipped while the week is not due), places.snapshot_stats, places.cleanup_archives. */
struct services;
struct job_outcome;
void places_job_reset_week(struct services *svc, const char *config, struct job_outcome *o);
void places_job_snapshot_stats(struct services *svc, const char *config, struct job_outcome *o);
void places_job_cleanup_archives(struct services *svc, const char *config, struct job_outcome *o);

/* Shared by the handlers (common.c). */
/* {"width","height","bits_per_pixel":4,"palette":["#FFFFFF",…]} */
json_object *places_canvas_object(int width, int height);
/* Replaces "width"/"height" in o with the canvas object and replies 200. */
int places_reply_with_canvas(struct request *r, const char *json_text);
const char *places_base_url(const struct request *r);
/* The current canvas, packed, and its size: one query. false: replied (503/500). */
bool places_load_canvas(struct request *r, struct buf *packed, int *width, int *height);
/* Recomputes every placer's largest territory from the ownership grid and stores it in
 * territory_snapshot (the leaderboard views read it). false: replied. */
bool places_refresh_territory(struct request *r);
/* Renders the archive image or thumbnail of a gzip canvas; false on corrupt data. */
bool places_render_png(const char *gz, size_t gz_len, int width, int height, int longest, struct buf *png);
/* Writes bytes as PostgreSQL's hex bytea text ("\x…"). */
void places_bytea_hex(const void *data, size_t len, struct buf *out);
/* Reads a bytea column in hex text form into out; false when malformed. */
bool places_bytea_unhex(const char *text, struct buf *out);

#endif
