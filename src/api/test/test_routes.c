/* test_routes.c — handlers behind the test-only routes (see docs/internals.md). */
#include "guildhall.h"
#include "api/test/test_routes.h"
#include "cache.h"
#include "db.h"
#include "request.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

/* Fails inside PostgreSQL: the client must see a bare 500, the log the details. */
DB_STMT(broken_query, 0, true, "SELECT no_such_column FROM no_such_table");
DB_STMT(user_by_id, 1, true, "SELECT id, coalesce(global_name, '') FROM users WHERE id = $1");
/* The settings a worker's statements really run with (through a pooler, each may meet another server
 * connection), and now() as the session's TimeZone renders it. */
DB_STMT(session_settings, 0, true,
        "SELECT current_setting('TimeZone'), current_setting('statement_timeout'), now()::text");

int test_ping(struct request *r)
{
    static const char body[] = "{\"ok\":true}";
    return reply_text(r, 200, "application/json", body, sizeof(body) - 1);
}

int test_query(struct request *r)
{
    const char *params[] = {qstr(r, "id")};
    PGresult *res = query(r, &user_by_id, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 404, "User %s not found", params[0]);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(res, 0, 0)));
    json_object_object_add(o, "global_name", json_object_new_string(PQgetvalue(res, 0, 1)));
    json_object_object_add(o, "served_by", json_object_new_int((int)getpid()));
    PQclear(res);
    return reply_json(r, 200, o);
}

int test_session(struct request *r)
{
    PGresult *res = query(r, &session_settings, NULL);
    if (!res)
        return -1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "timezone", json_object_new_string(PQgetvalue(res, 0, 0)));
    json_object_object_add(o, "statement_timeout", json_object_new_string(PQgetvalue(res, 0, 1)));
    json_object_object_add(o, "now", json_object_new_string(PQgetvalue(res, 0, 2)));
    json_object_object_add(o, "served_by", json_object_new_int((int)getpid()));
    PQclear(res);
    return reply_json(r, 200, o);
}

/* The route row bumps generation "test" after this 200 (like every write that invalidates). */
int test_bump(struct request *r)
{
    return test_ping(r);
}

int test_echo(struct request *r)
{
    return reply_json(r, 200, json_object_get(r->body));
}

int test_whoami(struct request *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "key_id", json_object_new_string(r->key_id));
    json_object_object_add(o, "scopes", json_object_new_string(r->key_scopes ? r->key_scopes : ""));
    return reply_json(r, 200, o);
}

int test_sleep(struct request *r)
{
    long ms = qint(r, "ms");
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;   /* a SIGTERM drain must not cut the request short */
    return test_ping(r);
}

int test_fail(struct request *r)
{
    PGresult *res = query(r, &broken_query, NULL);
    PQclear(res);
    return res ? fail(r, 500, "unexpected success") : -1;
}
