/* log.h — one line per event, prefixed with pid:role, level checked before formatting. */
#ifndef GH_LOG_H
#define GH_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_open(const char *path, const char *level);  /* NULL path: stderr */
void log_set_role(const char *role);                  /* "master", "worker", "scheduler", "admin" */
/* While set (the dispatcher sets it for a request's duration; NULL clears it), every line this
 * process writes carries "rid=ID" after its level, so an error names the request it belongs to. */
void log_set_request_id(const char *rid);
pid_t log_pid(void);                                  /* this process's pid, without a syscall per line */
bool log_enabled(enum log_level level);
void log_write(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
void log_raw_line(const char *line);                  /* access log: already formatted */

#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) do { if (log_enabled(LOG_WARN)) log_write(LOG_WARN, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_enabled(LOG_INFO)) log_write(LOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
