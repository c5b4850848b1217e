/* envelope.c — error bodies, rendered with json-c so messages are always escaped. The shapes are
 * the families' own (their routes.c); this file maps statuses to error classes and codes. */
#include "guildhall.h"
#include "envelope.h"

static const struct {
    int status;
    enum error_code code;
} classes[] = {
    {400, E_INVALID},      {401, E_UNAUTHORIZED}, {403, E_FORBIDDEN},    {404, E_NOT_FOUND},
    {405, E_METHOD},       {409, E_CONFLICT},     {413, E_TOO_LARGE},    {415, E_MEDIA_TYPE},
    {429, E_RATE_LIMITED}, {500, E_INTERNAL},     {503, E_UNAVAILABLE},  {504, E_TIMEOUT},
};

enum error_code envelope_class(int status)
{
    for (size_t i = 0; i < ARRAY_LEN(classes); i++)
        if (classes[i].status == status)
            return classes[i].code;
    return status >= 500 ? E_INTERNAL : E_INVALID;
}

const char *family_code(const struct family *f, int status)
{
    return f->codes ? f->codes[envelope_class(status)] : NULL;
}

void envelope_emit(json_object *o, struct buf *out)
{
    buf_puts(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

void envelope_render(const struct family *f, int status, const char *message, const struct field_error *errs,
                     int n_errs, struct buf *out)
{
    const struct error_reply e = {status, message, family_code(f, status), errs, n_errs};
    f->render_error(&e, out);
}

static void render_generic(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(e->message));
    envelope_emit(o, out);
}

const struct family family_generic = {
    .name = "generic",
    .render_error = render_generic,
    .bad_path_id_status = 404,
    .max_field_errors = 1,
};

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
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}
