/* webhook.c — used only by the scheduler process: a request never waits on the internet. */
#include "guildhall.h"
#include "webhook.h"

#include <curl/curl.h>

#define REPLY_MAX 65536

static size_t keep(char *p, size_t size, size_t n, void *ud)
{
    struct buf *reply = ud;
    if (reply && reply->len + size * n <= REPLY_MAX)
        buf_append(reply, p, size * n);
    return size * n;
}

static bool post(const char *url, const char *json, const char *header, int timeout_ms, struct buf *reply,
                 char *err, size_t errlen);

bool webhook_post_reply(const char *url, const char *json, int timeout_ms, struct buf *reply, char *err,
                        size_t errlen)
{
    return post(url, json, NULL, timeout_ms, reply, err, errlen);
}

bool webhook_post(const char *url, const char *json, int timeout_ms, char *err, size_t errlen)
{
    return webhook_post_with(url, json, NULL, timeout_ms, err, errlen);
}

bool webhook_post_with(const char *url, const char *json, const char *header, int timeout_ms, char *err,
                       size_t errlen)
{
    return post(url, json, header, timeout_ms, NULL, err, errlen);
}

bool webhook_unix_url(const char *url, char *sock, size_t socklen, char *http, size_t httplen)
{
    if (strncmp(url, "unix:", 5) != 0)
        return false;
    const char *path = url + 5, *sep = strrchr(path, ':');
    if (!sep || sep == path || sep[1] != '/' || (size_t)(sep - path) >= socklen)
        return false;
    int n = snprintf(http, httplen, "http://localhost%s", sep + 1);
    if (n < 0 || (size_t)n >= httplen)
        return false;
    memcpy(sock, path, (size_t)(sep - path));
    sock[sep - path] = '\0';
    return true;
}

static bool post(const char *url, const char *json, const char *header, int timeout_ms, struct buf *reply,
                 char *err, size_t errlen)
{
    char sock[256], http[1024];
    bool unix_socket = !strncmp(url, "unix:", 5);
    if (unix_socket && !webhook_unix_url(url, sock, sizeof(sock), http, sizeof(http))) {
        snprintf(err, errlen, "malformed unix: URL (unix:/path/to.sock:/location)");
        return false;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "curl_easy_init failed");
        return false;
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (header)
        hdrs = curl_slist_append(hdrs, header);
    curl_easy_setopt(c, CURLOPT_URL, unix_socket ? http : url);
    if (unix_socket)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "guildhall/" GH_VERSION);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    bool ok = false;
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        ok = code >= 200 && code < 300;
        if (!ok)
            snprintf(err, errlen, "HTTP %ld", code);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return ok;
}
