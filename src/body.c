/* body.c — bodies are bounded as sent (the dispatcher checks CONTENT_LENGTH before reading) and
 * again after decompression here, so a gzip bomb costs at most max_bytes. */
#include "guildhall.h"
#include "body.h"

#include <ctype.h>
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
    struct buf inflated = {0};
    int status = 0;
    *out = NULL;
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
    *out = obj;
out:
    buf_free(&inflated);
    return status;
}
