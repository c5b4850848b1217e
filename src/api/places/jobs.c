/* jobs.c — the places admin work as built-in scheduled jobs. Each builds a request of its own (no
 * route, no HTTP: acting key "system", request id "scheduler") so that places' helpers — query(),
 * fail(), request_audit() — work as they do in the handlers, calls the same core function as the
 * admin route, and turns the reply into the run's outcome (src/job.c). */
#include "guildhall.h"
#include "api/places/places.h"
#include "cache.h"
#include "job.h"
#include "request.h"

void places_job_reset_week(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    struct request r;
    job_request(&r, svc, &family_places);
    static const char *const bumps[MAX_ROUTE_BUMPS] = PLACES_RESET_BUMPS;
    job_finish(&r, places_reset_week_run(&r, NULL, false), bumps, o);
}

void places_job_snapshot_stats(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    struct request r;
    job_request(&r, svc, &family_places);
    job_finish(&r, places_snapshot_stats(&r), NULL, o);
}

void places_job_cleanup_archives(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    struct request r;
    job_request(&r, svc, &family_places);
    job_finish(&r, places_cleanup_archives(&r), NULL, o);
}
