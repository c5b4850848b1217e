/* envelope.h — each family's error body (CONTRACT section 3). Pure. */
#ifndef GH_ENVELOPE_H
#define GH_ENVELOPE_H

#include "router.h"

/* The family's code for an HTTP status ("INVALID_PARAMS", "E004", …; NULL for code-less families). */
const char *envelope_code(enum family f, int status);
/* Renders the error body. field (may be NULL) names the input at fault, for roblox's details list. */
void envelope_render(enum family f, int status, const char *message, const char *field, struct buf *out);
const char *http_reason(int status);

#endif
