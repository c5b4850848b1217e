/* schema.c — binds a parsed request body to a handler's struct by a table of fields (schema.h).
 *
 * Unknown keys are reported before the fields, so a misspelt key is named as unknown before the
 * field it was meant to be is reported as "Missing required field". A number's
 * bounds are part of its one sentence, so a client sees the same "must be an integer between 1
 * and 100" for "x", 1.5 and 1000; a string's or array's type error is told apart from its length. */
#include "guildhall.h"
#include "router.h"
#include "schema.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>

#define PATH_LEN sizeof(((struct field_error *)0)->field)

/* A written F_ARRAY slot and what it held before, so a failed bind can free what it allocated
 * and put the caller's struct back the way it found it. */
struct undo {
    struct field_array *slot;
    struct field_array old;
};

struct binder {
    struct field_error *errs;
    int max, n;
    struct undo *undo;
    size_t n_undo, cap_undo;
};

static bool full(const struct binder *b)
{
    return b->n >= b->max;
}

static void PRINTF_LIKE(3, 4) record(struct binder *b, const char *field, const char *fmt, ...)
{
    if (full(b))
        return;
    struct field_error *e = &b->errs[b->n++];
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

static bool bounded(const struct body_field *f)
{
    return f->min != 0 || f->max != 0;
}

/* The one sentence (after the path) a field's value is refused with. */
static void expectation(const struct body_field *f, char *out, size_t len)
{
    switch (f->type) {
    case F_INT:
        if (bounded(f))
            snprintf(out, len, "must be an integer between %lld and %lld", f->min, f->max);
        else
            snprintf(out, len, "must be an integer");
        return;
    case F_NUMBER:
        if (bounded(f))
            snprintf(out, len, "must be a number between %lld and %lld", f->min, f->max);
        else
            snprintf(out, len, "must be a number");
        return;
    case F_STRING:
        snprintf(out, len, "must be a string");
        return;
    case F_BOOL:
        snprintf(out, len, "must be true or false");
        return;
    case F_ENUM: {
        struct buf list = {0};
        for (size_t i = 0; f->values && f->values[i]; i++)
            buf_printf(&list, "%s%s", i ? ", " : "", f->values[i]);
        snprintf(out, len, "must be one of: %s", list.data ? list.data : "");
        buf_free(&list);
        return;
    }
    case F_UUID:
        snprintf(out, len, "must be a UUID");
        return;
    case F_SNOWFLAKE:
        snprintf(out, len, "must be a Discord id (15 to 21 digits)");
        return;
    case F_TIMESTAMP:
        snprintf(out, len, "must be an ISO-8601 timestamp");
        return;
    case F_OBJECT:
        snprintf(out, len, "must be an object");
        return;
    case F_ARRAY:
        snprintf(out, len, "must be an array");
        return;
    case F_JSON:
        snprintf(out, len, "must not be null");   /* the only value an F_JSON field can refuse */
        return;
    }
    snprintf(out, len, "has an unknown field type");
}

static bool refuse(struct binder *b, const struct body_field *f, const char *path)
{
    char text[sizeof(b->errs->message)];
    expectation(f, text, sizeof(text));
    record(b, path, "%s %s", path, text);
    return false;
}

/* A string's bounds apply to its length in characters; the body was UTF-8-checked when decoded,
 * so every byte that is not a continuation byte starts one. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static bool refuse_length(struct binder *b, const struct body_field *f, const char *path)
{
    if (f->min == 0)
        record(b, path, "%s must be a string of at most %lld characters", path, f->max);
    else if (f->max == 0)
        record(b, path, "%s must be a string of at least %lld characters", path, f->min);
    else
        record(b, path, "%s must be a string of %lld to %lld characters", path, f->min, f->max);
    return false;
}

/* The handler gets a C string, which would silently end at an embedded "\u0000": such a string
 * is refused rather than bound shorter than it was sent. */
static bool c_string(json_object *v, const char **s, size_t *len)
{
    if (!json_object_is_type(v, json_type_string))
        return false;
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return strlen(*s) == *len;
}

/* json-c 0.16 clamps an integer literal beyond int64 to INT64_MIN or INT64_MAX (or UINT64_MAX)
 * without setting errno. Above INT64_MAX the value is kept as a uint64, which shows; a clamped
 * negative cannot be told from INT64_MIN itself, so INT64_MIN is refused as well. */
static bool int64_value(json_object *v, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MIN || (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX))
        return false;
    *out = i;
    return true;
}

static bool number_value(json_object *v, double *out)
{
    int64_t i;
    if (json_object_is_type(v, json_type_int)) {
        if (int64_value(v, &i)) {
            *out = (double)i;
            return true;
        }
        /* Between INT64_MAX and the clamp at UINT64_MAX the uint64 is the literal's value. */
        uint64_t u = json_object_get_uint64(v);
        *out = (double)u;
        return json_object_get_int64(v) == INT64_MAX && u != UINT64_MAX;
    }
    if (!json_object_is_type(v, json_type_double))
        return false;
    *out = json_object_get_double(v);
    return isfinite(*out);   /* 1e400 parses as infinity */
}


/* The bytes schema's fields reach into, for binding when the schema does not say its size. */
static size_t reach(const struct body_schema *s)
{
    size_t end = s->has_present ? s->present_offset + sizeof(uint64_t) : 0;
    for (const struct body_field *f = s->fields; f && f->name; f++)
        if (f->offset + body_field_size(f) > end)
            end = f->offset + body_field_size(f);
    return end;
}

size_t body_field_size(const struct body_field *f)
{
    switch (f->type) {
    case F_STRING:
    case F_UUID:
    case F_SNOWFLAKE:
        return sizeof(const char *);
    case F_INT:
    case F_TIMESTAMP:
        return sizeof(int64_t);
    case F_NUMBER:
        return sizeof(double);
    case F_BOOL:
        return sizeof(bool);
    case F_ENUM:
        return sizeof(int);
    case F_OBJECT:
        return f->schema->size ? f->schema->size : reach(f->schema);
    case F_ARRAY:
        return sizeof(struct field_array);
    case F_JSON:
        return sizeof(json_object *);
    }
    return 0;
}

static void remember(struct binder *b, struct field_array *slot)
{
    if (b->n_undo == b->cap_undo) {
        b->cap_undo = b->cap_undo ? 2 * b->cap_undo : 8;
        b->undo = xrealloc(b->undo, b->cap_undo * sizeof(*b->undo));
    }
    b->undo[b->n_undo++] = (struct undo){slot, *slot};
}

/* Newest first: an element's own arrays live in its parent's items, which are freed after them. */
static void undo_all(struct binder *b)
{
    while (b->n_undo > 0) {
        struct undo *u = &b->undo[--b->n_undo];
        free(u->slot->items);
        *u->slot = u->old;
    }
}

static bool bind_object(struct binder *b, const struct body_schema *s, json_object *obj, void *out,
                        const char *prefix);
static bool bind_value(struct binder *b, const struct body_field *f, json_object *v, void *dst, const char *path);

static bool bind_array(struct binder *b, const struct body_field *f, json_object *v, struct field_array *slot,
                       const char *path)
{
    if (!json_object_is_type(v, json_type_array))
        return refuse(b, f, path);
    size_t n = json_object_array_length(v);
    if (f->max > 0 && ((long long)n < f->min || (long long)n > f->max)) {
        record(b, path, "%s must hold %lld to %lld items", path, f->min, f->max);
        return false;
    }
    if (f->max == 0 && (long long)n < f->min) {
        record(b, path, "%s must hold at least %lld items", path, f->min);
        return false;
    }
    const struct body_field *item = f->items;
    /* Elements are indexed by the handler as an array of its struct, so the stride must be its sizeof. */
    assert(item->type != F_OBJECT || item->schema->size > 0);
    size_t size = body_field_size(item);
    remember(b, slot);
    slot->n = n;
    slot->items = n ? xcalloc(n, size) : NULL;
    bool ok = true;
    for (size_t i = 0; i < n && !full(b); i++) {
        char at[PATH_LEN];
        snprintf(at, sizeof(at), "%s[%zu]", path, i);
        if (!bind_value(b, item, json_object_array_get_idx(v, i), (char *)slot->items + i * size, at))
            ok = false;
    }
    return ok;
}

static bool bind_value(struct binder *b, const struct body_field *f, json_object *v, void *dst, const char *path)
{
    const char *s;
    size_t len;
    if (!v) {   /* JSON null */
        if (!(f->flags & F_NULLABLE))
            return refuse(b, f, path);
        if (f->type == F_STRING || f->type == F_UUID || f->type == F_SNOWFLAKE)
            *(const char **)dst = NULL;
        else if (f->type == F_JSON)
            *(json_object **)dst = NULL;
        return true;
    }
    switch (f->type) {
    case F_STRING: {
        if (!json_object_is_type(v, json_type_string))
            return refuse(b, f, path);
        if (!c_string(v, &s, &len)) {
            record(b, path, "%s must not contain NUL characters", path);
            return false;
        }
        long long chars = (long long)utf8_chars(s, len);
        if ((f->min > 0 && chars < f->min) || (f->max > 0 && chars > f->max))
            return refuse_length(b, f, path);
        *(const char **)dst = s;
        return true;
    }
    case F_INT: {
        int64_t i;
        if (!int64_value(v, &i) || (bounded(f) && (i < f->min || i > f->max)))
            return refuse(b, f, path);
        *(int64_t *)dst = i;
        return true;
    }
    case F_NUMBER: {
        double d;
        if (!number_value(v, &d) || (bounded(f) && (d < (double)f->min || d > (double)f->max)))
            return refuse(b, f, path);
        *(double *)dst = d;
        return true;
    }
    case F_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return refuse(b, f, path);
        *(bool *)dst = json_object_get_boolean(v);
        return true;
    case F_TIMESTAMP: {
        uint64_t us;
        if (!c_string(v, &s, &len) || !parse_timestamp(s, &us))
            return refuse(b, f, path);
        *(int64_t *)dst = (int64_t)us;
        return true;
    }
    case F_ENUM:
        if (c_string(v, &s, &len))
            for (int i = 0; f->values && f->values[i]; i++)
                if (!strcmp(s, f->values[i])) {
                    *(int *)dst = i;
                    return true;
                }
        return refuse(b, f, path);
    case F_UUID:
    case F_SNOWFLAKE:
        if (!c_string(v, &s, &len) || !(f->type == F_UUID ? uuid_valid(s) : snowflake_valid(s)))
            return refuse(b, f, path);
        *(const char **)dst = s;
        return true;
    case F_OBJECT:
        if (!json_object_is_type(v, json_type_object))
            return refuse(b, f, path);
        return bind_object(b, f->schema, v, dst, path);
    case F_ARRAY:
        return bind_array(b, f, v, dst, path);
    case F_JSON:
        *(json_object **)dst = v;
        return true;
    }
    return refuse(b, f, path);
}

/* Parses a whole JSON text; json_tokener_parse would accept "1x" as 1. The terminating NUL is
 * passed too, or a bare number such as "7" waits for more digits. */
static bool parse_json(const char *text, json_object **out)
{
    json_tokener *tok = json_tokener_new();
    size_t len = strlen(text);
    *out = json_tokener_parse_ex(tok, text, (int)len + 1);
    bool ok = json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(*out);
        *out = NULL;
    }
    return ok;
}

/* Defaults are parsed once and kept for the life of the process: a string, UUID or JSON default
 * is bound by pointer like a given value, so it must outlive every struct it is bound into.
 * Keyed by text rather than pointer, so a schema built at run time cannot alias a freed one. */
static struct parsed_default {
    char *text;
    json_object *value;
} *defaults;
static size_t n_defaults, cap_defaults;

static json_object *parsed_default(const char *text)
{
    for (size_t i = 0; i < n_defaults; i++)
        if (!strcmp(defaults[i].text, text))
            return defaults[i].value;
    json_object *v;
    bool parsed = parse_json(text, &v);
    assert(parsed && "a schema default is not JSON: body_schema_check finds these");
    (void)parsed;
    if (n_defaults == cap_defaults) {
        cap_defaults = cap_defaults ? 2 * cap_defaults : 16;
        defaults = xrealloc(defaults, cap_defaults * sizeof(*defaults));
    }
    defaults[n_defaults++] = (struct parsed_default){xstrdup(text), v};
    return v;
}

void body_schema_release_defaults(void)
{
    for (size_t i = 0; i < n_defaults; i++) {
        free(defaults[i].text);
        json_object_put(defaults[i].value);
    }
    free(defaults);
    defaults = NULL;
    n_defaults = cap_defaults = 0;
}

static void join(char path[PATH_LEN], const char *prefix, const char *name)
{
    snprintf(path, PATH_LEN, "%s%s%s", prefix, *prefix ? "." : "", name);
}

static const struct body_field *field_named(const struct body_schema *s, const char *name)
{
    for (const struct body_field *f = s->fields; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

static void refuse_unknown_keys(struct binder *b, const struct body_schema *s, json_object *obj,
                                const char *prefix)
{
    struct json_object_iterator it = json_object_iter_begin(obj), end = json_object_iter_end(obj);
    for (; !json_object_iter_equal(&it, &end) && !full(b); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);
        if (!field_named(s, key)) {
            char path[PATH_LEN];
            join(path, prefix, key);
            record(b, path, "%s is not a known field", path);
        }
    }
}

static bool bind_object(struct binder *b, const struct body_schema *s, json_object *obj, void *out,
                        const char *prefix)
{
    int before = b->n;
    uint64_t present = 0;
    if (obj && s->refuse_unknown)
        refuse_unknown_keys(b, s, obj, prefix);
    for (size_t i = 0; s->fields[i].name && !full(b); i++) {
        const struct body_field *f = &s->fields[i];
        void *dst = (char *)out + f->offset;
        char path[PATH_LEN];
        json_object *v;
        join(path, prefix, f->name);
        if (obj && json_object_object_get_ex(obj, f->name, &v)) {
            assert(!s->has_present || i < BODY_SCHEMA_MAX_FIELDS);
            present |= (uint64_t)1 << (i & 63);   /* masked: a schema without has_present may be longer */
            /* a nullable field with a default reads null as "the default" */
            bind_value(b, f, !v && (f->flags & F_NULLABLE) && f->def ? parsed_default(f->def) : v, dst, path);
        } else if (f->flags & F_REQUIRED) {
            record(b, path, "Missing required field: %s", path);
        } else if (f->def) {
            bind_value(b, f, parsed_default(f->def), dst, path);
        }
    }
    if (s->has_present)
        *(uint64_t *)((char *)out + s->present_offset) = present;
    return b->n == before;
}

int body_bind(const struct body_schema *s, json_object *body, void *out, const char *prefix,
              struct field_error *errs, int max_errs)
{
    assert(s && s->fields && out && errs && max_errs >= 1);
    struct binder b = {.errs = errs, .max = max_errs};
    prefix = prefix ? prefix : "";
    if (body && !json_object_is_type(body, json_type_object)) {
        if (*prefix)
            record(&b, prefix, "%s must be an object", prefix);
        else
            record(&b, "", "Request body must be a JSON object");
        return b.n;
    }
    if (!bind_object(&b, s, body, out, prefix))
        undo_all(&b);
    free(b.undo);
    return b.n;
}

static void unbind_array(const struct body_field *item, struct field_array *slot);

static void unbind_value(const struct body_field *f, void *dst)
{
    if (f->type == F_ARRAY)
        unbind_array(f->items, dst);
    else if (f->type == F_OBJECT)
        body_unbind(f->schema, dst);
}

static void unbind_array(const struct body_field *item, struct field_array *slot)
{
    if (slot->items && (item->type == F_ARRAY || item->type == F_OBJECT))
        for (size_t i = 0; i < slot->n; i++)
            unbind_value(item, (char *)slot->items + i * body_field_size(item));
    free(slot->items);
    *slot = (struct field_array){0};
}

void body_unbind(const struct body_schema *s, void *out)
{
    for (const struct body_field *f = s->fields; f->name; f++)
        unbind_value(f, (char *)out + f->offset);
}

static bool check_schema(const struct body_schema *s, const char *prefix, char *err, size_t errlen);

static bool bad(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* A default is bound the way a request would bind it, so one the field itself refuses is found here. */
static bool check_default(const struct body_field *f, const char *path, char *err, size_t errlen)
{
    json_object *v;
    if (!parse_json(f->def, &v))
        return bad(err, errlen, "%s: the default is not JSON", path);
    json_object_put(v);
    if (f->flags & F_REQUIRED)
        return bad(err, errlen, "%s: a required field's default is never used", path);
    struct field_error e;
    struct binder b = {.errs = &e, .max = 1};
    void *scratch = xcalloc(1, body_field_size(f));
    bind_value(&b, f, parsed_default(f->def), scratch, path);
    undo_all(&b);   /* frees whatever the default allocated, refused or not */
    free(scratch);
    free(b.undo);
    return b.n ? bad(err, errlen, "%s: the default is refused: %s", path, e.message) : true;
}

static bool check_field(const struct body_field *f, const char *path, char *err, size_t errlen)
{
    bool counted = f->type == F_STRING || f->type == F_ARRAY;
    if ((unsigned)f->type > F_JSON)
        return bad(err, errlen, "%s: unknown field type %d", path, (int)f->type);
    if (f->type == F_ENUM && (!f->values || !f->values[0]))
        return bad(err, errlen, "%s: an enum needs values", path);
    if (f->type == F_OBJECT && !f->schema)
        return bad(err, errlen, "%s: an object needs a schema", path);
    if (f->type == F_ARRAY && !f->items)
        return bad(err, errlen, "%s: an array needs items", path);
    if ((counted && (f->min < 0 || (f->max > 0 && f->min > f->max))) ||
        ((f->type == F_INT || f->type == F_NUMBER) && f->min > f->max))
        return bad(err, errlen, "%s: min %lld and max %lld do not make a range", path, f->min, f->max);
    if (f->type == F_OBJECT && !check_schema(f->schema, path, err, errlen))
        return false;
    if (f->type == F_ARRAY) {
        const struct body_field *item = f->items;
        char at[PATH_LEN];
        snprintf(at, sizeof(at), "%s[]", path);
        if (!check_field(item, at, err, errlen))
            return false;
        if (item->type == F_OBJECT && (!item->schema->size || item->schema->size < reach(item->schema)))
            return bad(err, errlen, "%s: an array of objects needs its schema's size", at);
    }
    return !f->def || check_default(f, path, err, errlen);
}

static bool check_schema(const struct body_schema *s, const char *prefix, char *err, size_t errlen)
{
    if (!s || !s->fields)
        return bad(err, errlen, "%s: no fields", *prefix ? prefix : "schema");
    size_t n = 0;
    for (const struct body_field *f = s->fields; f->name; f++, n++) {
        char path[PATH_LEN];
        join(path, prefix, f->name);
        if (n == BODY_SCHEMA_MAX_FIELDS)
            return bad(err, errlen, "%s: more than %d fields", *prefix ? prefix : "schema", BODY_SCHEMA_MAX_FIELDS);
        if (field_named(s, f->name) != f)
            return bad(err, errlen, "%s: named twice", path);
        if (!check_field(f, path, err, errlen))
            return false;
    }
    if (s->size && reach(s) > s->size)
        return bad(err, errlen, "%s: fields reach past the schema's size", *prefix ? prefix : "schema");
    return true;
}

bool body_schema_check(const struct body_schema *s, char *err, size_t errlen)
{
    return check_schema(s, "", err, errlen);
}

static json_object *value_to_json(const struct body_field *f, const char *slot)
{
    switch (f->type) {
    case F_STRING:
    case F_UUID:
    case F_SNOWFLAKE: {
        const char *s = *(const char *const *)(const void *)slot;
        return s ? json_object_new_string(s) : NULL;
    }
    case F_INT:
        return json_object_new_int64(*(const int64_t *)(const void *)slot);
    case F_NUMBER:
        return json_object_new_double(*(const double *)(const void *)slot);
    case F_BOOL:
        return json_object_new_boolean(*(const bool *)(const void *)slot);
    case F_TIMESTAMP: {
        char ts[32];
        format_timestamp(ts, (uint64_t)*(const int64_t *)(const void *)slot, TS_MILLIS_Z);
        return json_object_new_string(ts);
    }
    case F_ENUM:
        return json_object_new_string(f->values[*(const int *)(const void *)slot]);
    case F_OBJECT:
        return body_to_json(f->schema, slot);
    case F_ARRAY: {
        const struct field_array *a = (const struct field_array *)(const void *)slot;
        json_object *list = json_object_new_array();
        size_t size = body_field_size(f->items);
        for (size_t i = 0; i < a->n; i++)
            json_object_array_add(list, value_to_json(f->items, (const char *)a->items + i * size));
        return list;
    }
    case F_JSON:
        return json_object_get(*(json_object *const *)(const void *)slot);
    }
    return NULL;
}

json_object *body_to_json(const struct body_schema *s, const void *in)
{
    json_object *o = json_object_new_object();
    for (const struct body_field *f = s->fields; f->name; f++)
        json_object_object_add(o, f->name, value_to_json(f, (const char *)in + f->offset));
    return o;
}
