/* common.c — what the mikros handlers share: the writes' answers and time parameters. */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "request.h"

json_object *mikros_timestamp_now(void)
{
    char ts[32];
    format_timestamp(ts, now_us(), TS_SECONDS_Z);
    return json_object_new_string(ts);
}

int mikros_reply_top(struct request *r, json_object *fields)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_foreach(fields, key, value)
        json_object_object_add(o, key, json_object_get(value));
    json_object_put(fields);
    json_object_object_add(o, "timestamp", mikros_timestamp_now());
    return reply_json(r, 200, o);
}

int mikros_reply_id(struct request *r, const char *key, const char *id, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, json_object_new_string(id));
    json_object_object_add(o, "message", json_object_new_string(message));
    return mikros_reply_top(r, o);
}

const char *mikros_micros_param(int64_t us, char out[24])
{
    snprintf(out, 24, "%lld", (long long)us);
    return us ? out : NULL;
}
