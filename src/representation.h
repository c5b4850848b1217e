/* representation.h — a cacheable answer the way HTTP caches and browsers want it (CONTRACT 6): the
 * body compressed once when it is rendered (and stored so in memcached), a strong ETag per
 * encoding, and 304 for a matching If-None-Match. */
#ifndef GH_REPRESENTATION_H
#define GH_REPRESENTATION_H

struct request;

#define REPRESENTATION_TAG_LEN 32   /* hex of a 128-bit BLAKE2b of the stored bytes */

/* Bodies smaller than this are sent as they are (gzip would save little), as nginx's gzip_min_length. */
#define REPRESENTATION_GZIP_MIN 1024

/* After the handler rendered r->out: gzips a compressible body (JSON or text, REPRESENTATION_GZIP_MIN
 * bytes or more) unless the handler gave it gzipped (r->out_gzipped), and fills r->out_tag from the
 * bytes as they will be stored. */
void representation_render(struct request *r);

/* Before the answer goes out (a fresh render or one read back from the cache): picks the encoding
 * the client accepts (a gzipped body is inflated for a client that does not take gzip), adds ETag,
 * Last-Modified (r->out_last_modified), Vary and Content-Encoding, and turns the answer into a 304
 * without a body when If-None-Match names the ETag it would carry or, without an If-None-Match, when
 * If-Modified-Since is not older than Last-Modified (RFC 9110 13.2.2). */
void representation_send(struct request *r);

/* Pure parts, for the unit tests. */
bool accepts_gzip(const char *accept_encoding);
/* Whether an If-None-Match header value matches etag (weak comparison, as RFC 9110 13.1.2 asks). */
bool etag_matches(const char *if_none_match, const char *etag);
/* RFC 9110's IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), 30 bytes with the NUL. */
#define HTTP_DATE_LEN 30
void http_date_format(char out[HTTP_DATE_LEN], int64_t unix_s);
/* Parses an IMF-fixdate; false for anything else (an obsolete or malformed date is then ignored,
 * as RFC 9110 13.1.3 allows). */
bool http_date_parse(const char *s, int64_t *unix_s);

#endif
