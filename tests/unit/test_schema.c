/* test_schema.c — body_bind over one-field schemas, one table per field type (each row: a field,
 * a body, and the value it binds or the error it gives), then what needs several fields: error
 * collection and order, the present bitmask, prefixes, cleanup after a failed bind, schema checks. */
#include "unit.h"
#include "schema.h"

struct point {
    int64_t x, y;
};

/* Where a row's one field lands: every type's storage at one offset. */
struct one {
    uint64_t present;
    union {
        int64_t i;
        double d;
        bool b;
        int e;
        const char *s;
        json_object *j;
        struct field_array a;
        struct point p;
    } v;
};

static const struct body_field inner_fields[] = {
    {"inner", F_INT, F_REQUIRED, 0, 0, 9, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct body_schema inner_schema = {inner_fields, true, sizeof(int64_t), 0, false};

static const struct body_field point_fields[] = {
    {"x", F_INT, F_REQUIRED, offsetof(struct point, x), 0, 100, NULL, NULL, NULL, NULL},
    {"y", F_INT, 0, offsetof(struct point, y), 0, 100, "0", NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct body_schema point_schema = {point_fields, true, sizeof(struct point), 0, false};

static const char *const modes[] = {"daily", "weekly", "cron", NULL};

static const struct body_field small_ints = {.type = F_INT, .min = 0, .max = 10};
static const struct body_field short_strings = {.type = F_STRING, .max = 3};
static const struct body_field maybe_strings = {.type = F_STRING, .flags = F_NULLABLE};
static const struct body_field bool_items = {.type = F_BOOL};
static const struct body_field points = {.type = F_OBJECT, .schema = &point_schema};
static const struct body_field int_pairs = {.type = F_ARRAY, .items = &small_ints, .max = 2};

struct row {
    const char *what;
    struct body_field field;   /* the schema's one field; its offset is filled in */
    const char *body;          /* JSON text; NULL: no body */
    const char *want;          /* the bound value, dumped as JSON; NULL: an error is expected */
    const char *at;            /* the first error's field */
    const char *message;       /* and its message */
    int errors;                /* how many errors; 0: one */
    bool allow_unknown;
};

static json_object *untouched_json;

/* The bound value as JSON text, by the field's type, so a row can say what it wants in one string. */
static json_object *dump(const struct body_field *f, const void *p)
{
    switch (f->type) {
    case F_STRING:
    case F_UUID:
    case F_SNOWFLAKE: {
        const char *s = *(const char *const *)p;
        return s ? json_object_new_string(s) : NULL;
    }
    case F_INT:
    case F_TIMESTAMP:
        return json_object_new_int64(*(const int64_t *)p);
    case F_NUMBER:
        return json_object_new_double(*(const double *)p);
    case F_BOOL:
        return json_object_new_boolean(*(const bool *)p);
    case F_ENUM:
        return json_object_new_int(*(const int *)p);
    case F_JSON:
        return json_object_get(*(json_object *const *)p);
    case F_OBJECT: {
        json_object *o = json_object_new_object();
        for (const struct body_field *g = f->schema->fields; g->name; g++)
            json_object_object_add(o, g->name, dump(g, (const char *)p + g->offset));
        return o;
    }
    case F_ARRAY: {
        const struct field_array *a = p;
        json_object *o = json_object_new_array();
        for (size_t i = 0; i < a->n; i++)
            json_object_array_add(o, dump(f->items, (const char *)a->items + i * body_field_size(f->items)));
        return o;
    }
    }
    return NULL;
}

static char *dumped(const struct body_field *f, const void *p)
{
    json_object *o = dump(f, p);
    char *s = xstrdup(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                        : "null");
    json_object_put(o);
    return s;
}

/* A value body_bind did not write shows up as these. */
static void prefill(struct one *o, const struct body_field *f)
{
    memset(o, 0, sizeof(*o));
    o->present = UINT64_MAX;
    switch (f->type) {
    case F_INT:
    case F_TIMESTAMP:
        o->v.i = -1;
        break;
    case F_NUMBER:
        o->v.d = -1.5;
        break;
    case F_BOOL:
        o->v.b = true;
        break;
    case F_ENUM:
        o->v.e = -1;
        break;
    case F_STRING:
    case F_UUID:
    case F_SNOWFLAKE:
        o->v.s = "untouched";
        break;
    case F_JSON:
        o->v.j = untouched_json;
        break;
    case F_OBJECT:
        o->v.p = (struct point){-1, -1};
        break;
    case F_ARRAY:
        break;   /* {0}: body_unbind frees whatever an absent array holds */
    }
}

static json_object *parse(const char *text)
{
    enum json_tokener_error err;
    json_object *o = text ? json_tokener_parse_verbose(text, &err) : NULL;
    if (text && err != json_tokener_success)
        fail_msg("bad JSON in test table: %s", text);
    return o;
}

static void run_row(const struct row *row)
{
    struct body_field fields[2] = {row->field};
    fields[0].offset = offsetof(struct one, v);
    const struct body_schema schema = {fields, !row->allow_unknown, sizeof(struct one), offsetof(struct one, present),
                                       true};
    char err[256];
    if (!body_schema_check(&schema, err, sizeof(err)))
        fail_msg("%s: the row's schema is refused: %s", row->what, err);
    struct one out;
    prefill(&out, &row->field);
    json_object *body = parse(row->body);
    struct field_error errs[4];
    int n = body_bind(&schema, body, &out, NULL, errs, ARRAY_LEN(errs));
    if (row->want) {
        if (n)
            fail_msg("%s: refused with \"%s\"", row->what, errs[0].message);
        char *got = dumped(&fields[0], &out.v);
        bool same = !strcmp(got, row->want);
        if (!same)
            print_error("%s: bound %s, want %s\n", row->what, got, row->want);
        free(got);
        assert_true(same);
        bool given = body && json_object_object_get_ex(body, row->field.name, NULL);
        if (out.present != (given ? 1u : 0u))
            fail_msg("%s: present is %#llx", row->what, (unsigned long long)out.present);
    } else {
        int want_n = row->errors ? row->errors : 1;
        if (n != want_n)
            fail_msg("%s: %d errors, want %d (first: \"%s\")", row->what, n, want_n, n ? errs[0].message : "");
        if (strcmp(errs[0].field, row->at) || strcmp(errs[0].message, row->message))
            fail_msg("%s: got %s: \"%s\", want %s: \"%s\"", row->what, errs[0].field, errs[0].message, row->at,
                     row->message);
    }
    body_unbind(&schema, &out);
    json_object_put(body);
}

static void run_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_row(&rows[i]);
}

static const struct row int_rows[] = {
    {"an integer", {.name = "count", .type = F_INT}, "{\"count\":42}", .want = "42"},
    {"a negative integer", {.name = "count", .type = F_INT}, "{\"count\":-7}", .want = "-7"},
    {"1.0 is not an integer", {.name = "count", .type = F_INT}, "{\"count\":1.0}", .at = "count",
     .message = "count must be an integer"},
    {"true is not an integer", {.name = "count", .type = F_INT}, "{\"count\":true}", .at = "count",
     .message = "count must be an integer"},
    {"\"1\" is not an integer", {.name = "count", .type = F_INT}, "{\"count\":\"1\"}", .at = "count",
     .message = "count must be an integer"},
    {"null is not an integer", {.name = "count", .type = F_INT}, "{\"count\":null}", .at = "count",
     .message = "count must be an integer"},
    {"the lower bound passes", {.name = "limit", .type = F_INT, .min = 1, .max = 100}, "{\"limit\":1}", .want = "1"},
    {"the upper bound passes", {.name = "limit", .type = F_INT, .min = 1, .max = 100}, "{\"limit\":100}",
     .want = "100"},
    {"one below", {.name = "limit", .type = F_INT, .min = 1, .max = 100}, "{\"limit\":0}", .at = "limit",
     .message = "limit must be an integer between 1 and 100"},
    {"one above", {.name = "limit", .type = F_INT, .min = 1, .max = 100}, "{\"limit\":101}", .at = "limit",
     .message = "limit must be an integer between 1 and 100"},
    {"a bounded field's type error says the bounds", {.name = "limit", .type = F_INT, .min = 1, .max = 100},
     "{\"limit\":2.5}", .at = "limit", .message = "limit must be an integer between 1 and 100"},
    {"negative bounds", {.name = "offset", .type = F_INT, .min = -5, .max = -1}, "{\"offset\":0}", .at = "offset",
     .message = "offset must be an integer between -5 and -1"},
    {"INT64_MAX itself", {.name = "count", .type = F_INT}, "{\"count\":9223372036854775807}",
     .want = "9223372036854775807"},
    {"one past INT64_MAX", {.name = "count", .type = F_INT}, "{\"count\":9223372036854775808}", .at = "count",
     .message = "count must be an integer"},
    {"a literal json-c clamps", {.name = "count", .type = F_INT}, "{\"count\":99999999999999999999}", .at = "count",
     .message = "count must be an integer"},
    {"a clamped literal is out of range, not the maximum",
     {.name = "big", .type = F_INT, .min = 0, .max = 9223372036854775807LL}, "{\"big\":99999999999999999999}",
     .at = "big", .message = "big must be an integer between 0 and 9223372036854775807"},
    {"INT64_MIN + 1", {.name = "count", .type = F_INT}, "{\"count\":-9223372036854775807}",
     .want = "-9223372036854775807"},
    {"a negative literal json-c clamps", {.name = "count", .type = F_INT}, "{\"count\":-99999999999999999999}",
     .at = "count", .message = "count must be an integer"},
    {"a default", {.name = "count", .type = F_INT, .def = "7"}, "{}", .want = "7"},
    {"a given value beats the default", {.name = "count", .type = F_INT, .def = "7"}, "{\"count\":8}", .want = "8"},
    {"absent without a default is left alone", {.name = "count", .type = F_INT}, "{}", .want = "-1"},
    {"required and missing", {.name = "count", .type = F_INT, .flags = F_REQUIRED}, "{}", .at = "count",
     .message = "Missing required field: count"},
    {"nullable null takes the default", {.name = "count", .type = F_INT, .flags = F_NULLABLE, .def = "7"},
     "{\"count\":null}", .want = "7"},
    {"nullable null without a default is absent", {.name = "count", .type = F_INT, .flags = F_NULLABLE},
     "{\"count\":null}", .want = "-1"},
    {"nullable still refuses a string", {.name = "count", .type = F_INT, .flags = F_NULLABLE}, "{\"count\":\"x\"}",
     .at = "count", .message = "count must be an integer"},
};

static void ints(void **state)
{
    run_rows(int_rows, ARRAY_LEN(int_rows));
}

static const struct row number_rows[] = {
    {"a fraction", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":0.5}", .want = "0.5"},
    {"an integer is a number", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":2}", .want = "2.0"},
    {"a string is not", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":\"0.5\"}", .at = "ratio",
     .message = "ratio must be a number"},
    {"a bool is not", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":false}", .at = "ratio",
     .message = "ratio must be a number"},
    {"null is not", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":null}", .at = "ratio",
     .message = "ratio must be a number"},
    {"infinity is not", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":1e400}", .at = "ratio",
     .message = "ratio must be a number"},
    {"a clamped integer literal is not", {.name = "ratio", .type = F_NUMBER}, "{\"ratio\":-99999999999999999999}",
     .at = "ratio", .message = "ratio must be a number"},
    {"the lower bound passes", {.name = "ratio", .type = F_NUMBER, .min = 0, .max = 1}, "{\"ratio\":0}", .want = "0.0"},
    {"the upper bound passes", {.name = "ratio", .type = F_NUMBER, .min = 0, .max = 1}, "{\"ratio\":1.0}",
     .want = "1.0"},
    {"just above", {.name = "ratio", .type = F_NUMBER, .min = 0, .max = 1}, "{\"ratio\":1.001}", .at = "ratio",
     .message = "ratio must be a number between 0 and 1"},
    {"just below", {.name = "ratio", .type = F_NUMBER, .min = 0, .max = 1}, "{\"ratio\":-0.001}", .at = "ratio",
     .message = "ratio must be a number between 0 and 1"},
    {"a bounded type error", {.name = "ratio", .type = F_NUMBER, .min = 0, .max = 1}, "{\"ratio\":[]}", .at = "ratio",
     .message = "ratio must be a number between 0 and 1"},
    {"a default", {.name = "ratio", .type = F_NUMBER, .def = "0.25"}, "{}", .want = "0.25"},
    {"absent is left alone", {.name = "ratio", .type = F_NUMBER}, "{}", .want = "-1.5"},
};

static void numbers(void **state)
{
    run_rows(number_rows, ARRAY_LEN(number_rows));
}

static const struct row string_rows[] = {
    {"a string", {.name = "name", .type = F_STRING}, "{\"name\":\"abc\"}", .want = "\"abc\""},
    {"an empty string", {.name = "name", .type = F_STRING}, "{\"name\":\"\"}", .want = "\"\""},
    {"a number is not a string", {.name = "name", .type = F_STRING}, "{\"name\":5}", .at = "name",
     .message = "name must be a string"},
    {"an object is not a string", {.name = "name", .type = F_STRING}, "{\"name\":{}}", .at = "name",
     .message = "name must be a string"},
    {"null is not a string", {.name = "name", .type = F_STRING}, "{\"name\":null}", .at = "name",
     .message = "name must be a string"},
    {"nullable null takes the default", {.name = "name", .type = F_STRING, .flags = F_NULLABLE, .def = "\"anon\""},
     "{\"name\":null}", .want = "\"anon\""},
    {"nullable null is NULL", {.name = "name", .type = F_STRING, .flags = F_NULLABLE}, "{\"name\":null}", .want = "null"},
    {"the shortest passes", {.name = "name", .type = F_STRING, .min = 1, .max = 3}, "{\"name\":\"a\"}",
     .want = "\"a\""},
    {"the longest passes", {.name = "name", .type = F_STRING, .min = 1, .max = 3}, "{\"name\":\"abc\"}",
     .want = "\"abc\""},
    {"one too short", {.name = "name", .type = F_STRING, .min = 1, .max = 3}, "{\"name\":\"\"}", .at = "name",
     .message = "name must be a string of 1 to 3 characters"},
    {"one too long", {.name = "name", .type = F_STRING, .min = 1, .max = 3}, "{\"name\":\"abcd\"}", .at = "name",
     .message = "name must be a string of 1 to 3 characters"},
    {"a bounded type error", {.name = "name", .type = F_STRING, .min = 1, .max = 3}, "{\"name\":true}", .at = "name",
     .message = "name must be a string"},
    {"only a maximum", {.name = "name", .type = F_STRING, .max = 3}, "{\"name\":\"abcd\"}", .at = "name",
     .message = "name must be a string of at most 3 characters"},
    {"only a minimum", {.name = "name", .type = F_STRING, .min = 2}, "{\"name\":\"a\"}", .at = "name",
     .message = "name must be a string of at least 2 characters"},
    {"characters, not bytes", {.name = "name", .type = F_STRING, .max = 3}, "{\"name\":\"h\xc3\xa9\xf0\x9f\x98\x80\"}",
     .want = "\"h\xc3\xa9\xf0\x9f\x98\x80\""},
    {"four characters in more bytes", {.name = "name", .type = F_STRING, .max = 3},
     "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", .at = "name",
     .message = "name must be a string of at most 3 characters"},
    {"an embedded NUL", {.name = "name", .type = F_STRING}, "{\"name\":\"ad\\u0000min\"}", .at = "name",
     .message = "name must not contain NUL characters"},
    {"a default", {.name = "name", .type = F_STRING, .def = "\"anon\""}, "{}", .want = "\"anon\""},
    {"absent is left alone", {.name = "name", .type = F_STRING}, "{}", .want = "\"untouched\""},
    {"required and missing", {.name = "name", .type = F_STRING, .flags = F_REQUIRED}, "{}", .at = "name",
     .message = "Missing required field: name"},
    {"required and nullable: null is given", {.name = "name", .type = F_STRING, .flags = F_REQUIRED | F_NULLABLE},
     "{\"name\":null}", .want = "null"},
};

static void strings(void **state)
{
    run_rows(string_rows, ARRAY_LEN(string_rows));
}

static const struct row bool_rows[] = {
    {"true", {.name = "flag", .type = F_BOOL}, "{\"flag\":true}", .want = "true"},
    {"false", {.name = "flag", .type = F_BOOL}, "{\"flag\":false}", .want = "false"},
    {"1 is not a bool", {.name = "flag", .type = F_BOOL}, "{\"flag\":1}", .at = "flag",
     .message = "flag must be true or false"},
    {"\"true\" is not a bool", {.name = "flag", .type = F_BOOL}, "{\"flag\":\"true\"}", .at = "flag",
     .message = "flag must be true or false"},
    {"null is not a bool", {.name = "flag", .type = F_BOOL}, "{\"flag\":null}", .at = "flag",
     .message = "flag must be true or false"},
    {"nullable null is absent", {.name = "flag", .type = F_BOOL, .flags = F_NULLABLE}, "{\"flag\":null}",
     .want = "true"},
    {"a default", {.name = "flag", .type = F_BOOL, .def = "false"}, "{}", .want = "false"},
    {"absent is left alone", {.name = "flag", .type = F_BOOL}, "{}", .want = "true"},
};

static void bools(void **state)
{
    run_rows(bool_rows, ARRAY_LEN(bool_rows));
}

static const struct row enum_rows[] = {
    {"a value's index", {.name = "mode", .type = F_ENUM, .values = modes}, "{\"mode\":\"weekly\"}", .want = "1"},
    {"the first value", {.name = "mode", .type = F_ENUM, .values = modes}, "{\"mode\":\"daily\"}", .want = "0"},
    {"not a value", {.name = "mode", .type = F_ENUM, .values = modes}, "{\"mode\":\"monthly\"}", .at = "mode",
     .message = "mode must be one of: daily, weekly, cron"},
    {"case matters", {.name = "mode", .type = F_ENUM, .values = modes}, "{\"mode\":\"Daily\"}", .at = "mode",
     .message = "mode must be one of: daily, weekly, cron"},
    {"an index is not a value", {.name = "mode", .type = F_ENUM, .values = modes}, "{\"mode\":1}", .at = "mode",
     .message = "mode must be one of: daily, weekly, cron"},
    {"a value then a NUL", {.name = "mode", .type = F_ENUM, .values = modes}, "{\"mode\":\"cron\\u0000x\"}",
     .at = "mode", .message = "mode must be one of: daily, weekly, cron"},
    {"a default", {.name = "mode", .type = F_ENUM, .values = modes, .def = "\"cron\""}, "{}", .want = "2"},
    {"nullable null is absent", {.name = "mode", .type = F_ENUM, .flags = F_NULLABLE, .values = modes},
     "{\"mode\":null}", .want = "-1"},
};

static void enums(void **state)
{
    run_rows(enum_rows, ARRAY_LEN(enum_rows));
}

static const struct row uuid_rows[] = {
    {"a UUID", {.name = "id", .type = F_UUID}, "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\"}",
     .want = "\"123e4567-e89b-12d3-a456-426614174000\""},
    {"without dashes", {.name = "id", .type = F_UUID}, "{\"id\":\"123e4567e89b12d3a456426614174000\"}", .at = "id",
     .message = "id must be a UUID"},
    {"one hex digit short", {.name = "id", .type = F_UUID}, "{\"id\":\"123e4567-e89b-12d3-a456-42661417400\"}",
     .at = "id", .message = "id must be a UUID"},
    {"a UUID then a NUL", {.name = "id", .type = F_UUID}, "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\\u0000\"}",
     .at = "id", .message = "id must be a UUID"},
    {"a number is not a UUID", {.name = "id", .type = F_UUID}, "{\"id\":5}", .at = "id",
     .message = "id must be a UUID"},
    {"nullable null is NULL", {.name = "id", .type = F_UUID, .flags = F_NULLABLE}, "{\"id\":null}", .want = "null"},
    {"a default", {.name = "id", .type = F_UUID, .def = "\"00000000-0000-0000-0000-000000000000\""}, "{}",
     .want = "\"00000000-0000-0000-0000-000000000000\""},
};

static void uuids(void **state)
{
    run_rows(uuid_rows, ARRAY_LEN(uuid_rows));
}

static const struct row snowflake_rows[] = {
    {"15 digits", {.name = "id", .type = F_SNOWFLAKE}, "{\"id\":\"123456789012345\"}", .want = "\"123456789012345\""},
    {"21 digits", {.name = "id", .type = F_SNOWFLAKE}, "{\"id\":\"123456789012345678901\"}",
     .want = "\"123456789012345678901\""},
    {"14 digits", {.name = "id", .type = F_SNOWFLAKE}, "{\"id\":\"12345678901234\"}", .at = "id",
     .message = "id must be a Discord id (15 to 21 digits)"},
    {"22 digits", {.name = "id", .type = F_SNOWFLAKE}, "{\"id\":\"1234567890123456789012\"}", .at = "id",
     .message = "id must be a Discord id (15 to 21 digits)"},
    {"a letter inside", {.name = "id", .type = F_SNOWFLAKE}, "{\"id\":\"1234567890x2345678\"}", .at = "id",
     .message = "id must be a Discord id (15 to 21 digits)"},
    {"a number, not a string", {.name = "id", .type = F_SNOWFLAKE}, "{\"id\":123456789012345678}", .at = "id",
     .message = "id must be a Discord id (15 to 21 digits)"},
    {"nullable null is NULL", {.name = "id", .type = F_SNOWFLAKE, .flags = F_NULLABLE}, "{\"id\":null}",
     .want = "null"},
};

static void snowflakes(void **state)
{
    run_rows(snowflake_rows, ARRAY_LEN(snowflake_rows));
}

static const struct row timestamp_rows[] = {
    {"with a fraction", {.name = "at", .type = F_TIMESTAMP}, "{\"at\":\"1970-01-01T00:00:01.5Z\"}", .want = "1500000"},
    {"a date", {.name = "at", .type = F_TIMESTAMP}, "{\"at\":\"2024-01-01\"}", .want = "1704067200000000"},
    {"an offset", {.name = "at", .type = F_TIMESTAMP}, "{\"at\":\"2024-01-01T02:00:00+02:00\"}",
     .want = "1704067200000000"},
    {"words are not a time", {.name = "at", .type = F_TIMESTAMP}, "{\"at\":\"yesterday\"}", .at = "at",
     .message = "at must be an ISO-8601 timestamp"},
    {"epoch seconds are not either", {.name = "at", .type = F_TIMESTAMP}, "{\"at\":1704067200}", .at = "at",
     .message = "at must be an ISO-8601 timestamp"},
    {"a date then a NUL", {.name = "at", .type = F_TIMESTAMP}, "{\"at\":\"2024-01-01\\u0000junk\"}", .at = "at",
     .message = "at must be an ISO-8601 timestamp"},
    {"a default", {.name = "at", .type = F_TIMESTAMP, .def = "\"2024-01-01T00:00:00Z\""}, "{}",
     .want = "1704067200000000"},
    {"absent is left alone", {.name = "at", .type = F_TIMESTAMP}, "{}", .want = "-1"},
};

static void timestamps(void **state)
{
    run_rows(timestamp_rows, ARRAY_LEN(timestamp_rows));
}

static const struct row object_rows[] = {
    {"an object", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema}, "{\"outer\":{\"inner\":3}}",
     .want = "{\"inner\":3}"},
    {"an error inside names its path", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema},
     "{\"outer\":{\"inner\":10}}", .at = "outer.inner", .message = "outer.inner must be an integer between 0 and 9"},
    {"missing inside", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema}, "{\"outer\":{}}",
     .at = "outer.inner", .message = "Missing required field: outer.inner"},
    {"unknown inside", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema},
     "{\"outer\":{\"inner\":1,\"extra\":2}}", .at = "outer.extra", .message = "outer.extra is not a known field"},
    {"an array is not an object", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema}, "{\"outer\":[1]}",
     .at = "outer", .message = "outer must be an object"},
    {"null is not an object", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema}, "{\"outer\":null}",
     .at = "outer", .message = "outer must be an object"},
    {"nullable null is absent", {.name = "outer", .type = F_OBJECT, .flags = F_NULLABLE, .schema = &inner_schema},
     "{\"outer\":null}", .want = "{\"inner\":-1}"},
    {"a default", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema, .def = "{\"inner\":4}"}, "{}",
     .want = "{\"inner\":4}"},
    {"absent is left alone", {.name = "outer", .type = F_OBJECT, .schema = &inner_schema}, "{}",
     .want = "{\"inner\":-1}"},
};

static void objects(void **state)
{
    run_rows(object_rows, ARRAY_LEN(object_rows));
}

static const struct row array_rows[] = {
    {"integers", {.name = "vals", .type = F_ARRAY, .items = &small_ints, .min = 1, .max = 3}, "{\"vals\":[1,2,3]}",
     .want = "[1,2,3]"},
    {"the fewest", {.name = "vals", .type = F_ARRAY, .items = &small_ints, .min = 1, .max = 3}, "{\"vals\":[0]}",
     .want = "[0]"},
    {"one too few", {.name = "vals", .type = F_ARRAY, .items = &small_ints, .min = 1, .max = 3}, "{\"vals\":[]}",
     .at = "vals", .message = "vals must hold 1 to 3 items"},
    {"one too many", {.name = "vals", .type = F_ARRAY, .items = &small_ints, .min = 1, .max = 3},
     "{\"vals\":[1,2,3,4]}", .at = "vals", .message = "vals must hold 1 to 3 items"},
    {"only a minimum", {.name = "vals", .type = F_ARRAY, .items = &small_ints, .min = 2}, "{\"vals\":[1]}",
     .at = "vals", .message = "vals must hold at least 2 items"},
    {"an element out of bounds", {.name = "vals", .type = F_ARRAY, .items = &small_ints}, "{\"vals\":[1,11]}",
     .at = "vals[1]", .message = "vals[1] must be an integer between 0 and 10"},
    {"an element that is 1.0", {.name = "vals", .type = F_ARRAY, .items = &small_ints}, "{\"vals\":[1.0]}",
     .at = "vals[0]", .message = "vals[0] must be an integer between 0 and 10"},
    {"a null element", {.name = "vals", .type = F_ARRAY, .items = &small_ints}, "{\"vals\":[null]}", .at = "vals[0]",
     .message = "vals[0] must be an integer between 0 and 10"},
    {"an object is not an array", {.name = "vals", .type = F_ARRAY, .items = &small_ints}, "{\"vals\":{}}",
     .at = "vals", .message = "vals must be an array"},
    {"a string is not an array", {.name = "vals", .type = F_ARRAY, .items = &small_ints}, "{\"vals\":\"1,2\"}",
     .at = "vals", .message = "vals must be an array"},
    {"empty", {.name = "vals", .type = F_ARRAY, .items = &small_ints}, "{\"vals\":[]}", .want = "[]"},
    {"strings", {.name = "tags", .type = F_ARRAY, .items = &short_strings}, "{\"tags\":[\"a\",\"abc\"]}",
     .want = "[\"a\",\"abc\"]"},
    {"a string element too long", {.name = "tags", .type = F_ARRAY, .items = &short_strings},
     "{\"tags\":[\"ab\",\"abcd\"]}", .at = "tags[1]", .message = "tags[1] must be a string of at most 3 characters"},
    {"nullable elements", {.name = "tags", .type = F_ARRAY, .items = &maybe_strings}, "{\"tags\":[\"a\",null]}",
     .want = "[\"a\",null]"},
    {"bools", {.name = "bits", .type = F_ARRAY, .items = &bool_items}, "{\"bits\":[true,false]}",
     .want = "[true,false]"},
    {"objects, with their defaults", {.name = "points", .type = F_ARRAY, .items = &points, .max = 2},
     "{\"points\":[{\"x\":1},{\"x\":2,\"y\":3}]}", .want = "[{\"x\":1,\"y\":0},{\"x\":2,\"y\":3}]"},
    {"an error in an element", {.name = "points", .type = F_ARRAY, .items = &points, .max = 2},
     "{\"points\":[{\"x\":1},{\"x\":101}]}", .at = "points[1].x",
     .message = "points[1].x must be an integer between 0 and 100"},
    {"missing in an element", {.name = "points", .type = F_ARRAY, .items = &points, .max = 2},
     "{\"points\":[{\"x\":1},{}]}", .at = "points[1].x", .message = "Missing required field: points[1].x"},
    {"unknown in an element", {.name = "points", .type = F_ARRAY, .items = &points, .max = 2},
     "{\"points\":[{\"x\":1},{\"x\":1,\"z\":1}]}", .at = "points[1].z", .message = "points[1].z is not a known field"},
    {"an element not an object", {.name = "points", .type = F_ARRAY, .items = &points, .max = 2},
     "{\"points\":[{\"x\":1},5]}", .at = "points[1]", .message = "points[1] must be an object"},
    {"too many objects", {.name = "points", .type = F_ARRAY, .items = &points, .max = 2},
     "{\"points\":[{\"x\":1},{\"x\":1},{\"x\":1}]}", .at = "points", .message = "points must hold 0 to 2 items"},
    {"arrays of arrays", {.name = "grid", .type = F_ARRAY, .items = &int_pairs}, "{\"grid\":[[1],[2,3]]}",
     .want = "[[1],[2,3]]"},
    {"an error two arrays deep", {.name = "grid", .type = F_ARRAY, .items = &int_pairs}, "{\"grid\":[[1],[2,11]]}",
     .at = "grid[1][1]", .message = "grid[1][1] must be an integer between 0 and 10"},
    {"a default", {.name = "vals", .type = F_ARRAY, .items = &small_ints, .def = "[1,2]"}, "{}", .want = "[1,2]"},
    {"a default of objects", {.name = "points", .type = F_ARRAY, .items = &points, .def = "[{\"x\":5}]"}, "{}",
     .want = "[{\"x\":5,\"y\":0}]"},
    {"nullable null takes the default",
     {.name = "vals", .type = F_ARRAY, .flags = F_NULLABLE, .items = &small_ints,
     .def = "[1]"}, "{\"vals\":null}",
     .want = "[1]"},
    {"nullable null without a default is absent",
     {.name = "vals", .type = F_ARRAY, .flags = F_NULLABLE, .items = &small_ints}, "{\"vals\":null}",
     .want = "[]"},
};

static void arrays(void **state)
{
    run_rows(array_rows, ARRAY_LEN(array_rows));
}

static const struct row json_rows[] = {
    {"an object", {.name = "extra", .type = F_JSON}, "{\"extra\":{\"a\":[1]}}", .want = "{\"a\":[1]}"},
    {"a number", {.name = "extra", .type = F_JSON}, "{\"extra\":5}", .want = "5"},
    {"null without F_NULLABLE", {.name = "extra", .type = F_JSON}, "{\"extra\":null}", .at = "extra",
     .message = "extra must not be null"},
    {"nullable null is NULL", {.name = "extra", .type = F_JSON, .flags = F_NULLABLE}, "{\"extra\":null}",
     .want = "null"},
    {"a default", {.name = "extra", .type = F_JSON, .def = "{\"k\":true}"}, "{}", .want = "{\"k\":true}"},
    {"absent is left alone", {.name = "extra", .type = F_JSON}, "{}", .want = "\"untouched\""},
};

static void json_values(void **state)
{
    run_rows(json_rows, ARRAY_LEN(json_rows));
}

static const struct row body_rows[] = {
    {"an unknown key", {.name = "count", .type = F_INT}, "{\"count\":1,\"cuont\":2}", .at = "cuont",
     .message = "cuont is not a known field"},
    {"the unknown key is named before the missing field", {.name = "count", .type = F_INT, .flags = F_REQUIRED},
     "{\"cuont\":1}", .at = "cuont", .message = "cuont is not a known field", .errors = 2},
    {"unknown keys allowed", {.name = "count", .type = F_INT}, "{\"count\":1,\"other\":2}", .want = "1",
     .allow_unknown = true},
    {"no body binds as {}", {.name = "count", .type = F_INT, .def = "7"}, NULL, .want = "7"},
    {"no body and a required field", {.name = "count", .type = F_INT, .flags = F_REQUIRED}, NULL, .at = "count",
     .message = "Missing required field: count"},
    {"an array body", {.name = "count", .type = F_INT}, "[{\"count\":1}]", .at = "",
     .message = "Request body must be a JSON object"},
    {"a string body", {.name = "count", .type = F_INT}, "\"count\"", .at = "",
     .message = "Request body must be a JSON object"},
    {"a number body", {.name = "count", .type = F_INT}, "5", .at = "", .message = "Request body must be a JSON object"},
};

static void bodies(void **state)
{
    run_rows(body_rows, ARRAY_LEN(body_rows));
}

/* A job-like struct for the tests that need several fields. */
struct job {
    const char *name;
    int64_t limit;
    bool enabled;
    int kind;
    uint64_t present;
};

static const char *const kinds[] = {"a", "b", NULL};

static const struct body_field job_fields[] = {
    {"name", F_STRING, F_REQUIRED, offsetof(struct job, name), 1, 10, NULL, NULL, NULL, NULL},
    {"limit", F_INT, 0, offsetof(struct job, limit), 1, 100, "10", NULL, NULL, NULL},
    {"enabled", F_BOOL, F_NULLABLE, offsetof(struct job, enabled), 0, 0, NULL, NULL, NULL, NULL},
    {"kind", F_ENUM, 0, offsetof(struct job, kind), 0, 0, NULL, kinds, NULL, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct body_schema job_schema = {job_fields, true, sizeof(struct job), offsetof(struct job, present),
                                              true};

static const char *const all_wrong = "{\"nmae\":\"x\",\"limit\":0,\"enabled\":\"yes\",\"kind\":\"z\",\"zz\":1}";
static const char *const all_wrong_messages[] = {
    "nmae is not a known field", "zz is not a known field", "Missing required field: name",
    "limit must be an integer between 1 and 100", "enabled must be true or false", "kind must be one of: a, b",
};

static void errors_are_collected_in_order_up_to_max_errs(void **state)
{
    json_object *body = parse(all_wrong);
    struct field_error errs[8];
    for (int max = 1; max <= 8; max++) {
        struct job j = {0};
        int want = max < (int)ARRAY_LEN(all_wrong_messages) ? max : (int)ARRAY_LEN(all_wrong_messages);
        int n = body_bind(&job_schema, body, &j, NULL, errs, max);
        if (n != want)
            fail_msg("max_errs %d: %d errors, want %d", max, n, want);
        for (int i = 0; i < n; i++)
            assert_string_equal(errs[i].message, all_wrong_messages[i]);
        body_unbind(&job_schema, &j);
    }
    assert_string_equal(errs[2].field, "name");
    assert_string_equal(errs[5].field, "kind");
    json_object_put(body);
}

static void present_marks_given_fields_not_defaults(void **state)
{
    json_object *body = parse("{\"name\":\"x\",\"enabled\":null}");
    struct job j = {.enabled = true, .present = UINT64_MAX};
    struct field_error e;
    assert_int_equal(body_bind(&job_schema, body, &j, NULL, &e, 1), 0);
    assert_int_equal(j.present, (1u << 0) | (1u << 2));   /* name and enabled; limit was defaulted */
    assert_int_equal(j.limit, 10);
    assert_true(j.enabled);                                /* null is given, but binds as absent */
    assert_string_equal(j.name, "x");
    json_object_put(body);
}

static void prefix_names_every_path(void **state)
{
    json_object *body = parse("{\"name\":\"x\",\"limit\":500}");
    struct job j = {0};
    struct field_error e;
    assert_int_equal(body_bind(&job_schema, body, &j, "bot_config", &e, 1), 1);
    assert_string_equal(e.field, "bot_config.limit");
    assert_string_equal(e.message, "bot_config.limit must be an integer between 1 and 100");
    assert_int_equal(body_bind(&job_schema, body, &j, "", &e, 1), 1);
    assert_string_equal(e.message, "limit must be an integer between 1 and 100");
    json_object_put(body);
    body = parse("[1]");
    assert_int_equal(body_bind(&job_schema, body, &j, "bot_config", &e, 1), 1);
    assert_string_equal(e.field, "bot_config");
    assert_string_equal(e.message, "bot_config must be an object");
    json_object_put(body);
}

/* Arrays inside objects inside arrays, for the cleanup tests. */
struct group {
    const char *name;
    struct field_array vals;
};
struct doc {
    struct field_array groups;
    int64_t after;
};
static const struct body_field vals_item = {.type = F_INT, .min = 0, .max = 10};
static const struct body_field group_fields[] = {
    {"name", F_STRING, F_REQUIRED, offsetof(struct group, name), 0, 0, NULL, NULL, NULL, NULL},
    {"vals", F_ARRAY, 0, offsetof(struct group, vals), 0, 0, "[0]", NULL, NULL, &vals_item},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct body_schema group_schema = {group_fields, true, sizeof(struct group), 0, false};
static const struct body_field group_item = {.type = F_OBJECT, .schema = &group_schema};
static const struct body_field doc_fields[] = {
    {"groups", F_ARRAY, 0, offsetof(struct doc, groups), 0, 0, NULL, NULL, NULL, &group_item},
    {"after", F_INT, F_REQUIRED, offsetof(struct doc, after), 0, 0, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct body_schema doc_schema = {doc_fields, true, sizeof(struct doc), 0, false};

static void nested_arrays_bind_and_unbind(void **state)
{
    json_object *body = parse("{\"groups\":[{\"name\":\"a\",\"vals\":[1,2]},{\"name\":\"b\"}],\"after\":3}");
    struct doc d = {{0}, 0};
    struct field_error e;
    assert_int_equal(body_bind(&doc_schema, body, &d, NULL, &e, 1), 0);
    assert_int_equal(d.groups.n, 2);
    const struct group *g = d.groups.items;
    assert_string_equal(g[0].name, "a");
    assert_int_equal(g[0].vals.n, 2);
    assert_int_equal(((const int64_t *)g[0].vals.items)[1], 2);
    assert_string_equal(g[1].name, "b");
    assert_int_equal(g[1].vals.n, 1);   /* the default [0] */
    assert_int_equal(d.after, 3);
    body_unbind(&doc_schema, &d);
    assert_int_equal(d.groups.n, 0);
    assert_null(d.groups.items);
    body_unbind(&doc_schema, &d);       /* twice is harmless */
    json_object_put(body);
}

/* What a failed bind allocated is freed (valgrind and ASan check that), and the slots it wrote
 * hold what they held before, so the caller's body_unbind frees exactly what it owned. */
static void a_failed_bind_frees_and_restores(void **state)
{
    static const char *const failing[][2] = {
        {"{\"groups\":[{\"name\":\"a\",\"vals\":[1,2]},{\"name\":\"b\"}]}", "Missing required field: after"},
        {"{\"groups\":[{\"name\":\"a\",\"vals\":[1]},{\"name\":\"b\",\"vals\":[1,\"x\"]}],\"after\":1}",
         "groups[1].vals[1] must be an integer between 0 and 10"},
        {"{\"groups\":[{\"name\":\"a\"},{\"vals\":[1]}],\"after\":1}", "Missing required field: groups[1].name"},
    };
    for (size_t i = 0; i < ARRAY_LEN(failing); i++) {
        for (int max = 1; max <= 4; max += 3) {
            json_object *body = parse(failing[i][0]);
            struct group *owned = xcalloc(1, sizeof(*owned));
            struct doc d = {{1, owned}, 0};
            struct field_error errs[4];
            assert_int_equal(body_bind(&doc_schema, body, &d, NULL, errs, max), 1);
            assert_string_equal(errs[0].message, failing[i][1]);
            assert_ptr_equal(d.groups.items, owned);
            assert_int_equal(d.groups.n, 1);
            body_unbind(&doc_schema, &d);
            json_object_put(body);
        }
    }
}

static void defaults_outlive_the_body(void **state)
{
    static const struct body_field fields[] = {
        {"name", F_STRING, 0, offsetof(struct one, v.s), 0, 0, "\"anon\"", NULL, NULL, NULL},
        {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
    };
    static const struct body_schema schema = {fields, true, sizeof(struct one), 0, false};
    json_object *body = parse("{}");
    struct one o = {0};
    struct field_error e;
    assert_int_equal(body_bind(&schema, body, &o, NULL, &e, 1), 0);
    json_object_put(body);
    assert_string_equal(o.v.s, "anon");
    const char *first = o.v.s;
    assert_int_equal(body_bind(&schema, NULL, &o, NULL, &e, 1), 0);
    assert_ptr_equal(o.v.s, first);   /* parsed once, not once per bind */
}

static void the_present_bitmask_has_64_bits(void **state)
{
    struct wide {
        int64_t v[65];
        uint64_t present;
    };
    static char names[65][8];
    struct body_field fields[66];
    memset(fields, 0, sizeof(fields));
    for (int i = 0; i < 65; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        fields[i] = (struct body_field){.name = names[i], .type = F_INT, .offset = offsetof(struct wide, v) + 8u * i};
    }
    struct body_schema s = {fields, true, sizeof(struct wide), offsetof(struct wide, present), true};
    char err[256];
    assert_false(body_schema_check(&s, err, sizeof(err)));
    assert_string_equal(err, "schema: more than 64 fields");
    fields[64].name = NULL;
    assert_true(body_schema_check(&s, err, sizeof(err)));
    json_object *body = parse("{\"f63\":1,\"f0\":2}");
    struct wide w = {{0}, 0};
    struct field_error e;
    assert_int_equal(body_bind(&s, body, &w, NULL, &e, 1), 0);
    assert_int_equal(w.present, (1ull << 63) | 1u);
    assert_int_equal(w.v[63], 1);
    json_object_put(body);
}

static void schema_check_finds_table_mistakes(void **state)
{
    static const struct body_schema no_size = {inner_fields, true, 0, 0, false};
    static const struct body_field unsized_item = {.type = F_OBJECT, .schema = &no_size};
    static const struct {
        struct body_field field;
        const char *want;
    } cases[] = {
        {{.name = "n", .type = F_INT, .def = "1x"}, "n: the default is not JSON"},
        {{.name = "n", .type = F_INT, .min = 1, .max = 5, .def = "9"},
         "n: the default is refused: n must be an integer between 1 and 5"},
        {{.name = "n", .type = F_INT, .flags = F_REQUIRED, .def = "1"}, "n: a required field's default is never used"},
        {{.name = "n", .type = F_INT, .min = 5, .max = 1}, "n: min 5 and max 1 do not make a range"},
        {{.name = "s", .type = F_STRING, .min = -1}, "s: min -1 and max 0 do not make a range"},
        {{.name = "e", .type = F_ENUM}, "e: an enum needs values"},
        {{.name = "o", .type = F_OBJECT}, "o: an object needs a schema"},
        {{.name = "a", .type = F_ARRAY}, "a: an array needs items"},
        {{.name = "a", .type = F_ARRAY, .items = &unsized_item}, "a[]: an array of objects needs its schema's size"},
        {{.name = "a", .type = F_ARRAY, .items = &points, .def = "[{}]"},
         "a: the default is refused: Missing required field: a[0].x"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct body_field fields[2] = {cases[i].field};
        struct body_schema s = {fields, true, 0, 0, false};
        char err[256] = "";
        if (body_schema_check(&s, err, sizeof(err)) || strcmp(err, cases[i].want))
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].field.name, err, cases[i].want);
    }
    struct body_field twice[3] = {{.name = "n", .type = F_INT}, {.name = "n", .type = F_BOOL}};
    struct body_schema s = {twice, true, 0, 0, false};
    char err[256] = "";
    assert_false(body_schema_check(&s, err, sizeof(err)));
    assert_string_equal(err, "n: named twice");
    static const struct body_schema *const good[] = {&inner_schema, &point_schema, &job_schema, &group_schema,
                                                     &doc_schema};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        if (!body_schema_check(good[i], err, sizeof(err)))
            fail_msg("test schema %zu: %s", i, err);
}

static int setup(void **state)
{
    untouched_json = json_object_new_string("untouched");
    return 0;
}

static int teardown(void **state)
{
    json_object_put(untouched_json);
    body_schema_release_defaults();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ints),
        cmocka_unit_test(numbers),
        cmocka_unit_test(strings),
        cmocka_unit_test(bools),
        cmocka_unit_test(enums),
        cmocka_unit_test(uuids),
        cmocka_unit_test(snowflakes),
        cmocka_unit_test(timestamps),
        cmocka_unit_test(objects),
        cmocka_unit_test(arrays),
        cmocka_unit_test(json_values),
        cmocka_unit_test(bodies),
        cmocka_unit_test(errors_are_collected_in_order_up_to_max_errs),
        cmocka_unit_test(present_marks_given_fields_not_defaults),
        cmocka_unit_test(prefix_names_every_path),
        cmocka_unit_test(nested_arrays_bind_and_unbind),
        cmocka_unit_test(a_failed_bind_frees_and_restores),
        cmocka_unit_test(defaults_outlive_the_body),
        cmocka_unit_test(the_present_bitmask_has_64_bits),
        cmocka_unit_test(schema_check_finds_table_mistakes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
