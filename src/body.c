/* body.c — gzip both ways, and request bodies. Bodies are bounded as sent (the dispatcher checks
 * CONTENT_LENGTH before reading) and again after decompression here, so a gzip bomb costs at most
 * max_bytes. */
#include "guildhall.h"
#include "body.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>
#include <zlib.h>

int gunzip_capped(const char *in, size_t len, long max_bytes, struct buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return 400;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    char chunk[16384];
    int rc, status = 0;
    do {
        zs.next_out = (Bytef *)chunk;
        zs.avail_out = sizeof(chunk);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            status = 400;
            break;
        }
        size_t got = sizeof(chunk) - zs.avail_out;
        if ((long)(out->len + got) > max_bytes) {
            status = 413;
            break;
        }
        buf_append(out, chunk, got);
    } while (rc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
    if (!status && (rc != Z_STREAM_END || zs.avail_in != 0))
        status = 400;   /* truncated, or bytes after the gzip stream */
    inflateEnd(&zs);
    return status;
}

bool gzip_compress(const void *data, size_t len, struct buf *out)
{
    if (len > UINT_MAX)
        return false;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 16 + MAX_WBITS: a gzip header and trailer, which is what Content-Encoding: gzip means. */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    size_t start = out->len;
    unsigned char chunk[16384];
    int rc;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        rc = deflate(&zs, Z_FINISH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        buf_append(out, chunk, sizeof(chunk) - zs.avail_out);
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        out->len = start;   /* a failed call leaves the caller's buffer as it was */
        if (out->data)
            out->data[start] = '\0';
        return false;
    }
    return true;
}

bool utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* json-c 0.16 accepts single-quoted strings, NaN and Infinity even in strict mode. Outside
 * strings JSON has only punctuation, numbers and the words true, false and null: anything else
 * means the body is not JSON. */
static bool has_non_json_tokens(const char *s, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '\'') {
            return true;
        } else if (isalpha((unsigned char)c)) {
            size_t j = i;
            while (j < len && isalpha((unsigned char)s[j]))
                j++;
            bool exponent = (c == 'e' || c == 'E') && j == i + 1 && i > 0 && isdigit((unsigned char)s[i - 1]);
            bool word = (j - i == 4 && (!strncmp(s + i, "true", 4) || !strncmp(s + i, "null", 4))) ||
                        (j - i == 5 && !strncmp(s + i, "false", 5));
            if (!exponent && !word)
                return true;
            i = j - 1;
        }
    }
    return false;
}

static int hex4(const char *s, const char *end)
{
    if (end - s < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

enum string_fault { SF_NONE, SF_NUL, SF_SURROGATE };

/* The string literal opening at s[0] ('"'): what json-c would turn into a C string it should not.
 * "\u0000" (a C string ends there) and a surrogate escape without its pair (json-c stores U+FFFD
 * in its place). Sets *close to the closing quote. */
static enum string_fault string_fault(const char *s, const char *end, const char **close)
{
    enum string_fault fault = SF_NONE;
    const char *p = s + 1;
    while (p < end && *p != '"') {
        if (*p == '\0' && !fault)
            fault = SF_NUL;
        if (*p != '\\') {
            p++;
            continue;
        }
        if (p + 1 < end && p[1] == 'u') {
            int u = hex4(p + 2, end);
            p += 6;
            if (fault || u < 0)
                continue;
            if (u == 0) {
                fault = SF_NUL;
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                fault = SF_SURROGATE;
            } else if (u >= 0xD800 && u <= 0xDBFF) {
                int lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, end) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    fault = SF_SURROGATE;
                else
                    p += 6;
            }
        } else {
            p += 2;
        }
    }
    *close = p < end ? p : end;
    return fault;
}

/* Where the walk of a parsed body is: one frame per open object or array. */
struct frame {
    bool object, expect_key;
    size_t path_len;   /* the path's length where this container's members start */
    long index;
};

static void path_set(char *path, size_t cap, size_t at, const char *fmt, ...) PRINTF_LIKE(4, 5);

static void path_set(char *path, size_t cap, size_t at, const char *fmt, ...)
{
    if (at >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path + at, cap - at, fmt, ap);
    va_end(ap);
}

/* A string anywhere in a body (a value or a key) must reach C whole: no NUL, no lone surrogate
 * (CONTRACT 4: strings are valid UTF-8). Runs on text json-c has accepted, so the structure is
 * valid JSON. On a fault, names the field by its path ("schedule_config.day_of_week", "items[2]";
 * a key by its path with the key as written) in field and err and returns false. */
static bool strings_whole(const char *raw, size_t len, int max_depth, char *field, size_t fieldlen, char *err,
                          size_t errlen)
{
    const char *p = raw, *end = raw + len;
    size_t cap = max_depth > 0 ? (size_t)max_depth + 1 : 1;
    struct frame *stack = xcalloc(cap, sizeof(*stack));
    int depth = 0, skipped = 0;
    char path[128] = "";
    bool ok = true;
    for (; p < end && ok; p++) {
        struct frame *top = depth ? &stack[depth - 1] : NULL;
        switch (*p) {
        case '{':
        case '[':
            if ((size_t)depth >= cap) {
                skipped++;   /* json-c refused deeper bodies already */
                break;
            }
            stack[depth] = (struct frame){.object = *p == '{', .expect_key = *p == '{', .path_len = strlen(path)};
            if (*p == '[')
                path_set(path, sizeof(path), stack[depth].path_len, "[0]");
            depth++;
            break;
        case '}':
        case ']':
            if (skipped) {
                skipped--;
            } else if (top) {
                path[top->path_len < sizeof(path) ? top->path_len : sizeof(path) - 1] = '\0';
                depth--;
            }
            break;
        case ',':
            if (top && top->object) {
                top->expect_key = true;
            } else if (top) {
                top->index++;
                path_set(path, sizeof(path), top->path_len, "[%ld]", top->index);
            }
            break;
        case '"': {
            const char *close;
            enum string_fault fault = string_fault(p, end, &close);
            bool key = top && top->object && top->expect_key;
            if (key) {
                top->expect_key = false;
                int n = (int)(close - p - 1);
                path_set(path, sizeof(path), top->path_len, "%s%.*s", top->path_len ? "." : "", n, p + 1);
            }
            if (fault) {
                snprintf(field, fieldlen, "%s", path);
                snprintf(err, errlen, "%s %s", path[0] ? path : "Request body",
                         fault == SF_NUL ? "must not contain NUL characters"
                                         : "must be valid UTF-8: it holds an unpaired surrogate escape");
                ok = false;
            }
            p = close;
            break;
        }
        default:
            break;
        }
    }
    free(stack);
    return ok;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return (n == 16 && !strncasecmp(ct, "application/json", 16));
}

int body_decode(const char *raw, size_t len, const char *content_type, const char *content_encoding,
                long max_bytes, int max_depth, json_object **out, char *err, size_t errlen)
{
    char field[128];
    return body_decode_field(raw, len, content_type, content_encoding, max_bytes, max_depth, out, field,
                             sizeof(field), err, errlen);
}

int body_decode_field(const char *raw, size_t len, const char *content_type, const char *content_encoding,
                      long max_bytes, int max_depth, json_object **out, char *field, size_t fieldlen, char *err,
                      size_t errlen)
{
    struct buf inflated = {0};
    int status = 0;
    *out = NULL;
    if (fieldlen)
        field[0] = '\0';
    if (len == 0)
        return 0;
    if ((long)len > max_bytes) {
        snprintf(err, errlen, "Request body exceeds %ld bytes", max_bytes);
        return 413;
    }
    if (!is_json_type(content_type)) {
        snprintf(err, errlen, "Content-Type must be application/json");
        return 415;
    }
    if (content_encoding && *content_encoding && strcasecmp(content_encoding, "identity") != 0) {
        if (strcasecmp(content_encoding, "gzip") != 0) {
            snprintf(err, errlen, "Unsupported Content-Encoding: only gzip is accepted");
            return 415;
        }
        status = gunzip_capped(raw, len, max_bytes, &inflated);
        if (status) {
            snprintf(err, errlen, status == 413 ? "Request body exceeds %ld bytes after decompression"
                                                : "Request body is not valid gzip", max_bytes);
            goto out;
        }
        raw = inflated.data ? inflated.data : "";
        len = inflated.len;
    }
    if (!utf8_valid(raw, len)) {
        snprintf(err, errlen, "Request body is not valid UTF-8");
        status = 400;
        goto out;
    }
    json_tokener *tok = json_tokener_new_ex(max_depth);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, raw, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (jerr == json_tokener_success && end < len &&
           (raw[end] == ' ' || raw[end] == '\n' || raw[end] == '\r' || raw[end] == '\t'))
        end++;
    if (jerr != json_tokener_success || end != len || has_non_json_tokens(raw, len)) {
        json_object_put(obj);
        if (jerr == json_tokener_error_depth)
            snprintf(err, errlen, "Request body nests deeper than %d levels", max_depth);
        else
            snprintf(err, errlen, "Request body is not valid JSON");
        status = 400;
        goto out;
    }
    if (!strings_whole(raw, len, max_depth, field, fieldlen, err, errlen)) {
        json_object_put(obj);
        status = 400;
        goto out;
    }
    *out = obj;
out:
    buf_free(&inflated);
    return status;
}
