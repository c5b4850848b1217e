/* schedule.c — schedule configs and next-run arithmetic, in UTC with plain day counting
 * (days since the epoch and back, after Howard Hinnant's civil calendar algorithms): no time zone,
 * no libc calendar state. cron_next walks month by month and day by day, and inside a matching day
 * finds the hour and minute with bit scans, so a search over five years costs at most a few thousand
 * cheap steps. */
#include <stdarg.h>

#include "guildhall.h"
#include "scheduler/schedule.h"
#include "schema.h"

/* Instants outside years 1..9999 are refused rather than risking overflow in the arithmetic. */
#define T_MIN (-62135596800LL)   /* 0001-01-01T00:00:00 */
#define T_MAX 253402300799LL     /* 9999-12-31T23:59:59 */
#define DAY_S 86400
#define CRON_HORIZON_DAYS (5 * 365 + 2)   /* five years, leap days included */
#define CRON_EXPR_MAX 256

static void set_err(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* The bytes of the UTF-8 character that starts at s (1 for a byte that starts none), within n. */
static int char_bytes(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    size_t k = c >= 0xF0 && c <= 0xF7 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
    return (int)(k < n ? k : n);
}

/* Drops a character vsnprintf cut short at the end of s. */
static void cut_partial_char(char *s)
{
    size_t len = strlen(s), start = len;
    while (start > 0 && len - start < 4 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start > 0 && (unsigned char)s[start - 1] >= 0xC0) {
        start--;
        if ((size_t)char_bytes(s + start, 4) > len - start)
            s[start] = '\0';
    }
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    cut_partial_char(err);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                     /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;   /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;             /* 0..146096 */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day)
{
    return (int)((day % 7 + 11) % 7);
}

/* The lowest set bit of mask at position >= from, or -1. */
static int next_bit(uint64_t mask, int from)
{
    if (from < 0 || from > 63)
        return -1;
    mask &= ~0ULL << from;
    return mask ? __builtin_ctzll(mask) : -1;
}

/* ---- cron ---- */

struct cron_field {
    const char *name;
    int min, max;
    const char *const *names;   /* names[i] is value i + name_base */
    int n_names, name_base;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, N_FIELDS };

static const struct cron_field cron_fields[N_FIELDS] = {
    [F_MINUTE] = {"minute", 0, 59, NULL, 0, 0},
    [F_HOUR] = {"hour", 0, 23, NULL, 0, 0},
    [F_DOM] = {"day-of-month", 1, 31, NULL, 0, 0},
    [F_MONTH] = {"month", 1, 12, month_names, 12, 1},
    [F_DOW] = {"day-of-week", 0, 7, day_names, 7, 0},
};

static const struct {
    const char *name, *expr;
} cron_macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Error text quotes at most this many bytes of the input, cut where a character starts (the
 * message is sent as JSON and must stay valid UTF-8). */
#define QUOTE_MAX 32
static int qlen(const char *s, long n)
{
    long k = n > QUOTE_MAX ? QUOTE_MAX : n;
    while (k > 0 && k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return (int)k;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_eq(const char *s, size_t n, const char *name)
{
    if (n != strlen(name))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lower(s[i]) != name[i])
            return false;
    }
    return true;
}

/* One value (a number or, where the field has them, a name) at *p, before end. */
static bool cron_value(const struct cron_field *f, const char **p, const char *end, int *out, bool *by_name,
                       char *err, size_t errlen)
{
    const char *s = *p, *q = s;
    *by_name = false;
    if (q < end && is_digit(*q)) {
        while (q < end && is_digit(*q))
            q++;
        long v = 0;
        for (const char *r = s; r < q && v <= 1000; r++)
            v = v * 10 + (*r - '0');
        if (v < f->min || v > f->max) {
            set_err(err, errlen, "cron_expression: %s field: %.*s is out of range %d-%d", f->name, qlen(s, q - s), s,
                    f->min, f->max);
            return false;
        }
        *out = (int)v;
        *p = q;
        return true;
    }
    while (q < end && is_alpha(*q))
        q++;
    if (q == s) {
        if (s == end)
            set_err(err, errlen, "cron_expression: %s field: a value is missing", f->name);
        else
            set_err(err, errlen, "cron_expression: %s field: unexpected character '%.*s'", f->name,
                    char_bytes(s, (size_t)(end - s)), s);
        return false;
    }
    for (int i = 0; i < f->n_names; i++) {
        if (name_eq(s, (size_t)(q - s), f->names[i])) {
            *out = i + f->name_base;
            *by_name = true;
            *p = q;
            return true;
        }
    }
    set_err(err, errlen, "cron_expression: %s field: '%.*s' is not a valid value", f->name, qlen(s, q - s), s);
    return false;
}

/* One comma-separated item: '*', N, N-M, each optionally followed by /STEP. */
static bool cron_item(const struct cron_field *f, const char *s, const char *end, uint64_t *bits, char *err,
                      size_t errlen)
{
    const char *p = s;
    int lo, hi, step = 1;
    bool by_name, single = false;

    if (p == end) {
        set_err(err, errlen, "cron_expression: %s field: empty item in list", f->name);
        return false;
    }
    if (*p == '*') {
        lo = f->min;
        hi = f->max;
        p++;
    } else {
        if (!cron_value(f, &p, end, &lo, &by_name, err, errlen))
            return false;
        hi = lo;
        single = true;
        if (p < end && *p == '-') {
            p++;
            if (!cron_value(f, &p, end, &hi, &by_name, err, errlen))
                return false;
            /* "mon-sun", "fri-sun": a named Sunday ending a range is day 7 */
            if (f == &cron_fields[F_DOW] && by_name && hi == 0 && lo > 0)
                hi = 7;
            if (hi < lo) {
                set_err(err, errlen, "cron_expression: %s field: range %.*s is reversed", f->name, qlen(s, p - s), s);
                return false;
            }
            single = false;
        }
    }
    if (p < end && *p == '/') {
        const char *st = ++p;
        while (p < end && is_digit(*p))
            p++;
        if (p == st) {
            set_err(err, errlen, "cron_expression: %s field: a step must be a number", f->name);
            return false;
        }
        long v = 0;
        for (const char *r = st; r < p && v <= 1000; r++)
            v = v * 10 + (*r - '0');
        if (v < 1 || v > f->max) {
            set_err(err, errlen, "cron_expression: %s field: step %.*s is out of range 1-%d", f->name, qlen(st, p - st),
                    st, f->max);
            return false;
        }
        step = (int)v;
        if (single)   /* N/step runs from N to the field's maximum, as in cronie */
            hi = f->max;
    }
    if (p != end) {
        set_err(err, errlen, "cron_expression: %s field: unexpected character '%.*s' in '%.*s'", f->name,
                char_bytes(p, (size_t)(end - p)), p, qlen(s, end - s), s);
        return false;
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    return true;
}

static bool cron_field_parse(const struct cron_field *f, const char *s, const char *end, uint64_t *bits, char *err,
                             size_t errlen)
{
    *bits = 0;
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        if (!cron_item(f, s, item_end, bits, err, errlen))
            return false;
        if (!comma)
            return true;
        s = comma + 1;
    }
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

bool cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
    const char *start[N_FIELDS + 1], *stop[N_FIELDS + 1];
    int n = 0;

    memset(out, 0, sizeof(*out));
    if (!expr) {
        set_err(err, errlen, "cron_expression is required");
        return false;
    }
    const char *p = expr;
    while (is_blank(*p))
        p++;
    if (*p == '@') {
        size_t len = strcspn(p, " \t");
        const char *rest = p + len;
        while (is_blank(*rest))
            rest++;
        for (size_t i = 0; i < ARRAY_LEN(cron_macros) && !*rest; i++) {
            if (name_eq(p, len, cron_macros[i].name))
                return cron_parse(cron_macros[i].expr, out, err, errlen);
        }
        set_err(err, errlen, "cron_expression: '%.*s' is not supported (use 5 fields, or @hourly, @daily, @weekly, "
                "@monthly, @yearly)", qlen(p, (long)strlen(p)), p);
        return false;
    }
    while (*p) {
        if (n == N_FIELDS) {
            n++;
            break;
        }
        start[n] = p;
        while (*p && !is_blank(*p))
            p++;
        stop[n++] = p;
        while (is_blank(*p))
            p++;
    }
    if (n != N_FIELDS) {
        if (n > N_FIELDS) {   /* count them all for the message */
            n = N_FIELDS;
            for (p = stop[N_FIELDS - 1]; *p;) {
                while (is_blank(*p))
                    p++;
                if (!*p)
                    break;
                n++;
                while (*p && !is_blank(*p))
                    p++;
            }
        }
        set_err(err, errlen, "cron_expression: expected 5 fields (minute hour day-of-month month day-of-week), got %d",
                n);
        return false;
    }

    uint64_t bits[N_FIELDS];
    for (int i = 0; i < N_FIELDS; i++) {
        if (!cron_field_parse(&cron_fields[i], start[i], stop[i], &bits[i], err, errlen))
            return false;
    }
    out->minutes = bits[F_MINUTE];
    out->hours = (uint32_t)bits[F_HOUR];
    out->days = (uint32_t)bits[F_DOM];
    out->months = (uint16_t)bits[F_MONTH];
    out->weekdays = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & 0x7f);   /* 7 is Sunday */
    /* cron(8): a field counts as unrestricted when it starts with '*' (so "*" and "*" + "/2" alike) */
    out->days_restricted = *start[F_DOM] != '*';
    out->weekdays_restricted = *start[F_DOW] != '*';
    return true;
}

static bool cron_day_matches(const struct cron *c, int dom, int wday)
{
    bool dom_ok = (c->days >> dom) & 1u;
    bool dow_ok = (c->weekdays >> wday) & 1u;
    if (c->days_restricted && c->weekdays_restricted)
        return dom_ok || dow_ok;
    return dom_ok && dow_ok;
}

int64_t cron_next(const struct cron *c, int64_t after)
{
    if (after < T_MIN || after > T_MAX)
        return -1;
    int64_t t = floor_div(after, 60) * 60 + 60;
    int64_t day = floor_div(t, DAY_S);
    int64_t last = day + CRON_HORIZON_DAYS;
    int hour = (int)((t - day * DAY_S) / 3600);
    int minute = (int)((t - day * DAY_S) % 3600 / 60);

    while (day <= last) {
        int64_t y;
        int m, d;
        civil_from_days(day, &y, &m, &d);
        if (!((c->months >> m) & 1u)) {
            day = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
            hour = minute = 0;
            continue;
        }
        if (cron_day_matches(c, d, weekday(day))) {
            for (int h; (h = next_bit(c->hours, hour)) >= 0 && h <= 23; hour = h + 1, minute = 0) {
                if (h != hour)
                    minute = 0;
                int mi = next_bit(c->minutes, minute);
                if (mi >= 0 && mi <= 59)
                    return day * DAY_S + h * 3600 + mi * 60;
            }
        }
        day++;
        hour = minute = 0;
    }
    return -1;
}

/* ---- schedule configs ---- */

static const char *const type_names[] = {
    [SCHEDULE_DAILY] = "daily",
    [SCHEDULE_WEEKLY] = "weekly",
    [SCHEDULE_INTERVAL] = "interval",
    [SCHEDULE_CRON] = "cron",
};

/* What each type's config holds, with its bounds and defaults (CONTRACT 7.3). */
struct schedule_input {
    int64_t hour, minute, hours, minutes;
    const char *day_of_week, *cron_expression;
};

#define HOUR_MINUTE                                                                                        \
    {.name = "hour", .type = F_INT, .offset = offsetof(struct schedule_input, hour), .min = 0, .max = 23,   \
     .def = "8"},                                                                                          \
    {.name = "minute", .type = F_INT, .offset = offsetof(struct schedule_input, minute), .min = 0, .max = 59, \
     .def = "0"}
#define CONFIG_SCHEMA(...) \
    {.fields = (const struct body_field[]){__VA_ARGS__, {0}}, .refuse_unknown = true, .size = sizeof(struct schedule_input)}

static const struct body_schema type_schemas[] = {
    [SCHEDULE_DAILY] = CONFIG_SCHEMA(HOUR_MINUTE),
    [SCHEDULE_WEEKLY] = CONFIG_SCHEMA(HOUR_MINUTE, {.name = "day_of_week", .type = F_STRING, .offset = offsetof(
                                                       struct schedule_input, day_of_week), .max = 64, .def = "\"mon\""}),
    [SCHEDULE_INTERVAL] = CONFIG_SCHEMA(
        {.name = "hours", .type = F_INT, .offset = offsetof(struct schedule_input, hours), .min = 0, .max = 8760, .def = "1"},
        {.name = "minutes", .type = F_INT, .offset = offsetof(struct schedule_input, minutes), .min = 0, .max = 59,
         .def = "0"}),
    [SCHEDULE_CRON] = CONFIG_SCHEMA({.name = "cron_expression", .type = F_STRING, .flags = F_REQUIRED,
                                     .offset = offsetof(struct schedule_input, cron_expression), .min = 1,
                                     .max = CRON_EXPR_MAX}),
};

/* Week order for day_of_week: Monday first, as "mon,wed,fri" reads. */
static const char *const week_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

const char *schedule_type_name(enum schedule_type type)
{
    return (unsigned)type < ARRAY_LEN(type_names) ? type_names[type] : "unknown";
}

bool schedule_type_parse(const char *name, enum schedule_type *out, char *err, size_t errlen)
{
    for (size_t i = 0; name && i < ARRAY_LEN(type_names); i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (enum schedule_type)i;
            return true;
        }
    }
    set_err(err, errlen, "schedule_type must be one of: daily, weekly, interval, cron");
    return false;
}

static int week_index(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++) {
        if (name_eq(s, n, week_names[i]))
            return i;
    }
    return -1;
}

/* "mon,wed,fri", "Mon-Fri,sun": bits 0..6 with Sunday = 0. */
static bool parse_day_of_week(const char *s, uint8_t *out, char *err, size_t errlen)
{
    static const char usage[] = "names mon..sun separated by commas, like \"mon,wed,fri\"";
    uint8_t bits = 0;

    for (;;) {
        size_t len = strcspn(s, ",");
        const char *a = s, *b = s + len;
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        if (a == b) {
            set_err(err, errlen, "schedule_config.day_of_week has an empty item; use %s", usage);
            return false;
        }
        const char *dash = memchr(a, '-', (size_t)(b - a));
        const char *a_end = dash ? dash : b;
        while (a_end > a && is_blank(a_end[-1]))
            a_end--;
        int lo = week_index(a, (size_t)(a_end - a)), hi = lo;
        if (lo >= 0 && dash) {
            const char *h = dash + 1;
            while (h < b && is_blank(*h))
                h++;
            hi = week_index(h, (size_t)(b - h));
        }
        if (lo < 0 || hi < 0) {
            set_err(err, errlen, "schedule_config.day_of_week: '%.*s' is not a day; use %s", qlen(a, b - a), a, usage);
            return false;
        }
        if (hi < lo) {
            set_err(err, errlen, "schedule_config.day_of_week: range '%.*s' is reversed (the week runs mon..sun)",
                    qlen(a, b - a), a);
            return false;
        }
        for (int i = lo; i <= hi; i++)
            bits |= (uint8_t)(1u << ((i + 1) % 7));
        if (!s[len])
            break;
        s += len + 1;
    }
    *out = bits;
    return true;
}

static char *format_day_of_week(uint8_t bits)
{
    char buf[7 * 4 + 1] = "";
    for (int i = 0; i < 7; i++) {
        if (bits & (1u << ((i + 1) % 7))) {
            if (buf[0])
                strcat(buf, ",");
            strcat(buf, week_names[i]);
        }
    }
    return xstrdup(buf);
}

bool schedule_parse(enum schedule_type type, json_object *config, struct schedule *out, json_object **normalized,
                    char *err, size_t errlen)
{
    struct schedule_input in = {0};
    struct field_error e;
    char cron_err[256];

    *normalized = NULL;
    memset(out, 0, sizeof(*out));
    if ((unsigned)type >= ARRAY_LEN(type_names)) {
        set_err(err, errlen, "schedule_type must be one of: daily, weekly, interval, cron");
        return false;
    }
    out->type = type;
    if (body_bind(&type_schemas[type], config, &in, "schedule_config", &e, 1) != 0) {
        set_err(err, errlen, "%s", e.message);
        return false;
    }
    out->hour = (int)in.hour;
    out->minute = (int)in.minute;
    switch (type) {
    case SCHEDULE_DAILY:
        break;
    case SCHEDULE_WEEKLY:
        if (!parse_day_of_week(in.day_of_week, &out->weekdays, err, errlen))
            goto fail;
        break;
    case SCHEDULE_INTERVAL:
        if (in.hours == 0 && in.minutes == 0) {
            set_err(err, errlen, "schedule_config.hours and schedule_config.minutes must add up to at least 1 minute");
            goto fail;
        }
        out->interval_s = in.hours * 3600 + in.minutes * 60;
        break;
    case SCHEDULE_CRON:
        if (!cron_parse(in.cron_expression, &out->cron, cron_err, sizeof(cron_err))) {
            set_err(err, errlen, "schedule_config.%s", cron_err);
            goto fail;
        }
        break;
    }
    *normalized = body_to_json(&type_schemas[type], &in);
    if (type == SCHEDULE_WEEKLY) {
        char *days = format_day_of_week(out->weekdays);
        json_object_object_add(*normalized, "day_of_week", json_object_new_string(days));
        free(days);
    }
    return true;

fail:
    memset(out, 0, sizeof(*out));
    return false;
}

int64_t schedule_next(const struct schedule *s, int64_t after, int64_t anchor)
{
    if (after < T_MIN || after > T_MAX)
        return -1;
    switch (s->type) {
    case SCHEDULE_DAILY:
    case SCHEDULE_WEEKLY: {
        if (s->hour < 0 || s->hour > 23 || s->minute < 0 || s->minute > 59)
            return -1;
        int64_t day = floor_div(after, DAY_S);
        int64_t tod = (int64_t)s->hour * 3600 + s->minute * 60;
        for (int k = 0; k <= 7; k++) {
            int64_t t = (day + k) * DAY_S + tod;
            if (t > after && (s->type == SCHEDULE_DAILY || ((s->weekdays >> weekday(day + k)) & 1u)))
                return t;
        }
        return -1;
    }
    case SCHEDULE_INTERVAL: {
        if (s->interval_s <= 0 || s->interval_s > T_MAX - T_MIN || anchor < T_MIN || anchor > T_MAX)
            return -1;
        int64_t k = after < anchor ? 1 : (after - anchor) / s->interval_s + 1;
        return anchor + k * s->interval_s;
    }
    case SCHEDULE_CRON:
        return cron_next(&s->cron, after);
    }
    return -1;
}
