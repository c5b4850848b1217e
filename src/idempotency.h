/* idempotency.h — Idempotency-Key on a family's POSTs (CONTRACT 4, the IETF httpapi draft): the
 * first answer is stored with the handler's writes in one transaction for 24 hours, per scope (the
 * API key); a replay with the same key and request gets that answer again with
 * `Idempotent-Replayed: true` and changes nothing; the same key with another request is 422; a
 * replay while the first still runs is 409. The scope is the caller's subject when it has one. 2xx and 4xx answers are stored, 429 and 5xx not. */
#ifndef GH_IDEMPOTENCY_H
#define GH_IDEMPOTENCY_H

#include "guildhall.h"

struct request;
struct services;
struct job_outcome;

#define IDEMPOTENCY_KEY_MAX 255

/* 1 to 255 printable ASCII characters (0x20–0x7e). */
bool idempotency_key_valid(const char *key);

enum idempotency_step {
    IDEM_ANSWERED,   /* replayed, refused (400/409/422) or the database failed: r is answered */
    IDEM_RUN,        /* first use: run the handler inside the transaction opened here */
};

/* Before the handler of a POST that carries the header (r->idempotency_key). With IDEM_RUN a
 * transaction is open and request_begin/commit/rollback become a savepoint of it. */
enum idempotency_step idempotency_begin(struct request *r);
/* After the handler, when idempotency_begin said IDEM_RUN: stores a 2xx or 4xx answer and commits
 * (a 4xx's writes are rolled back first), or rolls everything back for 429 and 5xx. When the
 * commit fails the answer becomes a 503/500: nothing unstored is acknowledged. */
void idempotency_finish(struct request *r);

/* Job kind core.idempotency_prune: deletes the expired keys, in bounded batches. */
void idempotency_job_prune(struct services *svc, const char *config, struct job_outcome *o);

#endif
