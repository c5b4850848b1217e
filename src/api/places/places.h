/* places.h — the AI Places family (spec 001 + CONTRACT 7.1): game modes, weekly archives,
 * leaderboards, agent stats, the canvas, and the service-role admin routes. */
#ifndef GH_API_PLACES_H
#define GH_API_PLACES_H

#include <json-c/json.h>

struct request;
struct buf;

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

/* The admin routes' work without the HTTP body: the handlers above parse their body and call
 * these; so do the built-in jobs (jobs.c). next_mode may be NULL (the rotation's next mode).
 * Like handlers, they reply into r (status, body) and return -1 after a failure. */
int places_reset_week_run(struct request *r, const char *next_mode, bool force);
int places_snapshot_stats_run(struct request *r);
int places_cleanup_archives_run(struct request *r);

/* Job entry points for the scheduler's kinds table (src/scheduler/kinds.c): places.reset_week
 * (skipped while the week is not due), places.snapshot_stats, places.cleanup_archives. */
struct services;
struct job_outcome;
void places_job_reset_week(struct services *svc, const char *config, struct job_outcome *o);
void places_job_snapshot_stats(struct services *svc, const char *config, struct job_outcome *o);
void places_job_cleanup_archives(struct services *svc, const char *config, struct job_outcome *o);

/* Shared by the handlers (common.c). */
/* The path's {id} as a UUID, or a 400 reply naming it. */
const char *places_path_uuid(struct request *r, const char *name);
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
