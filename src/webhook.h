/* webhook.h — one outbound HTTP POST of a JSON body (libcurl), with a timeout. */
#ifndef GH_WEBHOOK_H
#define GH_WEBHOOK_H

/* Every url may also be "unix:/path/to.sock:/location": an HTTP POST of /location over that unix
 * socket (how the outbox reaches nginx's nchan publisher, which listens on no TCP port). */

/* Splits a "unix:SOCKET:/LOCATION" url into the socket path and "http://localhost/LOCATION";
 * false if url is not of that form or does not fit. */
bool webhook_unix_url(const char *url, char *sock, size_t socklen, char *http, size_t httplen);

/* Returns true on a 2xx answer; otherwise writes a short reason to err. */
bool webhook_post(const char *url, const char *json, int timeout_ms, char *err, size_t errlen) MUSTCHECK;
/* The same with one extra request header line ("Name: value"; NULL for none). */
bool webhook_post_with(const char *url, const char *json, const char *header, int timeout_ms, char *err,
                       size_t errlen) MUSTCHECK;

/* The same, keeping up to 64 KiB of the reply's body in reply. */
bool webhook_post_reply(const char *url, const char *json, int timeout_ms, struct buf *reply, char *err,
                        size_t errlen) MUSTCHECK;

#endif
