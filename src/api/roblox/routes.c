/* routes.c — the Roblox family: {"error": …}, and for invalid bodies
 * {"error":"Validation failed","details":[{"field","message"},…]} listing every failing field. */
#include "guildhall.h"
#include "api/roblox/roblox.h"
#include "envelope.h"
#include "schema.h"

static void roblox_render_error(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object();
    if (e->status == 400 && e->n_errs > 0) {
        json_object *list = json_object_new_array();
        for (int i = 0; i < e->n_errs; i++) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "field", json_object_new_string(e->errs[i].field));
            json_object_object_add(d, "message", json_object_new_string(e->errs[i].message));
            json_object_array_add(list, d);
        }
        json_object_object_add(o, "error", json_object_new_string("Validation failed"));
        json_object_object_add(o, "details", list);
    } else {
        json_object_object_add(o, "error", json_object_new_string(e->message));
    }
    envelope_emit(o, out);
}

static const char *const roblox_prefixes[] = {"/api/v1", "/api/game-ads", NULL};
static const char *const roblox_scopes[] = {"roblox_admin", NULL};

const struct family family_roblox = {
    .name = "roblox",
    .prefixes = roblox_prefixes,
    .render_error = roblox_render_error,
    .key_header = KEY_BEARER,
    .bad_path_id_status = 404,
    .max_field_errors = 16,
    .scopes = roblox_scopes,
};
