/* body.h — gzip both ways; request body decoding: gzip with a size cap, UTF-8, JSON with a depth cap. Pure. */
#ifndef GH_BODY_H
#define GH_BODY_H

#include <json-c/json.h>

/* Returns 0 and sets *out (NULL for an empty body), or an HTTP status (400, 413, 415) with a
 * client-facing message in err. */
int body_decode(const char *raw, size_t len, const char *content_type, const char *content_encoding,
                long max_bytes, int max_depth, json_object **out, char *err, size_t errlen) MUSTCHECK;
/* body_decode that also names the field at fault in field ("" when it is the body as a whole):
 * a string or key holding "\u0000" or an unpaired surrogate escape is refused (400) with its path,
 * as "PATH must not contain NUL characters". */
int body_decode_field(const char *raw, size_t len, const char *content_type, const char *content_encoding,
                      long max_bytes, int max_depth, json_object **out, char *field, size_t fieldlen, char *err,
                      size_t errlen) MUSTCHECK;
/* Inflates gzip data into out; 0 ok, 413 when it grows past max_bytes, 400 when it is not gzip. */
int gunzip_capped(const char *in, size_t len, long max_bytes, struct buf *out) MUSTCHECK;
/* Appends the gzip of data to out; on failure out is as it was. */
bool gzip_compress(const void *data, size_t len, struct buf *out) MUSTCHECK;
bool utf8_valid(const char *s, size_t len);

#endif
