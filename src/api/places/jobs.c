/* jobs.c — the places admin work as built-in scheduled jobs. Each builds a request of its own (no
 * route, no HTTP: acting key "system", request id "scheduler") so that places' helpers — query(),
 * fail(), request_audit() — work as they do in the handlers, calls the same core function as the
 * admin route, and turns the reply into the run's outcome. */
#include "guildhall.h"
#include "api/places/places.h"
#include "cache.h"
#include "job.h"
#include "request.h"

static void job_request(struct request *r, struct services *svc)
{
    memset(r, 0, sizeof(*r));
    r->svc = svc;
    r->family = &family_places;
    r->request_id = xstrdup("scheduler");
    snprintf(r->key_id, sizeof(r->key_id), "system");
    r->start_us = monotonic_us();
}

/* The reply becomes the run's result; 409 (not due) is a skipped run, any other error a failed one
 * whose error is the reply's message. A success invalidates what the admin route's row does. */
static void job_finish(struct request *r, int rc, const char *const bumps[MAX_ROUTE_BUMPS], struct job_outcome *o)
{
    int status = r->status ? r->status : 500;   /* no reply at all is an internal error */
    o->result = r->out.data ? json_tokener_parse(r->out.data) : NULL;
    if (rc == 0 && status < 300) {
        o->status = "success";
        for (int i = 0; bumps && i < MAX_ROUTE_BUMPS && bumps[i]; i++)
            cache_bump_generation(r->svc->mc, bumps[i]);
    } else {
        json_object *msg;
        o->status = status == 409 ? "skipped" : "failed";
        if (o->result && json_object_object_get_ex(o->result, "error", &msg) &&
            json_object_is_type(msg, json_type_string))
            snprintf(o->error, sizeof(o->error), "%s", json_object_get_string(msg));
        else
            snprintf(o->error, sizeof(o->error), "HTTP %d", status);
    }
    request_free(r);
}

void places_job_reset_week(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    struct request r;
    job_request(&r, svc);
    static const char *const bumps[MAX_ROUTE_BUMPS] = PLACES_RESET_BUMPS;
    job_finish(&r, places_reset_week_run(&r, NULL, false), bumps, o);
}

void places_job_snapshot_stats(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    struct request r;
    job_request(&r, svc);
    job_finish(&r, places_snapshot_stats(&r), NULL, o);
}

void places_job_cleanup_archives(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    struct request r;
    job_request(&r, svc);
    job_finish(&r, places_cleanup_archives(&r), NULL, o);
}
