/* envelope.c — error bodies per family, rendered with json-c so messages are always escaped. */
#include "guildhall.h"
#include "envelope.h"

#include <json-c/json.h>

struct code_row {
    int status;
    const char *mikros, *places, *ops;
};

static const struct code_row codes[] = {
    {400, "INVALID_REQUEST", "INVALID_PARAMS", "E004"},
    {401, "UNAUTHORIZED", "UNAUTHORIZED", "E005"},
    {403, "FORBIDDEN", "FORBIDDEN", "E005"},
    {404, "NOT_FOUND", "NOT_FOUND", "E006"},
    {405, "METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED", "E004"},
    {409, "CONFLICT", "CONFLICT", "E004"},
    {413, "PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE", "E004"},
    {415, "UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE", "E004"},
    {429, "RATE_LIMIT_EXCEEDED", "RATE_LIMIT", "E003"},
    {500, "INTERNAL_ERROR", "SERVER_ERROR", "E008"},
    {503, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE", "E001"},
    {504, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE", "E007"},
};

const char *envelope_code(enum family f, int status)
{
    const struct code_row *row = NULL;
    for (size_t i = 0; i < ARRAY_LEN(codes); i++)
        if (codes[i].status == status)
            row = &codes[i];
    if (!row)
        row = status >= 500 ? &codes[9] : &codes[0];
    switch (f) {
    case FAM_MIKROS:
        return row->mikros;
    case FAM_PLACES:
    case FAM_TEST:
        return row->places;
    case FAM_OPS:
        return row->ops;
    default:
        return NULL;
    }
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

void envelope_render(enum family f, int status, const char *message, const char *field, struct buf *out)
{
    json_object *o = json_object_new_object();
    const char *code = envelope_code(f, status);
    switch (f) {
    case FAM_MIKROS: {
        json_object *err = json_object_new_object();
        char ts[32];
        format_timestamp(ts, now_us(), TS_SECONDS_Z);
        json_object_object_add(err, "code", json_object_new_string(code));
        json_object_object_add(err, "message", json_object_new_string(message));
        json_object_object_add(err, "details", json_object_new_object());
        json_object_object_add(o, "success", json_object_new_boolean(0));
        json_object_object_add(o, "error", err);
        json_object_object_add(o, "timestamp", json_object_new_string(ts));
        break;
    }
    case FAM_PLACES:
    case FAM_TEST:
        json_object_object_add(o, "error", json_object_new_string(message));
        json_object_object_add(o, "code", json_object_new_string(code));
        json_object_object_add(o, "details", json_object_new_object());
        break;
    case FAM_OPS:
        json_object_object_add(o, "error", json_object_new_string(message));
        json_object_object_add(o, "code", json_object_new_string(code));
        break;
    case FAM_SCHEDULER:
        json_object_object_add(o, "detail", json_object_new_string(message));
        break;
    case FAM_ROBLOX:
        if (status == 400 && field) {
            json_object *d = json_object_new_object(), *list = json_object_new_array();
            json_object_object_add(d, "field", json_object_new_string(field));
            json_object_object_add(d, "message", json_object_new_string(message));
            json_object_array_add(list, d);
            json_object_object_add(o, "error", json_object_new_string("Validation failed"));
            json_object_object_add(o, "details", list);
        } else {
            json_object_object_add(o, "error", json_object_new_string(message));
        }
        break;
    default:
        json_object_object_add(o, "error", json_object_new_string(message));
        break;
    }
    buf_puts(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}
