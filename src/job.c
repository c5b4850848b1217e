/* job.c — what a family's job kinds share: a request of their own (no route, no HTTP: acting key
 * "system", request id "scheduler") so that the family's helpers — query(), fail(), request_audit() —
 * work as they do in the handlers, and the reply turned into the run's outcome. */
#include "guildhall.h"
#include "cache.h"
#include "db.h"
#include "job.h"
#include "request.h"

void job_request(struct request *r, struct services *svc, const struct family *family)
{
    memset(r, 0, sizeof(*r));
    r->svc = svc;
    r->family = family;
    r->request_id = xstrdup("scheduler");
    snprintf(r->key_id, sizeof(r->key_id), "system");
    r->start_us = monotonic_us();
}

void job_finish(struct request *r, int rc, const char *const *bumps, struct job_outcome *o)
{
    int status = r->status ? r->status : 500;   /* no reply at all is an internal error */
    o->result = r->out.data ? json_tokener_parse(r->out.data) : NULL;
    if (rc == 0 && status < 300) {
        o->status = "success";
        for (int i = 0; bumps && i < MAX_ROUTE_BUMPS && bumps[i]; i++)
            cache_bump_generation(r->svc->mc, bumps[i]);
    } else {
        json_object *msg = NULL;
        o->status = status == 409 ? "skipped" : "failed";
        /* {"error": M} (places) or {"error": {"message": M}} (mikros) */
        if (o->result && json_object_object_get_ex(o->result, "error", &msg) &&
            json_object_is_type(msg, json_type_object))
            json_object_object_get_ex(msg, "message", &msg);
        if (msg && json_object_is_type(msg, json_type_string))
            snprintf(o->error, sizeof(o->error), "%s", json_object_get_string(msg));
        else
            snprintf(o->error, sizeof(o->error), "HTTP %d", status);
    }
    request_free(r);
}


void job_run_counting(struct services *svc, struct db_stmt *stmt, const char *figure, const char *what_failed,
                      struct job_outcome *o)
{
    enum db_status st;
    PGresult *res = db_exec(svc->db, stmt, NULL, &st);
    if (st == DB_OK) {
        o->status = "success";
        o->result = json_object_new_object();
        json_object_object_add(o->result, figure, json_object_new_int64(atoll(PQgetvalue(res, 0, 0))));
    } else {
        o->status = "failed";
        snprintf(o->error, sizeof o->error, "%s", what_failed);
    }
    PQclear(res);
}
