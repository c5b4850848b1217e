/* worker.c — the FCGX_Accept_r loop. libfcgi is known only here: the dispatcher sees a request. */
#include "guildhall.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "metrics.h"
#include "process.h"
#include "request.h"

#include <errno.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#define TRIM_AFTER_BODY_BYTES (16 * 1024)   /* read: a gzip batch is a tenth of what it parses into */

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
    FCGX_ShutdownPending();   /* makes libfcgi's accept loop give up instead of retrying on EINTR */
}

static long read_fcgi_body(struct request *r, char *dst, size_t n)
{
    FCGX_Request *req = r->io;
    long left = r->content_length - r->body_read;
    if (left <= 0)
        return 0;
    if ((long)n > left)
        n = (size_t)left;
    int got = FCGX_GetStr(dst, (int)n, req->in);
    if (got > 0)
        r->body_read += got;
    return got;
}

/* A body the dispatcher refused (413) or had no use for is read to its end: closing the
 * connection while nginx is still sending makes nginx answer 502 instead of our response.
 * nginx's client_max_body_size bounds how much this can be. */
static void discard_unread_body(struct request *r)
{
    char scratch[16384];
    while (read_fcgi_body(r, scratch, sizeof(scratch)) > 0)
        ;
}

static char *param_copy(FCGX_Request *req, const char *name)
{
    const char *v = FCGX_GetParam(name, req->envp);
    return v && *v ? xstrdup(v) : NULL;
}

static void serve(FCGX_Request *req, struct services *svc)
{
    struct request r;
    memset(&r, 0, sizeof(r));
    r.svc = svc;
    r.io = req;
    r.read_body = read_fcgi_body;
    r.method = param_copy(req, "REQUEST_METHOD");
    r.path = param_copy(req, "DOCUMENT_URI");
    if (!r.method)
        r.method = xstrdup("GET");
    if (!r.path)
        r.path = xstrdup("/");
    r.query = param_copy(req, "QUERY_STRING");
    r.remote_addr = param_copy(req, "REMOTE_ADDR");
    r.request_id = param_copy(req, "REQUEST_ID");
    r.user_agent = param_copy(req, "HTTP_USER_AGENT");
    r.content_type = param_copy(req, "CONTENT_TYPE");
    r.content_encoding = param_copy(req, "HTTP_CONTENT_ENCODING");
    r.authorization = param_copy(req, "HTTP_AUTHORIZATION");
    r.api_key_header = param_copy(req, "HTTP_X_API_KEY");
    r.idempotency_key = param_copy(req, "HTTP_IDEMPOTENCY_KEY");
    r.accept_encoding = param_copy(req, "HTTP_ACCEPT_ENCODING");
    r.if_none_match = param_copy(req, "HTTP_IF_NONE_MATCH");
    r.if_modified_since = param_copy(req, "HTTP_IF_MODIFIED_SINCE");
    r.origin = param_copy(req, "HTTP_ORIGIN");
    r.cors_request_method = param_copy(req, "HTTP_ACCESS_CONTROL_REQUEST_METHOD");
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
    r.content_length = cl ? strtol(cl, NULL, 10) : 0;
    if (r.content_length < 0)
        r.content_length = 0;
    const char *listener = FCGX_GetParam("GUILDHALL_LISTENER", req->envp);
    r.ops_listener = listener && !strcmp(listener, "ops");
    if (!r.request_id) {
        char rid[33];
        snprintf(rid, sizeof(rid), "%016llx%08x", (unsigned long long)now_us(), (unsigned)getpid());
        r.request_id = xstrdup(rid);
    }

    dispatch(&r);
    discard_unread_body(&r);

    struct buf head = {0};
    dispatch_render_head(&r, &head);
    FCGX_PutStr(head.data, (int)head.len, req->out);
    if (r.out.len && strcmp(r.method, "HEAD") != 0)
        FCGX_PutStr(r.out.data, (int)r.out.len, req->out);
    buf_free(&head);
    long body_bytes = r.body_read;
    request_free(&r);
    /* glibc keeps what a big request freed (a feed batch parsed into json-c objects) in the worker's
     * heap; hand it back so that one 16 MiB batch does not leave the worker that big */
    if (body_bytes > TRIM_AFTER_BODY_BYTES)
        malloc_trim(0);
}

void worker_main(const struct config *cfg, int listen_fd, struct shm *shm, int slot)
{
    struct slot_info *me = &shm->slots[slot];
    proc_become("worker", on_term);

    struct services svc = {
        .cfg = cfg,
        .db = db_open(cfg->database_url, cfg->db_statement_timeout_ms, config_pooled(cfg)),
        .replica = *cfg->database_replica_url
                       ? db_open(cfg->database_replica_url, cfg->db_statement_timeout_ms, false) : NULL,
        .mc = mc_open(cfg->memcached_servers, cfg->memcached_timeout_ms),
        .shm = shm,
        .slot = slot,
    };
    db_ensure(svc.db);   /* warm the connection; failure is retried per request */

    FCGX_Request req;
    FCGX_InitRequest(&req, listen_fd, 0);
    me->state = SLOT_IDLE;
    uint64_t served = 0;
    while (!stopping) {
        if (FCGX_Accept_r(&req) < 0) {
            if (stopping)
                break;
            if (errno != EINTR)
                usleep(10000);
            continue;
        }
        atomic_store(&me->request, slot_request_word(true, monotonic_us()));
        me->state = SLOT_BUSY;
        serve(&req, &svc);
        FCGX_Finish_r(&req);
        me->state = SLOT_IDLE;
        atomic_store(&me->request, slot_request_word(false, 0));
        me->served = ++served;
        if (cfg->max_requests && served >= (uint64_t)cfg->max_requests) {
            log_info("recycling after %llu requests", (unsigned long long)served);
            break;
        }
    }
    me->state = SLOT_RETIRING;
    FCGX_Free(&req, 0);
    db_close(svc.db);
    if (svc.replica)
        db_close(svc.replica);
    mc_close(svc.mc);
    LEAK_CHECK_BEFORE_EXIT();
    _exit(0);
}
