/* kinds.c — the job kinds table: one row per kind the engine can run. Adding a kind is one row
 * here and one run function in the family that owns the work. */
#include "guildhall.h"
#include "scheduler/kinds.h"
#include "api/mikros/mikros.h"
#include "api/places/places.h"
#include "idempotency.h"

static const struct job_kind kinds[] = {
    {"birthday", scheduler_run_birthday},
    {"visitor", scheduler_run_visitor},
    {"places.reset_week", places_job_reset_week},
    {"places.snapshot_stats", places_job_snapshot_stats},
    {"places.cleanup_archives", places_job_cleanup_archives},
    {"core.idempotency_prune", idempotency_job_prune},
    {"mikros.game_reset", mikros_job_game_reset},
    {"mikros.monthly_report", mikros_job_monthly_report},
    {"mikros.promotion_check", mikros_job_promotion_check},
    {"mikros.pair_window", mikros_job_pair_window},
};

const struct job_kind *job_kind_find(const char *kind)
{
    for (size_t i = 0; kind && i < ARRAY_LEN(kinds); i++)
        if (!strcmp(kinds[i].kind, kind))
            return &kinds[i];
    return NULL;
}

const struct job_kind *job_kinds(size_t *n)
{
    *n = ARRAY_LEN(kinds);
    return kinds;
}
