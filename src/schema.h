/* schema.h — declarative request-body schemas, in the style of the query-parameter table and
 * nginx's ngx_command_t: one row per field says its name, JSON type, bounds, whether it is required
 * or what its default is, and where (offsetof) it lands in the handler's struct. body_bind() is the
 * one function that checks a parsed body against a schema and fills the struct. Pure: no I/O. */
#ifndef GH_SCHEMA_H
#define GH_SCHEMA_H

#include <json-c/json.h>

enum field_type {
    F_STRING,     /* const char * into the JSON (lives as long as the body); min/max: length in characters */
    F_INT,        /* int64_t; min/max: the value. Refuses 1.0, true, "1" */
    F_NUMBER,     /* double; an integer or a fraction; min/max: the value (when min < max) */
    F_BOOL,       /* bool */
    F_TIMESTAMP,  /* int64_t µs since the epoch, from an ISO-8601 string (parse_timestamp) */
    F_ENUM,       /* int: the index in values[]; the text is values[index] */
    F_UUID,       /* const char *: a string in the 8-4-4-4-12 hex form */
    F_SNOWFLAKE,  /* const char *: a Discord id, 15 to 21 decimal digits */
    F_OBJECT,     /* a nested struct at offset, bound with .schema */
    F_ARRAY,      /* struct field_array at offset; each element bound with .items; min/max: element count */
    F_JSON,       /* json_object * (borrowed): any JSON value, checked later by the handler */
};

enum field_flags {
    F_REQUIRED = 1 << 0,  /* absent → "Missing required field: NAME" */
    F_NULLABLE = 1 << 1,  /* null is accepted: the default when there is one, else strings/ids/json NULL */
};

struct body_schema;

struct body_field {
    const char *name;                  /* NULL ends a schema's field list */
    enum field_type type;
    unsigned flags;
    size_t offset;                     /* offsetof() into the bound struct */
    long long min, max;                /* see enum field_type; min == max == 0: unbounded */
    const char *def;                   /* JSON text of the default; NULL: an absent field is left as it is */
    const char *const *values;         /* F_ENUM: NULL-terminated */
    const struct body_schema *schema;  /* F_OBJECT */
    const struct body_field *items;    /* F_ARRAY: one element's description (name unused, offset 0) */
};

struct body_schema {
    const struct body_field *fields;
    bool refuse_unknown;               /* a key no field names → "NAME is not a known field" */
    size_t size;                       /* sizeof the struct (F_ARRAY elements of objects; the dispatcher) */
    size_t present_offset;             /* where a uint64_t bitmask of given fields (bit i = fields[i]) goes; */
    bool has_present;                  /* set has_present to record it (partial updates need it) */
};

/* An F_ARRAY: n elements of the element's type, in one allocation (body_unbind frees it). */
struct field_array {
    size_t n;
    void *items;
};

/* One failing input: the dotted path of the field ("bot_config.dry_run", "items[2].x") and a
 * message that starts with it ("limit must be an integer between 1 and 100"). */
struct field_error {
    char field[128];
    char message[256];
};

/* Binds body (a parsed JSON value; NULL binds as {}) to out. Fields are checked in table order;
 * defaults are applied to absent fields. Returns how many errors it wrote to errs (at most
 * max_errs, which must be at least 1; 0 means out is filled). With max_errs == 1 it stops at the
 * first. A body that is not an object fails with field "" and "Request body must be a JSON object"
 * (with a prefix: "PREFIX must be an object"). prefix ("" or NULL at the top) is put in front of
 * every field path, for handlers that bind a nested value themselves.
 *
 * - With refuse_unknown, unknown keys are reported first (in the body's key order), then the
 *   fields: a misspelt key is named as unknown rather than as a missing required field.
 * - null: with F_NULLABLE it binds the field's default when it has one; without a default it leaves
 *   the field as it is, except that F_STRING, F_UUID, F_SNOWFLAKE and F_JSON are set to NULL. Its present bit is
 *   set either way (it was given). Without
 *   F_NULLABLE it is refused with the field's usual message; an F_JSON field says "must not be null".
 *   F_REQUIRED | F_NULLABLE: the key must be there, and null is accepted.
 * - Defaults are parsed once and kept for the life of the process, so a string, UUID or JSON
 *   default points into that copy and stays valid after the body is freed (given values do not).
 * - An F_INT or F_NUMBER value of the wrong type and one out of bounds get the same sentence
 *   ("limit must be an integer between 1 and 100"); F_STRING and F_ARRAY say "must be a string" /
 *   "must be an array" for the wrong type and give their length or count bounds otherwise.
 *   F_INT refuses INT64_MIN: json-c clamps a more negative literal to it and the two look alike.
 * - An absent F_OBJECT is not bound at all, so its fields' defaults apply only when it is given
 *   (or has a default of its own, such as "{}").
 * - Paths longer than field_error.field (127 bytes) are cut short.
 *   A string holding "\u0000" is refused ("PATH must not contain NUL characters").
 * - F_ARRAY slots are overwritten when given or defaulted, so out should start zeroed (an array
 *   left absent is freed by body_unbind as whatever it held). On failure body_bind frees every
 *   array it allocated and puts those slots back as they were; scalars may be partly bound, and
 *   body_unbind is safe to call either way. */
int body_bind(const struct body_schema *s, json_object *body, void *out, const char *prefix,
              struct field_error *errs, int max_errs);
/* The bytes a field's bound value takes in the struct (an F_ARRAY element's stride). */
size_t body_field_size(const struct body_field *f);
/* Frees what body_bind allocated in out (F_ARRAY items, recursively) and zeroes those slots;
 * out itself is the caller's. */
void body_unbind(const struct body_schema *s, void *out);

/* A bound struct back as JSON: every field in table order, as bound (absent strings are null,
 * enums their text, timestamps ISO-8601 with milliseconds). Normalises a config whose absent
 * fields took their defaults. A new object, the caller's to put. */
json_object *body_to_json(const struct body_schema *s, const void *in);

/* The present bitmask has one bit per field, so a schema has at most this many. */
#define BODY_SCHEMA_MAX_FIELDS 64

/* Finds the mistakes in a schema table that body_bind would only meet on some request (or assert
 * on): a default that is not JSON or that its own field refuses, an enum without values, an
 * object without a schema, an array without items, an array of objects whose schema has no size,
 * bounds that are not a range, a name used twice, more than BODY_SCHEMA_MAX_FIELDS fields.
 * Writes the first to err. Meant for a unit test over every route's schema. */
bool body_schema_check(const struct body_schema *s, char *err, size_t errlen);
/* Frees the parsed defaults (for a leak-free exit under valgrind); structs bound before with a
 * string, UUID or JSON default must not be read after it. */
void body_schema_release_defaults(void);

#endif
