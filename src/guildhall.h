/* guildhall.h — the one header every guildhall source includes first. */
#ifndef GUILDHALL_H
#define GUILDHALL_H

#ifdef HAVE_CONFIG_H
#include "autoconfig.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define GH_VERSION PACKAGE_VERSION
/* GH_SCHEMA_VERSION, the highest migration number in sql/ (/ready stays 503 until it is applied),
 * is written by make into schema_version.h (see Makefile.am): a new migration needs no edit here. */
#include "schema_version.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MUSTCHECK __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))

/* Out of memory is fatal: one policy, in util.c. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* A growable byte buffer; always NUL-terminated. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

uint64_t now_us(void);            /* wall clock, microseconds since the epoch */
uint64_t monotonic_us(void);
/* ISO-8601 UTC: "2025-01-27T12:00:00Z", with millis "…00.000Z", or the scheduler's "…T12:00:00". */
enum ts_style { TS_SECONDS_Z, TS_MILLIS_Z, TS_NAIVE };
void format_timestamp(char out[32], uint64_t us, enum ts_style style);

/* Workers and the scheduler leave with _exit() (none of the master's atexit work), which skips
 * LeakSanitizer's check at exit: in an ASan build (--enable-sanitizers) they run it just before. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK_BEFORE_EXIT() __lsan_do_leak_check()
#else
#define LEAK_CHECK_BEFORE_EXIT() ((void)0)
#endif

#endif
