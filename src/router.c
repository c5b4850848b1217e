/* router.c — path matching against the route table and query-string validation. */
#include "guildhall.h"
#include "router.h"
#include "body.h"

#include <ctype.h>
#include <errno.h>
#include <time.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool url_decode(const char *in, size_t len, bool plus_is_space, char **out)
{
    char *s = xmalloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 1 < len ? hexval((unsigned char)in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval((unsigned char)in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(s);
                return false;
            }
            s[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            s[j++] = ' ';
        } else {
            s[j++] = c;
        }
    }
    s[j] = '\0';
    *out = s;
    return true;
}

/* Length of a path with trailing slashes dropped ("/" stays "/"). */
static size_t path_len(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return n;
}

bool snowflake_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 15 || n > 21)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool slug_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

/* What a {name:type} parameter may hold. A parameter without a type takes any segment. */
static const struct {
    const char *name, *noun;
    bool (*valid)(const char *s);
} path_types[] = {
    {"uuid", "a UUID", uuid_valid},
    {"snowflake", "a Discord id (15 to 21 digits)", snowflake_valid},
    {"slug", "a slug (1 to 64 letters, digits, '-' or '_')", slug_valid},
};

static int path_type(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_LEN(path_types); i++)
        if (strlen(path_types[i].name) == len && !strncmp(path_types[i].name, name, len))
            return (int)i;
    return -1;
}

const char *path_type_noun(const char *type)
{
    int t = type ? path_type(type, strlen(type)) : -1;
    return t < 0 ? "valid" : path_types[t].noun;
}

bool route_path_valid(const char *path, char *err, size_t errlen)
{
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}'), *colon = memchr(p, ':', close ? (size_t)(close - p) : 0);
        if (!close || close == p + 1 || (colon && path_type(colon + 1, (size_t)(close - colon - 1)) < 0)) {
            snprintf(err, errlen, "route %s: malformed or unknown parameter type at '%.20s'", path, p);
            return false;
        }
    }
    return true;
}

/* Checks each typed parameter; on a malformed one names it in params and returns false. */
static bool params_typed_ok(const char *pat, struct path_params *params)
{
    int k = 0;
    for (const char *p = strchr(pat, '{'); p && k < params->n; p = strchr(p + 1, '{'), k++) {
        const char *close = strchr(p, '}'), *colon = memchr(p, ':', (size_t)(close - p));
        if (!colon)
            continue;
        int t = path_type(colon + 1, (size_t)(close - colon - 1));
        if (t >= 0 && !path_types[t].valid(params->values[k])) {
            snprintf(params->bad, sizeof(params->bad), "%.*s", (int)params->name_lens[k], params->names[k]);
            params->bad_type = path_types[t].name;
            return false;
        }
    }
    return true;
}

/* Matches one pattern against a path; fills params on success. */
static bool pattern_match(const char *pat, const char *path, size_t plen, struct path_params *params)
{
    const char *p = path, *end = path + plen;
    params->n = 0;
    while (*pat) {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            const char *seg_end = memchr(p, '/', (size_t)(end - p));
            if (!seg_end)
                seg_end = end;
            if (!close || seg_end == p || params->n >= MAX_PATH_PARAMS)
                goto fail;
            int k = params->n;
            const char *colon = memchr(pat, ':', (size_t)(close - pat));
            params->names[k] = pat + 1;
            params->name_lens[k] = (size_t)((colon ? colon : close) - pat - 1);
            if (!url_decode(p, (size_t)(seg_end - p), false, &params->values[k]))
                goto fail;
            params->n++;
            pat = close + 1;
            p = seg_end;
        } else {
            if (p >= end || *p != *pat)
                goto fail;
            p++;
            pat++;
        }
    }
    if (p == end)
        return true;
fail:
    path_params_free(params);
    return false;
}

enum match_result router_match(const struct route *table, size_t n, const char *method, const char *path,
                               const struct route **found, struct path_params *params, char *allow,
                               size_t allow_len)
{
    size_t plen = path_len(path);
    bool path_known = false;
    size_t used = 0;
    if (allow_len)
        allow[0] = '\0';
    memset(params, 0, sizeof(*params));
    for (size_t i = 0; i < n; i++) {
        struct path_params tmp;
        memset(&tmp, 0, sizeof(tmp));
        if (!pattern_match(table[i].path, path, plen, &tmp))
            continue;
        bool head_as_get = !strcmp(method, "HEAD") && !strcmp(table[i].method, "GET");
        if (!strcmp(table[i].method, method) || head_as_get) {
            path_params_free(params);
            *params = tmp;
            *found = &table[i];
            return params_typed_ok(table[i].path, params) ? MATCH_OK : MATCH_BAD_PARAM;
        }
        path_params_free(&tmp);
        path_known = true;
        if (allow_len && !strstr(allow, table[i].method)) {
            int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", table[i].method);
            if (w > 0 && (size_t)w < allow_len - used)
                used += (size_t)w;
            if (!strcmp(table[i].method, "GET") && !strstr(allow, "HEAD")) {
                w = snprintf(allow + used, allow_len - used, ", HEAD");
                if (w > 0 && (size_t)w < allow_len - used)
                    used += (size_t)w;
            }
        }
    }
    return path_known ? MATCH_BAD_METHOD : MATCH_NO_PATH;
}

void path_params_free(struct path_params *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->values[i]);
        p->values[i] = NULL;
    }
    p->n = 0;
}

const char *path_param(const struct path_params *p, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < p->n; i++)
        if (p->name_lens[i] == len && !strncmp(p->names[i], name, len))
            return p->values[i];
    return NULL;
}

static bool days_in_range(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool parse_timestamp(const char *s, uint64_t *us)
{
    int y = digits(s, 4), mo, d, h = 0, mi = 0, sec = 0;
    long frac_us = 0, offset_s = 0;
    if (y < 1970 || s[4] != '-' || (mo = digits(s + 5, 2)) < 0 || s[7] != '-' || (d = digits(s + 8, 2)) < 0)
        return false;
    const char *p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if ((h = digits(p + 1, 2)) < 0 || p[3] != ':' || (mi = digits(p + 4, 2)) < 0)
            return false;
        p += 6;
        if (*p == ':') {
            if ((sec = digits(p + 1, 2)) < 0)
                return false;
            p += 3;
            if (*p == '.') {
                long scale = 100000;
                p++;
                if (!isdigit((unsigned char)*p))
                    return false;
                for (; isdigit((unsigned char)*p); p++, scale /= 10)
                    frac_us += (*p - '0') * scale;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh = digits(p + 1, 2), om;
            if (oh < 0)
                return false;   /* "…12:00+" ends within the hours: p[3] is past the string */
            const char *q = p + 3;
            if (*q == ':')
                q++;
            om = digits(q, 2);
            if (oh < 0 || om < 0 || oh > 23 || om > 59)
                return false;
            offset_s = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
            p = q + 2;
        }
    }
    if (*p || h > 23 || mi > 59 || sec > 60 || !days_in_range(y, mo, d))
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm) - offset_s;
    if (t < 0)
        return false;
    *us = (uint64_t)t * 1000000u + (uint64_t)frac_us;
    return true;
}

/* Finds name's raw value in a query string; returns its decoded copy or NULL. *bad on a bad escape. */
static char *query_lookup(const char *query, const char *name, bool *bad)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *key;
        if (url_decode(p, klen, true, &key)) {
            bool same = strlen(key) == nlen && !memcmp(key, name, nlen);
            free(key);
            if (same) {
                char *val;
                const char *v = eq ? eq + 1 : p + len;
                size_t vlen = eq ? len - klen - 1 : 0;
                if (!url_decode(v, vlen, true, &val)) {
                    *bad = true;
                    return NULL;
                }
                return val;
            }
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static bool validate_one(const struct qparam *q, char *raw, struct qvalue *v, char *err, size_t errlen)
{
    /* Text values reach PostgreSQL as text parameters, which must be UTF-8 (CONTRACT 4). */
    if ((q->type == Q_STRING || q->type == Q_ENUM) && !utf8_valid(raw, strlen(raw))) {
        snprintf(err, errlen, "Invalid parameter: %s must be valid UTF-8", q->name);
        return false;
    }
    switch (q->type) {
    case Q_INT: {
        char *end;
        errno = 0;
        long n = strtol(raw, &end, 10);
        if (errno == ERANGE && n > 0 && end != raw && !*end)
            n = q->max + (q->strict_max ? 1 : 0);
        else if (errno || end == raw || *end || !(isdigit((unsigned char)raw[0]) || raw[0] == '-')) {
            snprintf(err, errlen, "Invalid parameter: %s must be an integer", q->name);
            return false;
        }
        if (n < q->min || (q->strict_max && n > q->max)) {
            if (q->strict_max)
                snprintf(err, errlen, "Invalid parameter: %s must be between %ld and %ld", q->name, q->min, q->max);
            else
                snprintf(err, errlen, "Invalid parameter: %s must be at least %ld", q->name, q->min);
            return false;
        }
        if (n > q->max)
            n = q->max;
        v->i = n;
        free(raw);
        v->s = xasprintf("%ld", n);
        return true;
    }
    case Q_BOOL:
        if (!strcmp(raw, "true") || !strcmp(raw, "1"))
            v->i = 1;
        else if (!strcmp(raw, "false") || !strcmp(raw, "0"))
            v->i = 0;
        else {
            snprintf(err, errlen, "Invalid parameter: %s must be true or false", q->name);
            return false;
        }
        free(raw);
        v->s = xstrdup(v->i ? "true" : "false");
        return true;
    case Q_ENUM:
        for (const char *const *e = q->values; *e; e++)
            if (!strcmp(*e, raw)) {
                v->s = raw;
                return true;
            }
        {
            struct buf accepted = {0};
            for (const char *const *e = q->values; *e; e++)
                buf_printf(&accepted, "%s%s", e == q->values ? "" : ", ", *e);
            snprintf(err, errlen, "Invalid parameter: %s must be one of: %s", q->name, accepted.data);
            buf_free(&accepted);
        }
        return false;
    case Q_TIMESTAMP:
        if (!parse_timestamp(raw, &v->ts_us)) {
            snprintf(err, errlen, "Invalid parameter: %s must be an ISO-8601 timestamp", q->name);
            return false;
        }
        free(raw);
        v->s = xasprintf("%llu", (unsigned long long)v->ts_us);
        return true;
    case Q_SNOWFLAKE:
        if (!snowflake_valid(raw)) {
            snprintf(err, errlen, "Invalid parameter: %s must be a Discord id (15 to 21 digits)", q->name);
            return false;
        }
        v->s = raw;
        return true;
    case Q_STRING:
        if (q->max > 0 && (long)strlen(raw) > q->max) {
            snprintf(err, errlen, "Invalid parameter: %s is longer than %ld characters", q->name, q->max);
            return false;
        }
        v->s = raw;
        return true;
    }
    return false;
}

bool query_validate(const struct qparam *spec, const char *query, struct qvalue *out, char *err, size_t errlen)
{
    for (int i = 0; spec && spec[i].name; i++)
        memset(&out[i], 0, sizeof(out[i]));
    for (int i = 0; spec && spec[i].name; i++) {
        const struct qparam *q = &spec[i];
        bool bad = false;
        char *raw = query ? query_lookup(query, q->name, &bad) : NULL;
        if (bad) {
            snprintf(err, errlen, "Invalid parameter: %s is not properly encoded", q->name);
            return false;
        }
        if (!raw && q->def)
            raw = xstrdup(q->def);
        if (!raw)
            continue;
        if (!validate_one(q, raw, &out[i], err, errlen)) {
            if (out[i].s != raw)
                free(raw);
            out[i].s = NULL;
            return false;
        }
        out[i].present = true;
    }
    return true;
}

void query_values_free(const struct qparam *spec, struct qvalue *vals)
{
    for (int i = 0; spec && spec[i].name; i++) {
        free(vals[i].s);
        vals[i].s = NULL;
        vals[i].present = false;
    }
}

/* Values are percent-encoded (all but RFC 3986's unreserved characters), so the form reads back as
 * exactly the values it came from: "x&year=2025" as one game_mode is not game_mode=x plus a year. */
static void put_encoded(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_append(out, p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, esc, 3);
        }
    }
}

void query_canonical(const struct qparam *spec, const struct qvalue *vals, struct buf *out)
{
    for (int i = 0; spec && spec[i].name; i++)
        if (vals[i].present) {
            buf_printf(out, "%s%s=", out->len ? "&" : "", spec[i].name);
            put_encoded(out, vals[i].s);
        }
}

bool uuid_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}
