/* test_schedule.c — cron parsing and next-run times, schedule configs and their defaults.
 * Every expected instant in these tables is a known answer worked out outside this code: the cron
 * rows by a brute-force minute matcher over Python's datetime, cross-checked with croniter (they
 * agree on every row; croniter only raises where we expect none); the daily and weekly rows by
 * stepping Python datetime days. The randomised test compares cron_next with a minute-by-minute
 * search over gmtime_r. */
#include "unit.h"
#include <time.h>
#include "scheduler/schedule.h"
#include "body.h"

/* "2025-01-15T10:07:30" (UTC) to Unix seconds; "none" is -1. */
static int64_t ts(const char *iso)
{
    struct tm tm;
    if (strcmp(iso, "none") == 0)
        return -1;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6)
        fail_msg("bad timestamp in test table: %s", iso);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void iso(int64_t t, char out[32])
{
    if (t == -1) {
        strcpy(out, "none");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* ---- cron_next ---- */

struct next_case {
    const char *expr, *after, *want;
};

static const struct next_case next_cases[] = {
    {"*/15 * * * *", "2025-01-15T10:07:30", "2025-01-15T10:15:00"},
    {"*/15 * * * *", "2025-01-15T10:45:00", "2025-01-15T11:00:00"},     /* on a match: the next one */
    {"*/15 * * * *", "2025-01-15T23:59:59", "2025-01-16T00:00:00"},
    {"0 8-18 * * 1-5", "2025-01-17T19:30:00", "2025-01-20T08:00:00"},   /* Friday evening → Monday */
    {"0 8-18 * * 1-5", "2025-01-17T18:00:00", "2025-01-20T08:00:00"},
    {"0 8-18 * * 1-5", "2025-01-20T12:10:00", "2025-01-20T13:00:00"},
    {"30 14 * * mon,wed,fri", "2025-01-15T14:30:00", "2025-01-17T14:30:00"},
    {"30 14 * * mon,wed,fri", "2025-01-17T15:00:00", "2025-01-20T14:30:00"},
    {"30 14 * * MON,Wed,fri", "2025-01-14T09:00:00", "2025-01-15T14:30:00"},
    {"0 0 1 * *", "2025-01-31T12:00:00", "2025-02-01T00:00:00"},
    {"0 0 1 * *", "2025-12-15T00:00:00", "2026-01-01T00:00:00"},
    {"0 0 1 * *", "2024-02-01T00:00:00", "2024-03-01T00:00:00"},
    {"0 0 31 * *", "2025-03-31T00:00:00", "2025-05-31T00:00:00"},       /* April has 30 days */
    {"0 0 31 * *", "2025-04-01T00:00:00", "2025-05-31T00:00:00"},
    {"0 0 31 * *", "2025-05-31T00:00:00", "2025-07-31T00:00:00"},       /* and June */
    {"0 0 29 2 *", "2025-03-01T00:00:00", "2028-02-29T00:00:00"},       /* next leap year */
    {"0 0 29 2 *", "2024-01-01T00:00:00", "2024-02-29T00:00:00"},
    {"0 12 * * 0", "2025-01-15T00:00:00", "2025-01-19T12:00:00"},
    {"0 12 * * 7", "2025-01-15T00:00:00", "2025-01-19T12:00:00"},       /* 7 is Sunday too */
    {"0 12 * * 0", "2025-01-19T12:00:00", "2025-01-26T12:00:00"},
    {"0 12 * * 7", "2025-01-19T12:00:00", "2025-01-26T12:00:00"},
    {"0 0 13 * 5", "2025-01-01T00:00:00", "2025-01-03T00:00:00"},       /* the 13th OR a Friday */
    {"0 0 13 * 5", "2025-01-03T00:00:00", "2025-01-10T00:00:00"},
    {"0 0 13 * 5", "2025-06-10T00:00:00", "2025-06-13T00:00:00"},
    {"0 0 1 jan *", "2025-06-15T08:00:00", "2026-01-01T00:00:00"},
    {"0 0 1 JAN *", "2025-01-01T00:00:00", "2026-01-01T00:00:00"},
    {"* * * * *", "2025-12-31T23:59:00", "2026-01-01T00:00:00"},         /* year end */
    {"* * * * *", "2025-12-31T23:59:59", "2026-01-01T00:00:00"},
    {"* * * * *", "2025-01-15T10:00:00", "2025-01-15T10:01:00"},
    {"0 0 31 2 *", "2025-01-01T00:00:00", "none"},                       /* never */
    {"5 4 * * sun", "2025-01-15T00:00:00", "2025-01-19T04:05:00"},
    {"5 4 * * sun", "2025-01-19T04:05:00", "2025-01-26T04:05:00"},
    {"0 22 * * 1-5/2", "2025-01-15T22:00:00", "2025-01-17T22:00:00"},    /* Mon, Wed, Fri */
    {"0 22 * * 1-5/2", "2025-01-17T22:30:00", "2025-01-20T22:00:00"},
    {"1-30/5 * * * *", "2025-01-15T10:27:00", "2025-01-15T11:01:00"},
    {"10/20 * * * *", "2025-01-15T10:51:00", "2025-01-15T11:10:00"},     /* N/step is N-59/step */
    {"0 9 * * mon-fri", "2025-01-18T10:00:00", "2025-01-20T09:00:00"},
    {"0 6 * * 1/2", "2025-01-18T10:00:00", "2025-01-19T06:00:00"},       /* 1,3,5,7: 7 is Sunday */
    {"0 0 * jun-aug *", "2025-09-01T00:00:00", "2026-06-01T00:00:00"},
    {"0 0 * */3 *", "2025-02-15T00:00:00", "2025-04-01T00:00:00"},       /* months 1,4,7,10 */
    {"15 10 1,15 * *", "2025-01-15T10:15:00", "2025-02-01T10:15:00"},
    {"0 0 29 * *", "2025-02-01T00:00:00", "2025-03-29T00:00:00"},
    {"0 0 29 * *", "2100-02-01T00:00:00", "2100-03-29T00:00:00"},       /* 2100 is not a leap year */
    {"59 23 31 12 *", "2025-06-01T00:00:00", "2025-12-31T23:59:00"},
    {"0 0 * * 6,0", "2025-01-15T00:00:00", "2025-01-18T00:00:00"},
    {"0 12 1 1 1", "2025-01-02T00:00:00", "2025-01-06T12:00:00"},       /* OR: a Monday before Feb 1 */
    {"0 0 1 * mon", "2025-01-02T00:00:00", "2025-01-06T00:00:00"},
    {"0 0 * * fri-sun", "2025-01-13T00:00:00", "2025-01-17T00:00:00"},
    {"0 0 1 1 *", "1969-06-01T00:00:00", "1970-01-01T00:00:00"},         /* before the epoch */
    {"30 6 * * *", "1969-12-31T07:00:00", "1970-01-01T06:30:00"},
};

static void cron_next_table(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(next_cases); i++) {
        const struct next_case *c = &next_cases[i];
        struct cron cr;
        char err[256] = "", got[32];
        if (!cron_parse(c->expr, &cr, err, sizeof(err)))
            fail_msg("%s: %s", c->expr, err);
        int64_t t = cron_next(&cr, ts(c->after));
        iso(t, got);
        if (t != ts(c->want))
            fail_msg("\"%s\" after %s: got %s, want %s", c->expr, c->after, got, c->want);
    }
}

static void cron_equivalent_spellings(void **state)
{
    static const char *const pairs[][2] = {
        {"0 12 * * 0", "0 12 * * 7"},          {"0 12 * * sun", "0 12 * * 0"},
        {"@daily", "0 0 * * *"},                {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},               {"@weekly", "0 0 * * 0"},
        {"@monthly", "0 0 1 * *"},              {"@yearly", "0 0 1 1 *"},
        {"  @annually ", "0 0 1 1 *"},          {"0 9 * * mon-sun", "0 9 * * 1-7"},
        {"*/20 * * * *", "0,20,40 * * * *"},    {"0 0 * jan-mar *", "0 0 * 1,2,3 *"},
        {"\t0  8-18\t* *   1-5 ", "0 8-18 * * 1-5"}, {"0 0 * * 0-6", "0 0 * * 1-7"},
    };
    for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
        struct cron a, b;
        char err[256] = "";
        if (!cron_parse(pairs[i][0], &a, err, sizeof(err)) || !cron_parse(pairs[i][1], &b, err, sizeof(err)))
            fail_msg("%s / %s: %s", pairs[i][0], pairs[i][1], err);
        if (memcmp(&a, &b, sizeof(a)) != 0)
            fail_msg("\"%s\" and \"%s\" should parse the same", pairs[i][0], pairs[i][1]);
    }

    struct cron c;
    char err[256];
    assert_true(cron_parse("0 12 * * 7", &c, err, sizeof(err)));
    assert_int_equal(c.weekdays, 0x01);
    assert_true(cron_parse("* * * * *", &c, err, sizeof(err)));
    assert_int_equal(c.minutes, (1ULL << 60) - 1);
    assert_int_equal(c.hours, (1u << 24) - 1);
    assert_int_equal(c.days, 0xfffffffeu);
    assert_int_equal(c.months, 0x1ffe);
    assert_int_equal(c.weekdays, 0x7f);
    assert_false(c.days_restricted);
    assert_false(c.weekdays_restricted);
    assert_true(cron_parse("0 0 13 * 5", &c, err, sizeof(err)));
    assert_true(c.days_restricted);
    assert_true(c.weekdays_restricted);
    assert_int_equal(c.days, 1u << 13);
    assert_int_equal(c.weekdays, 1u << 5);
}

/* ---- cron_parse errors ---- */

struct parse_error_case {
    const char *expr, *want;   /* want: the whole message */
};

static const struct parse_error_case parse_errors[] = {
    {"* * * *", "cron_expression: expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
    {"* * * * * *", "cron_expression: expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
    {"", "cron_expression: expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
    {"   ", "cron_expression: expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
    {"60 * * * *", "cron_expression: minute field: 60 is out of range 0-59"},
    {"* 24 * * *", "cron_expression: hour field: 24 is out of range 0-23"},
    {"* 25 * * *", "cron_expression: hour field: 25 is out of range 0-23"},
    {"* * 0 * *", "cron_expression: day-of-month field: 0 is out of range 1-31"},
    {"* * 32 * *", "cron_expression: day-of-month field: 32 is out of range 1-31"},
    {"* * * 13 *", "cron_expression: month field: 13 is out of range 1-12"},
    {"* * * 0 *", "cron_expression: month field: 0 is out of range 1-12"},
    {"* * * * 8", "cron_expression: day-of-week field: 8 is out of range 0-7"},
    {"99999999999999999999 * * * *", "cron_expression: minute field: 99999999999999999999 is out of range 0-59"},
    {"5-1 * * * *", "cron_expression: minute field: range 5-1 is reversed"},
    {"0 0 * * fri-mon", "cron_expression: day-of-week field: range fri-mon is reversed"},
    {"*/0 * * * *", "cron_expression: minute field: step 0 is out of range 1-59"},
    {"* */24 * * *", "cron_expression: hour field: step 24 is out of range 1-23"},
    {"*/ * * * *", "cron_expression: minute field: a step must be a number"},
    {"a * * * *", "cron_expression: minute field: 'a' is not a valid value"},
    {"* * * foo *", "cron_expression: month field: 'foo' is not a valid value"},
    {"* * * * monday", "cron_expression: day-of-week field: 'monday' is not a valid value"},
    {"* * * jan-mon *", "cron_expression: month field: 'mon' is not a valid value"},
    {"0 0 * mon *", "cron_expression: month field: 'mon' is not a valid value"},
    {"1,,2 * * * *", "cron_expression: minute field: empty item in list"},
    {"1, * * * *", "cron_expression: minute field: empty item in list"},
    {",1 * * * *", "cron_expression: minute field: empty item in list"},
    {"* * * * mon-", "cron_expression: day-of-week field: a value is missing"},
    {"-1 * * * *", "cron_expression: minute field: unexpected character '-'"},
    {"1x * * * *", "cron_expression: minute field: unexpected character 'x' in '1x'"},
    {"1-2-3 * * * *", "cron_expression: minute field: unexpected character '-' in '1-2-3'"},
    {"*-5 * * * *", "cron_expression: minute field: unexpected character '-' in '*-5'"},
    {"0 0 * * 1?", "cron_expression: day-of-week field: unexpected character '?' in '1?'"},
    {"0 0 L * *", "cron_expression: day-of-month field: 'L' is not a valid value"},
    {"@reboot", "cron_expression: '@reboot' is not supported (use 5 fields, or @hourly, @daily, @weekly, "
                "@monthly, @yearly)"},
    {"@daily 5", "cron_expression: '@daily 5' is not supported (use 5 fields, or @hourly, @daily, @weekly, "
                 "@monthly, @yearly)"},
};

static void cron_parse_errors(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(parse_errors); i++) {
        struct cron c;
        char err[256] = "";
        if (cron_parse(parse_errors[i].expr, &c, err, sizeof(err)))
            fail_msg("\"%s\" parsed, want: %s", parse_errors[i].expr, parse_errors[i].want);
        if (strcmp(err, parse_errors[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", parse_errors[i].expr, err, parse_errors[i].want);
    }
    /* a tiny or missing error buffer is not written past */
    struct cron c;
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_false(cron_parse("* 24 * * *", &c, small, 5));
    assert_string_equal(small, "cron");
    assert_int_equal(small[5], 'x');
    assert_false(cron_parse("* 24 * * *", &c, NULL, 0));
    assert_false(cron_parse(NULL, &c, NULL, 0));
}

/* ---- cron_next against a brute-force minute search ---- */

static bool brute_matches(const struct cron *c, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    bool dom = (c->days >> tm.tm_mday) & 1u, dow = (c->weekdays >> tm.tm_wday) & 1u;
    bool day = c->days_restricted && c->weekdays_restricted ? dom || dow : dom && dow;
    return ((c->minutes >> tm.tm_min) & 1u) && ((c->hours >> tm.tm_hour) & 1u) &&
           ((c->months >> (tm.tm_mon + 1)) & 1u) && day;
}

static void cron_next_matches_brute_force(void **state)
{
    /* dense enough that a minute-by-minute search stays short */
    static const char *const exprs[] = {
        "*/7 * * * *", "0 */5 * * *", "30 2-4 * * sat,sun", "*/10 9-17 * * 1-5", "0 0 */3 * *",
        "15 6 1,15 * mon", "45 23 * * 5", "0 12 28-31 * *", "5,35 * 1-7 * 1",
    };
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 150; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *expr = exprs[(seed >> 33) % ARRAY_LEN(exprs)];
        int64_t after = 1704067200 + (int64_t)((seed >> 7) % (3ULL * 365 * 86400));   /* 2024..2026 */
        struct cron c;
        char err[256];
        assert_true(cron_parse(expr, &c, err, sizeof(err)));
        int64_t got = cron_next(&c, after);
        int64_t want = (after / 60 + 1) * 60;
        while (!brute_matches(&c, want))
            want += 60;
        if (got != want) {
            char a[32], g[32], w[32];
            iso(after, a);
            iso(got, g);
            iso(want, w);
            fail_msg("\"%s\" after %s: got %s, brute force says %s", expr, a, g, w);
        }
    }
}

static void cron_next_performance(void **state)
{
    static const char *const exprs[] = {
        "*/15 * * * *", "0 8-18 * * 1-5", "30 14 * * mon,wed,fri", "0 0 1 * *", "0 0 31 * *",
        "0 0 29 2 *", "0 0 13 * 5", "0 0 31 2 *", "59 23 31 12 *", "5 4 * * sun",
    };
    struct cron c[ARRAY_LEN(exprs)];
    char err[256];
    for (size_t i = 0; i < ARRAY_LEN(exprs); i++)
        assert_true(cron_parse(exprs[i], &c[i], err, sizeof(err)));
    int64_t t = 1735689600;   /* 2025-01-01 */
    int found = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t after = t + (int64_t)i * 7919;
        int64_t n = cron_next(&c[i % ARRAY_LEN(exprs)], after);
        if (n != -1) {
            assert_true(n > after);
            assert_int_equal(n % 60, 0);
            found++;
        }
    }
    assert_int_equal(found, 9000);   /* only "0 0 31 2 *" never runs */
}

/* ---- schedule_type_parse ---- */

static void type_names(void **state)
{
    static const struct {
        const char *name;
        enum schedule_type type;
    } ok[] = {
        {"daily", SCHEDULE_DAILY}, {"weekly", SCHEDULE_WEEKLY}, {"interval", SCHEDULE_INTERVAL}, {"cron", SCHEDULE_CRON},
    };
    char err[128];
    enum schedule_type t;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        assert_true(schedule_type_parse(ok[i].name, &t, err, sizeof(err)));
        assert_int_equal(t, ok[i].type);
        assert_string_equal(schedule_type_name(t), ok[i].name);
    }
    static const char *const bad[] = {"Daily", "monthly", "", " cron", "cron "};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        assert_false(schedule_type_parse(bad[i], &t, err, sizeof(err)));
        assert_string_equal(err, "schedule_type must be one of: daily, weekly, interval, cron");
    }
    assert_false(schedule_type_parse(NULL, &t, err, sizeof(err)));
}

/* ---- schedule_parse ---- */

struct config_case {
    enum schedule_type type;
    const char *config;   /* JSON text, or NULL for no config */
    const char *want;     /* normalized JSON, plain */
};

static const struct config_case config_ok[] = {
    {SCHEDULE_DAILY, NULL, "{\"hour\":8,\"minute\":0}"},
    {SCHEDULE_DAILY, "{}", "{\"hour\":8,\"minute\":0}"},
    {SCHEDULE_DAILY, "null", "{\"hour\":8,\"minute\":0}"},
    {SCHEDULE_DAILY, "{\"minute\":30}", "{\"hour\":8,\"minute\":30}"},
    {SCHEDULE_DAILY, "{\"minute\":59,\"hour\":23}", "{\"hour\":23,\"minute\":59}"},
    {SCHEDULE_DAILY, "{\"hour\":0,\"minute\":0}", "{\"hour\":0,\"minute\":0}"},
    {SCHEDULE_WEEKLY, NULL, "{\"hour\":8,\"minute\":0,\"day_of_week\":\"mon\"}"},
    {SCHEDULE_WEEKLY, "{\"hour\":14,\"minute\":30,\"day_of_week\":\"mon,wed,fri\"}",
     "{\"hour\":14,\"minute\":30,\"day_of_week\":\"mon,wed,fri\"}"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"FRI,mon\"}", "{\"hour\":8,\"minute\":0,\"day_of_week\":\"mon,fri\"}"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"sun,sat,Mon,mon\"}",
     "{\"hour\":8,\"minute\":0,\"day_of_week\":\"mon,sat,sun\"}"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\" tue , thu \"}", "{\"hour\":8,\"minute\":0,\"day_of_week\":\"tue,thu\"}"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"mon-fri\"}",
     "{\"hour\":8,\"minute\":0,\"day_of_week\":\"mon,tue,wed,thu,fri\"}"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"sat-sun,wed\"}",
     "{\"hour\":8,\"minute\":0,\"day_of_week\":\"wed,sat,sun\"}"},
    {SCHEDULE_INTERVAL, NULL, "{\"hours\":1,\"minutes\":0}"},
    {SCHEDULE_INTERVAL, "{\"hours\":2,\"minutes\":0}", "{\"hours\":2,\"minutes\":0}"},
    {SCHEDULE_INTERVAL, "{\"minutes\":30}", "{\"hours\":1,\"minutes\":30}"},
    {SCHEDULE_INTERVAL, "{\"hours\":0,\"minutes\":1}", "{\"hours\":0,\"minutes\":1}"},
    {SCHEDULE_INTERVAL, "{\"hours\":8760,\"minutes\":59}", "{\"hours\":8760,\"minutes\":59}"},
    {SCHEDULE_CRON, "{\"cron_expression\":\"0 8-18 * * 1-5\"}", "{\"cron_expression\":\"0 8-18 * * 1-5\"}"},
    {SCHEDULE_CRON, "{\"cron_expression\":\"@daily\"}", "{\"cron_expression\":\"@daily\"}"},
};

static json_object *parse_json(const char *text)
{
    if (!text)
        return NULL;
    json_object *o = json_tokener_parse(text);
    if (!o && strcmp(text, "null") != 0)
        fail_msg("bad JSON in test table: %s", text);
    return o;
}

static void config_defaults_and_normalisation(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(config_ok); i++) {
        const struct config_case *c = &config_ok[i];
        json_object *config = parse_json(c->config), *norm = NULL;
        struct schedule s;
        char err[256] = "";
        if (!schedule_parse(c->type, config, &s, &norm, err, sizeof(err)))
            fail_msg("%s %s: %s", schedule_type_name(c->type), c->config ? c->config : "(none)", err);
        const char *got = json_object_to_json_string_ext(norm, JSON_C_TO_STRING_PLAIN);
        if (strcmp(got, c->want) != 0)
            fail_msg("%s %s: got %s, want %s", schedule_type_name(c->type), c->config ? c->config : "(none)", got,
                     c->want);
        assert_int_equal(s.type, c->type);
        json_object_put(norm);
        json_object_put(config);
    }
}

static void config_fills_the_struct(void **state)
{
    struct schedule s;
    json_object *norm, *config;
    char err[256];

    assert_true(schedule_parse(SCHEDULE_DAILY, NULL, &s, &norm, err, sizeof(err)));
    assert_int_equal(s.hour, 8);
    assert_int_equal(s.minute, 0);
    json_object_put(norm);

    config = parse_json("{\"hour\":14,\"minute\":30,\"day_of_week\":\"FRI,mon,wed\"}");
    assert_true(schedule_parse(SCHEDULE_WEEKLY, config, &s, &norm, err, sizeof(err)));
    assert_int_equal(s.hour, 14);
    assert_int_equal(s.minute, 30);
    assert_int_equal(s.weekdays, (1 << 1) | (1 << 3) | (1 << 5));
    json_object_put(norm);
    json_object_put(config);

    config = parse_json("{\"day_of_week\":\"sun\"}");
    assert_true(schedule_parse(SCHEDULE_WEEKLY, config, &s, &norm, err, sizeof(err)));
    assert_int_equal(s.weekdays, 1);
    json_object_put(norm);
    json_object_put(config);

    config = parse_json("{\"hours\":2,\"minutes\":15}");
    assert_true(schedule_parse(SCHEDULE_INTERVAL, config, &s, &norm, err, sizeof(err)));
    assert_int_equal(s.interval_s, 2 * 3600 + 15 * 60);
    json_object_put(norm);
    json_object_put(config);

    assert_true(schedule_parse(SCHEDULE_INTERVAL, NULL, &s, &norm, err, sizeof(err)));
    assert_int_equal(s.interval_s, 3600);
    json_object_put(norm);

    config = parse_json("{\"cron_expression\":\"0 0 13 * 5\"}");
    assert_true(schedule_parse(SCHEDULE_CRON, config, &s, &norm, err, sizeof(err)));
    assert_true(s.cron.days_restricted && s.cron.weekdays_restricted);
    assert_int_equal(s.cron.weekdays, 1 << 5);
    json_object_put(norm);
    json_object_put(config);
}

struct config_error_case {
    enum schedule_type type;
    const char *config;
    const char *want;   /* the whole message */
};

static const struct config_error_case config_errors[] = {
    {SCHEDULE_DAILY, "{\"hour\":24}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":-1}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":\"8\"}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":8.5}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":8.0}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":true}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":null}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"hour\":99999999999999999999}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_DAILY, "{\"minute\":60}", "schedule_config.minute must be an integer between 0 and 59"},
    {SCHEDULE_DAILY, "{\"minute\":[0]}", "schedule_config.minute must be an integer between 0 and 59"},
    {SCHEDULE_DAILY, "{\"day_of_week\":\"mon\"}", "schedule_config.day_of_week is not a known field"},
    {SCHEDULE_DAILY, "{\"hours\":1}", "schedule_config.hours is not a known field"},
    {SCHEDULE_DAILY, "[]", "schedule_config must be an object"},
    {SCHEDULE_DAILY, "\"8:00\"", "schedule_config must be an object"},
    {SCHEDULE_WEEKLY, "{\"hour\":25,\"day_of_week\":\"mon\"}", "schedule_config.hour must be an integer between 0 and 23"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"\"}",
     "schedule_config.day_of_week has an empty item; use names mon..sun separated by commas, like \"mon,wed,fri\""},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"mon,,fri\"}",
     "schedule_config.day_of_week has an empty item; use names mon..sun separated by commas, like \"mon,wed,fri\""},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"mon,\"}",
     "schedule_config.day_of_week has an empty item; use names mon..sun separated by commas, like \"mon,wed,fri\""},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"monday\"}",
     "schedule_config.day_of_week: 'monday' is not a day; use names mon..sun separated by commas, like "
     "\"mon,wed,fri\""},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"1\"}",
     "schedule_config.day_of_week: '1' is not a day; use names mon..sun separated by commas, like \"mon,wed,fri\""},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"mon-\"}",
     "schedule_config.day_of_week: 'mon-' is not a day; use names mon..sun separated by commas, like "
     "\"mon,wed,fri\""},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":\"fri-mon\"}",
     "schedule_config.day_of_week: range 'fri-mon' is reversed (the week runs mon..sun)"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":1}", "schedule_config.day_of_week must be a string"},
    {SCHEDULE_WEEKLY, "{\"day_of_week\":[\"mon\"]}",
     "schedule_config.day_of_week must be a string"},
    {SCHEDULE_WEEKLY, "{\"days\":\"mon\"}", "schedule_config.days is not a known field"},
    {SCHEDULE_INTERVAL, "{\"hours\":0,\"minutes\":0}",
     "schedule_config.hours and schedule_config.minutes must add up to at least 1 minute"},
    {SCHEDULE_INTERVAL, "{\"hours\":0}",
     "schedule_config.hours and schedule_config.minutes must add up to at least 1 minute"},
    {SCHEDULE_INTERVAL, "{\"hours\":8761}", "schedule_config.hours must be an integer between 0 and 8760"},
    {SCHEDULE_INTERVAL, "{\"hours\":-1}", "schedule_config.hours must be an integer between 0 and 8760"},
    {SCHEDULE_INTERVAL, "{\"minutes\":60}", "schedule_config.minutes must be an integer between 0 and 59"},
    {SCHEDULE_INTERVAL, "{\"minutes\":\"30\"}", "schedule_config.minutes must be an integer between 0 and 59"},
    {SCHEDULE_INTERVAL, "{\"hour\":1}", "schedule_config.hour is not a known field"},
    {SCHEDULE_CRON, NULL, "Missing required field: schedule_config.cron_expression"},
    {SCHEDULE_CRON, "{}", "Missing required field: schedule_config.cron_expression"},
    {SCHEDULE_CRON, "{\"cron_expression\":5}", "schedule_config.cron_expression must be a string"},
    {SCHEDULE_CRON, "{\"cron_expression\":null}", "schedule_config.cron_expression must be a string"},
    {SCHEDULE_CRON, "{\"cron_expression\":\"* 25 * * *\"}",
     "schedule_config.cron_expression: hour field: 25 is out of range 0-23"},
    {SCHEDULE_CRON, "{\"cron_expression\":\"* * * *\"}",
     "schedule_config.cron_expression: expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
    {SCHEDULE_CRON, "{\"cron_expression\":\"0 8 * * *\",\"hour\":8}", "schedule_config.hour is not a known field"},
};

/* Regression: messages quoting the input cut it by bytes, so "\xc3\xa9 * * * *" got a message quoting
 * one byte of \xc3\xa9 (invalid UTF-8 in a JSON reply). A character is quoted whole or not at all. */
static void error_quotes_cut_at_character_boundaries(void **state)
{
    static const struct parse_error_case cases[] = {
        {"\xc3\xa9 * * * *", "cron_expression: minute field: unexpected character '\xc3\xa9'"},
        {"1\xc3\xa9 * * * *", "cron_expression: minute field: unexpected character '\xc3\xa9' in '1\xc3\xa9'"},
        {"* * * * mon-\xc3\xa9", "cron_expression: day-of-week field: unexpected character '\xc3\xa9'"},
        /* "@" and 20 × é: the 32-byte quote would end inside the 16th é */
        {"@\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "cron_expression: '@\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9' is not supported (use 5 fields, or @hourly, @daily, "
                    "@weekly, @monthly, @yearly)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron c;
        char err[256] = "";
        assert_false(cron_parse(cases[i].expr, &c, err, sizeof(err)));
        if (strcmp(err, cases[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].expr, err, cases[i].want);
        assert_true(utf8_valid(err, strlen(err)));
    }
    /* a buffer that ends inside a character drops the character */
    struct cron c;
    char small[55];
    assert_false(cron_parse("\xc3\xa9 * * * *", &c, small, sizeof(small)));
    assert_string_equal(small, "cron_expression: minute field: unexpected character '");

    json_object *config = parse_json("{\"day_of_week\":\"x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}"), *norm;
    struct schedule s;
    char err[256] = "";
    assert_false(schedule_parse(SCHEDULE_WEEKLY, config, &s, &norm, err, sizeof(err)));
    assert_string_equal(err, "schedule_config.day_of_week: 'x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9' is not a day; use names mon..sun separated "
                             "by commas, like \"mon,wed,fri\"");
    json_object_put(config);
}

static void config_errors_name_the_field(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(config_errors); i++) {
        const struct config_error_case *c = &config_errors[i];
        json_object *config = parse_json(c->config), *norm = (json_object *)&norm;
        struct schedule s;
        char err[256] = "";
        if (schedule_parse(c->type, config, &s, &norm, err, sizeof(err)))
            fail_msg("%s %s was accepted, want: %s", schedule_type_name(c->type), c->config, c->want);
        if (strcmp(err, c->want) != 0)
            fail_msg("%s %s: got \"%s\", want \"%s\"", schedule_type_name(c->type), c->config, err, c->want);
        assert_null(norm);
        json_object_put(config);
    }

    /* too long an expression is refused before parsing */
    char expr[300];
    memset(expr, '*', sizeof(expr) - 1);
    expr[sizeof(expr) - 1] = '\0';
    json_object *config = json_object_new_object(), *norm;
    json_object_object_add(config, "cron_expression", json_object_new_string(expr));
    struct schedule s;
    char err[256];
    assert_false(schedule_parse(SCHEDULE_CRON, config, &s, &norm, err, sizeof(err)));
    assert_string_equal(err, "schedule_config.cron_expression must be a string of 1 to 256 characters");
    json_object_put(config);
}

/* ---- schedule_next ---- */

struct next_run_case {
    const char *type;
    const char *config;
    const char *after, *want;
};

static const struct next_run_case next_runs[] = {
    {"daily", "{\"hour\":8,\"minute\":0}", "2025-01-15T07:59:59", "2025-01-15T08:00:00"},   /* before */
    {"daily", "{\"hour\":8,\"minute\":0}", "2025-01-15T08:00:00", "2025-01-16T08:00:00"},   /* at */
    {"daily", "{\"hour\":8,\"minute\":0}", "2025-01-15T08:00:01", "2025-01-16T08:00:00"},   /* after */
    {"daily", "{}", "2025-01-15T23:59:59", "2025-01-16T08:00:00"},
    {"daily", "{\"hour\":0}", "2024-02-28T00:00:00", "2024-02-29T00:00:00"},                /* leap day */
    {"daily", "{\"hour\":0}", "2024-02-29T00:00:00", "2024-03-01T00:00:00"},
    {"daily", "{\"hour\":23,\"minute\":30}", "2024-02-28T23:30:00", "2024-02-29T23:30:00"},
    {"daily", "{\"hour\":12}", "2025-02-28T12:00:00", "2025-03-01T12:00:00"},
    {"daily", "{\"hour\":12}", "2100-02-28T12:00:00", "2100-03-01T12:00:00"},
    {"daily", "{}", "2025-12-31T09:00:00", "2026-01-01T08:00:00"},
    {"daily", "{}", "1969-12-31T10:00:00", "1970-01-01T08:00:00"},
    {"weekly", "{\"hour\":14,\"minute\":30,\"day_of_week\":\"mon,wed,fri\"}", "2025-01-17T14:30:00",
     "2025-01-20T14:30:00"},   /* Friday → Monday across the week end */
    {"weekly", "{\"hour\":14,\"minute\":30,\"day_of_week\":\"mon,wed,fri\"}", "2025-01-19T20:00:00",
     "2025-01-20T14:30:00"},
    {"weekly", "{\"hour\":14,\"minute\":30,\"day_of_week\":\"mon,wed,fri\"}", "2025-01-15T14:29:00",
     "2025-01-15T14:30:00"},
    {"weekly", "{\"hour\":9,\"day_of_week\":\"sun\"}", "2025-12-27T10:00:00", "2025-12-28T09:00:00"},
    {"weekly", "{}", "2025-12-29T08:00:00", "2026-01-05T08:00:00"},   /* on the run: a week later */
    {"weekly", "{\"hour\":0,\"day_of_week\":\"thu\"}", "2025-12-31T12:00:00", "2026-01-01T00:00:00"},
    {"weekly", "{\"hour\":12,\"day_of_week\":\"thu\"}", "2024-02-27T12:00:00", "2024-02-29T12:00:00"},
    {"weekly", "{\"hour\":6,\"minute\":15,\"day_of_week\":\"sat,sun\"}", "2025-01-18T06:15:00",
     "2025-01-19T06:15:00"},
    {"cron", "{\"cron_expression\":\"0 8-18 * * 1-5\"}", "2025-01-17T19:30:00", "2025-01-20T08:00:00"},
    {"cron", "{\"cron_expression\":\"0 0 31 2 *\"}", "2025-01-17T19:30:00", "none"},
};

static void next_run_table(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(next_runs); i++) {
        const struct next_run_case *c = &next_runs[i];
        enum schedule_type type;
        struct schedule s;
        json_object *config = parse_json(c->config), *norm;
        char err[256] = "", got[32];
        assert_true(schedule_type_parse(c->type, &type, err, sizeof(err)));
        if (!schedule_parse(type, config, &s, &norm, err, sizeof(err)))
            fail_msg("%s %s: %s", c->type, c->config, err);
        int64_t t = schedule_next(&s, ts(c->after), 0);
        iso(t, got);
        if (t != ts(c->want))
            fail_msg("%s %s after %s: got %s, want %s", c->type, c->config, c->after, got, c->want);
        json_object_put(norm);
        json_object_put(config);
    }
}

static void next_run_interval(void **state)
{
    struct schedule s;
    memset(&s, 0, sizeof(s));
    s.type = SCHEDULE_INTERVAL;
    s.interval_s = 3600;
    assert_int_equal(schedule_next(&s, 1000, 1000), 4600);   /* the anchor itself is not a run */
    assert_int_equal(schedule_next(&s, 4599, 1000), 4600);
    assert_int_equal(schedule_next(&s, 4600, 1000), 8200);
    assert_int_equal(schedule_next(&s, 5000, 1000), 8200);
    assert_int_equal(schedule_next(&s, 0, 1000), 4600);      /* before the anchor: the first run */
    assert_int_equal(schedule_next(&s, 1000 + 100 * 3600, 1000), 1000 + 101 * 3600);
    /* a job enabled at 2025-01-15T10:20:00 every 1h30: runs at 11:50, 13:20, ... */
    s.interval_s = 5400;
    assert_int_equal(schedule_next(&s, ts("2025-01-15T12:00:00"), ts("2025-01-15T10:20:00")),
                     ts("2025-01-15T13:20:00"));
    s.interval_s = 0;
    assert_int_equal(schedule_next(&s, 5000, 1000), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cron_next_table),
        cmocka_unit_test(cron_equivalent_spellings),
        cmocka_unit_test(cron_parse_errors),
        cmocka_unit_test(error_quotes_cut_at_character_boundaries),
        cmocka_unit_test(cron_next_matches_brute_force),
        cmocka_unit_test(cron_next_performance),
        cmocka_unit_test(type_names),
        cmocka_unit_test(config_defaults_and_normalisation),
        cmocka_unit_test(config_fills_the_struct),
        cmocka_unit_test(config_errors_name_the_field),
        cmocka_unit_test(next_run_table),
        cmocka_unit_test(next_run_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
