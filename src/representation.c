/* representation.c — see representation.h. nginx does not compress an answer that already has a
 * Content-Encoding, so a gzipped body goes through it as stored. */
#include "guildhall.h"
#include "representation.h"
#include "body.h"
#include "request.h"

#include <ctype.h>
#include <sodium.h>
#include <strings.h>
#include <time.h>

/* What a gzipped cache entry may inflate to: far above any answer guildhall renders. */
#define INFLATED_MAX (64L * 1024 * 1024)

static bool compressible(const char *type)
{
    return type && (!strncmp(type, "application/json", 16) || !strncmp(type, "text/", 5));
}

void representation_render(struct request *r)
{
    const char *type = r->out_type ? r->out_type : "application/json";
    if (!r->out_gzipped && r->out.len >= REPRESENTATION_GZIP_MIN && compressible(type)) {
        struct buf gz = {0};
        if (gzip_compress(r->out.data, r->out.len, &gz)) {
            buf_free(&r->out);
            r->out = gz;
            r->out_gzipped = true;
        } else {
            buf_free(&gz);
        }
    }
    unsigned char h[REPRESENTATION_TAG_LEN / 2];
    crypto_generichash(h, sizeof(h), (const unsigned char *)(r->out.data ? r->out.data : ""), r->out.len, NULL, 0);
    sodium_bin2hex(r->out_tag, sizeof(r->out_tag), h, sizeof(h));
}

/* The next comma-separated element of a header list: its bounds, without surrounding blanks. */
static const char *next_element(const char *s, const char **start, size_t *len)
{
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    if (!*s)
        return NULL;
    const char *end = strchr(s, ',');
    if (!end)
        end = s + strlen(s);
    const char *e = end;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *start = s;
    *len = (size_t)(e - s);
    return end;
}

/* The q of a "coding;q=0.5" element: 1 without one, 0 for q=0, q=0.0, … */
static bool q_nonzero(const char *params, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (params[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && (params[j] == ' ' || params[j] == '\t'))
            j++;
        if (j + 1 < len && tolower((unsigned char)params[j]) == 'q' && params[j + 1] == '=') {
            for (j += 2; j < len; j++)
                if (params[j] >= '1' && params[j] <= '9')
                    return true;
            return false;
        }
    }
    return true;
}

bool accepts_gzip(const char *accept_encoding)
{
    if (!accept_encoding)
        return false;
    int gzip = -1, any = -1;   /* -1: not named; else whether its q is above 0 */
    const char *s = accept_encoding, *el;
    size_t len;
    while ((s = next_element(s, &el, &len)) != NULL) {
        size_t name = 0;
        while (name < len && el[name] != ';' && el[name] != ' ' && el[name] != '\t')
            name++;
        bool ok = q_nonzero(el + name, len - name);
        if ((name == 4 && !strncasecmp(el, "gzip", 4)) || (name == 6 && !strncasecmp(el, "x-gzip", 6)))
            gzip = ok;
        else if (name == 1 && el[0] == '*')
            any = ok;
    }
    return gzip >= 0 ? gzip == 1 : any == 1;
}

bool etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag)
        return false;
    size_t etag_len = strlen(etag);
    const char *s = if_none_match, *el;
    size_t len;
    while ((s = next_element(s, &el, &len)) != NULL) {
        if (len == 1 && el[0] == '*')
            return true;
        if (len >= 2 && el[0] == 'W' && el[1] == '/') {
            el += 2;
            len -= 2;
        }
        if (len == etag_len && !memcmp(el, etag, len))
            return true;
    }
    return false;
}

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void http_date_format(char out[HTTP_DATE_LEN], int64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char wide[64];   /* room for any int the compiler cannot bound; a year past 9999 is cut, never overrun */
    snprintf(wide, sizeof wide, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday], tm.tm_mday,
             month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, wide, HTTP_DATE_LEN - 1);
    out[HTTP_DATE_LEN - 1] = '\0';
}

static int two_digits(const char *s)
{
    return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

bool http_date_parse(const char *s, int64_t *unix_s)
{
    /* "Sun, 06 Nov 1994 08:49:37 GMT": every field at a fixed offset */
    if (!s || strlen(s) != HTTP_DATE_LEN - 1 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
        return false;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (!memcmp(s + 8, month_names[i], 3))
            mon = i;
    int day = two_digits(s + 5), hh = two_digits(s + 17), mm = two_digits(s + 20), ss = two_digits(s + 23);
    int y_hi = two_digits(s + 12), y_lo = two_digits(s + 14);
    if (mon < 0 || day < 1 || day > 31 || y_hi < 0 || y_lo < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60)
        return false;
    struct tm tm = {.tm_year = y_hi * 100 + y_lo - 1900, .tm_mon = mon, .tm_mday = day,
                    .tm_hour = hh, .tm_min = mm, .tm_sec = ss};
    time_t t = timegm(&tm);
    if (tm.tm_mday != day)   /* 31 Feb normalised into March */
        return false;
    *unix_s = (int64_t)t;
    return true;
}

/* Whether the client's copy is current: If-None-Match decides when present, else If-Modified-Since. */
static bool not_modified(const struct request *r, const char *etag)
{
    if (r->if_none_match)
        return etag_matches(r->if_none_match, etag);
    int64_t since;
    return r->out_last_modified > 0 && http_date_parse(r->if_modified_since, &since) &&
           r->out_last_modified <= since;
}

void representation_send(struct request *r)
{
    bool send_gzip = r->out_gzipped && accepts_gzip(r->accept_encoding);
    if (r->out_gzipped && !send_gzip) {
        struct buf plain = {0};
        if (gunzip_capped(r->out.data ? r->out.data : "", r->out.len, INFLATED_MAX, &plain) != 0) {
            buf_free(&plain);
            fail(r, 500, "Internal error");   /* a corrupt entry: never sent as if it were the body */
            r->cache_control = NULL;
            return;
        }
        buf_free(&r->out);
        r->out = plain;
    }
    char etag[REPRESENTATION_TAG_LEN + 8];
    snprintf(etag, sizeof(etag), "\"%s%s\"", r->out_tag, send_gzip ? "-gz" : "");
    add_header(r, "ETag: %s", etag);
    if (r->out_last_modified > 0) {
        char date[HTTP_DATE_LEN];
        http_date_format(date, r->out_last_modified);
        add_header(r, "Last-Modified: %s", date);
    }
    if (r->out_gzipped)
        add_header(r, "Vary: Accept-Encoding");
    if (not_modified(r, etag)) {
        r->status = 304;
        buf_reset(&r->out);
        return;
    }
    if (send_gzip)
        add_header(r, "Content-Encoding: gzip");
}
