/* envelope.h — error bodies (CONTRACT section 3): the dispatcher and handlers raise an error, the
 * family's descriptor renders it. Pure. */
#ifndef GH_ENVELOPE_H
#define GH_ENVELOPE_H

#include "family.h"

/* The family for paths no family owns: {"error": message}. */
extern const struct family family_generic;

/* Renders an error body in f's envelope. errs/n_errs: failing body fields (may be NULL/0). */
void envelope_render(const struct family *f, int status, const char *message, const struct field_error *errs,
                     int n_errs, struct buf *out);
/* The error class of an HTTP status (E_INVALID for other 4xx, E_INTERNAL for other 5xx). */
enum error_code envelope_class(int status);
/* o as compact JSON, appended to out; takes ownership of o. */
void envelope_emit(json_object *o, struct buf *out);
const char *http_reason(int status);

#endif
