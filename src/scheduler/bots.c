/* bots.c — the bots' jobs: birthday and visitor jobs POST their bot_config to the bot's webhook
 * URL (one setting per bot type); the bot's reply fills the run's result and counts. */
#include "guildhall.h"
#include "scheduler/kinds.h"
#include "config.h"
#include "request.h"
#include "webhook.h"

static void run_bot(struct services *svc, const char *bot_type, const char *url, const char *config,
                    struct job_outcome *o)
{
    json_object *cfg = json_tokener_parse(config), *v;
    if (cfg && json_object_object_get_ex(cfg, "dry_run", &v) && json_object_get_boolean(v)) {
        o->status = "success";
        o->result = json_object_new_object();
        json_object_object_add(o->result, "dry_run", json_object_new_boolean(1));
        json_object_put(cfg);
        return;
    }
    struct buf reply = {0};
    o->status = "failed";
    if (!url || !*url) {
        snprintf(o->error, sizeof(o->error), "no webhook is configured for %s jobs", bot_type);
    } else if (webhook_post_reply(url, config, svc->cfg->scheduler_webhook_timeout_ms, &reply, o->error,
                                  sizeof(o->error))) {
        o->status = "success";
        o->result = json_tokener_parse(reply.data ? reply.data : "");
        if (!o->result || !json_object_is_type(o->result, json_type_object)) {
            json_object_put(o->result);
            o->result = json_object_new_object();
        }
        if (json_object_object_get_ex(o->result, "messages_sent", &v))
            o->messages_sent = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o->result, "profiles_visited", &v))
            o->profiles_visited = (long)json_object_get_int64(v);
    }
    buf_free(&reply);
    json_object_put(cfg);
}

void scheduler_run_birthday(struct services *svc, const char *config, struct job_outcome *o)
{
    run_bot(svc, "birthday", svc->cfg->scheduler_birthday_webhook_url, config, o);
}

void scheduler_run_visitor(struct services *svc, const char *config, struct job_outcome *o)
{
    run_bot(svc, "visitor", svc->cfg->scheduler_visitor_webhook_url, config, o);
}
