/* log.c — writes whole lines with one write(2) so processes sharing a file never interleave. */
#include "guildhall.h"
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_threshold = LOG_INFO;
static char log_role[16] = "guildhall";
static pid_t log_pid_cached;
static char log_request[72];   /* the request this process is serving ("" between requests) */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_open(const char *path, const char *level)
{
    for (size_t i = 0; level && i < ARRAY_LEN(level_names); i++)
        if (strcmp(level, level_names[i]) == 0)
            log_threshold = (enum log_level)i;
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "guildhall: cannot open log file %s, logging to stderr\n", path);
        return;
    }
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
}

void log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role);
    log_pid_cached = getpid();   /* every process names its role right after fork */
}

void log_set_request_id(const char *rid)
{
    size_t n = 0;
    /* nginx's $request_id is hex; anything else is cut at the first byte that could break a line */
    for (; rid && rid[n] && n < sizeof(log_request) - 1; n++) {
        unsigned char c = (unsigned char)rid[n];
        if (c <= ' ' || c >= 0x7f)
            break;
        log_request[n] = (char)c;
    }
    log_request[n] = '\0';
}

pid_t log_pid(void)
{
    return log_pid_cached ? log_pid_cached : getpid();
}

bool log_enabled(enum log_level level)
{
    return level <= log_threshold;
}

static void write_line(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(log_fd, line, len);
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    char ts[32];
    format_timestamp(ts, now_us(), TS_MILLIS_Z);
    int n = snprintf(line, sizeof(line), "%d:%s %s %s %s%s%s", (int)log_pid(), log_role, ts,
                     level_names[level], log_request[0] ? "rid=" : "", log_request, log_request[0] ? " " : "");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* one entry, one line: libpq's messages end in a newline and put "LINE 1: …" on the next */
    while (len > (size_t)n && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    write_line(line, len);
}

void log_raw_line(const char *line)
{
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "%s\n", line);
    write_line(buf, n < 0 ? 0 : ((size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1));
}
