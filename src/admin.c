/* admin.c — guildhall-admin: migrations and API keys. Talks to the same database and memcached
 * as guildhalld, found through the same configuration. */
#include "guildhall.h"
#include "cache.h"
#include "config.h"
#include "keys.h"
#include "routes.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>

#define MIGRATION_LOCK_ID 0x67756c64   /* advisory lock: one migrator at a time */


static void usage(FILE *out)
{
    fprintf(out, "usage: guildhall-admin [-c FILE] migrate [--dir DIR]\n"
                 "       guildhall-admin [-c FILE] keys create --scope S[,S…] [--label L] [--subject user:UUID|agent:UUID]\n"
                 "       guildhall-admin [-c FILE] keys list\n"
                 "       guildhall-admin [-c FILE] keys revoke ID\n"
                 "       guildhall-admin [-c FILE] games add NAME [--id ID] [--thumbnail URL]\n"
                 "       guildhall-admin [-c FILE] games list\n"
                 "scopes: %s\n", routes_all_scopes());
}

/* Straight to PostgreSQL (database_direct_url when set): `migrate` holds a session advisory lock and
 * every command sets `options`, neither of which a transaction pooler allows. */
static PGconn *connect_db(const struct config *cfg)
{
    const char *k[] = {"dbname", "options", "application_name", NULL};
    const char *v[] = {config_direct_url(cfg), "-c TimeZone=UTC -c client_min_messages=warning", "guildhall-admin", NULL};
    PGconn *conn = PQconnectdbParams(k, v, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "guildhall-admin: cannot connect to the database: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static bool exec_ok(PGconn *conn, PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "guildhall-admin: %s failed: %s", what, PQerrorMessage(conn));
    return ok;
}

static bool run_sql(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = exec_ok(conn, res, what);
    PQclear(res);
    return ok;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    if (!b.data)
        buf_puts(&b, "");
    return b.data;
}

static int is_migration(const struct dirent *d)
{
    const char *n = d->d_name;
    size_t len = strlen(n);
    return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' && n[2] >= '0' &&
           n[2] <= '9' && n[3] == '_' && !strcmp(n + len - 4, ".sql");
}

/* Each file runs in its own transaction with its schema_migrations row: all of it or none. */
static int migrate(const struct config *cfg, const char *dir)
{
    PGconn *conn = connect_db(cfg);
    if (!conn)
        return 1;
    struct dirent **files = NULL;
    int n = scandir(dir, &files, is_migration, alphasort), applied = 0, rc = 1;
    if (n < 0) {
        fprintf(stderr, "guildhall-admin: cannot read %s: %s\n", dir, strerror(errno));
        PQfinish(conn);
        return 1;
    }
    char lock[96];
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK_ID);
    if (!run_sql(conn, lock, "locking") ||
        !run_sql(conn, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                       "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                 "creating schema_migrations"))
        goto out;
    for (int i = 0; i < n; i++) {
        char version[8];
        snprintf(version, sizeof(version), "%d", atoi(files[i]->d_name));
        const char *p[] = {version};
        PGresult *res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p,
                                     NULL, NULL, 0);
        bool ok = exec_ok(conn, res, "reading schema_migrations"), done = ok && PQntuples(res) > 0;
        PQclear(res);
        if (!ok)
            goto out;
        if (done)
            continue;
        char *path = xasprintf("%s/%s", dir, files[i]->d_name);
        char *sql = read_file(path);
        free(path);
        if (!sql) {
            fprintf(stderr, "guildhall-admin: cannot read %s\n", files[i]->d_name);
            goto out;
        }
        const char *ip[] = {version, files[i]->d_name};
        ok = run_sql(conn, "BEGIN", "BEGIN") && run_sql(conn, sql, files[i]->d_name);
        free(sql);
        if (ok) {
            res = PQexecParams(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL, ip,
                               NULL, NULL, 0);
            ok = exec_ok(conn, res, "recording the migration");
            PQclear(res);
        }
        if (!ok || !run_sql(conn, "COMMIT", "COMMIT")) {
            run_sql(conn, "ROLLBACK", "ROLLBACK");
            goto out;
        }
        printf("applied %s\n", files[i]->d_name);
        applied++;
    }
    printf("applied %d migration(s)\n", applied);
    rc = 0;
out:
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
    PQfinish(conn);
    return rc;
}

static bool valid_scopes(const char *scopes)
{
    char *copy = xstrdup(scopes), *save = NULL;
    bool ok = *scopes != '\0';
    for (char *s = strtok_r(copy, ",", &save); s && ok; s = strtok_r(NULL, ",", &save)) {
        bool known = scopes_include(routes_all_scopes(), s);
        if (!known)
            fprintf(stderr, "guildhall-admin: unknown scope '%s'\n", s);
        ok = known;
    }
    free(copy);
    return ok;
}

static int audit(PGconn *conn, const char *action, const char *key_id, const char *detail_json)
{
    const char *p[] = {action, detail_json};
    PGresult *res = PQexecParams(conn, "SELECT audit_record('system', '0', $1, 'security', $2::jsonb, NULL, 'guildhall-admin')",
                                 2, NULL, p, NULL, NULL, 0);
    bool ok = exec_ok(conn, res, "writing the audit log");
    PQclear(res);
    (void)key_id;
    return ok ? 0 : 1;
}

/* places_user and places_agent keys act as one user or agent: --subject user:UUID or agent:UUID. */
static bool valid_subject(const char *scopes, const char *subject, char type[8], char id[40])
{
    bool needs_user = scopes_include(scopes, "places_user"), needs_agent = scopes_include(scopes, "places_agent");
    type[0] = id[0] = '\0';
    if (!subject)
        return !needs_user && !needs_agent;
    if (sscanf(subject, "%7[a-z]:%39s", type, id) != 2 || (strcmp(type, "user") && strcmp(type, "agent")))
        return false;
    return (!strcmp(type, "user") && needs_user && !needs_agent) || (!strcmp(type, "agent") && needs_agent && !needs_user);
}

static int keys_create(const struct config *cfg, const char *scopes, const char *label, const char *subject)
{
    char subject_type[8], subject_id[40];
    if (scopes && valid_scopes(scopes) && !valid_subject(scopes, subject, subject_type, subject_id)) {
        fprintf(stderr, "guildhall-admin: a places_user key needs --subject user:UUID and a places_agent key "
                        "--subject agent:UUID (and only those take one)\n");
        return 2;
    }
    if (!scopes || !valid_scopes(scopes)) {
        fprintf(stderr, "guildhall-admin: --scope needs one or more of: %s\n", routes_all_scopes());
        return 2;
    }
    PGconn *conn = connect_db(cfg);
    if (!conn)
        return 1;
    char key[KEY_MAX_LEN], id[KEY_ID_LEN + 1], hex[2 * KEY_HASH_LEN + 1];
    uint8_t hash[KEY_HASH_LEN];
    key_generate(key, id, hash);
    for (int i = 0; i < KEY_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    if (subject_type[0]) {
        const char *sp[] = {subject_type, subject_id};
        PGresult *found = PQexecParams(conn, "SELECT 1 FROM places_users WHERE $1 = 'user' AND id::text = $2 "
                                             "UNION ALL SELECT 1 FROM agents WHERE $1 = 'agent' AND id::text = $2",
                                       2, NULL, sp, NULL, NULL, 0);
        bool exists = exec_ok(conn, found, "looking up the subject") && PQntuples(found) > 0;
        PQclear(found);
        if (!exists) {
            fprintf(stderr, "guildhall-admin: no %s with id %s\n", subject_type, subject_id);
            PQfinish(conn);
            return 2;
        }
    }
    const char *p[] = {id, hex, scopes, label ? label : "", subject_type[0] ? subject_type : NULL,
                       subject_id[0] ? subject_id : NULL};
    int rc = 1;
    if (!run_sql(conn, "BEGIN", "BEGIN"))
        goto out;
    /* the subject columns arrive with the places migration; a key without one needs no such column */
    PGresult *res = subject_type[0]
        ? PQexecParams(conn, "INSERT INTO api_keys (id, secret_hash, scopes, label, subject_type, subject_id) "
                             "VALUES ($1, decode($2, 'hex'), string_to_array($3, ','), $4, $5, $6::uuid)",
                       6, NULL, p, NULL, NULL, 0)
        : PQexecParams(conn, "INSERT INTO api_keys (id, secret_hash, scopes, label) "
                             "VALUES ($1, decode($2, 'hex'), string_to_array($3, ','), $4)",
                       4, NULL, p, NULL, NULL, 0);
    bool ok = exec_ok(conn, res, "creating the key");
    PQclear(res);
    const char *dp[] = {id, scopes, label ? label : ""};
    res = ok ? PQexecParams(conn, "SELECT jsonb_build_object('key_id', $1::text, 'scopes', $2::text, 'label', $3::text)::text",
                            3, NULL, dp, NULL, NULL, 0)
             : NULL;
    ok = ok && exec_ok(conn, res, "building the audit entry") && audit(conn, "keys.create", id, PQgetvalue(res, 0, 0)) == 0;
    PQclear(res);
    if (ok && run_sql(conn, "COMMIT", "COMMIT")) {
        printf("%s\n", key);
        fprintf(stderr, "key %s created with scope %s; it is shown only once\n", id, scopes);
        rc = 0;
    } else {
        run_sql(conn, "ROLLBACK", "ROLLBACK");
    }
out:
    PQfinish(conn);
    return rc;
}

static int keys_list(const struct config *cfg)
{
    PGconn *conn = connect_db(cfg);
    if (!conn)
        return 1;
    PGresult *res = PQexec(conn, "SELECT id, array_to_string(scopes, ','), label, "
                                 "to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                                 "coalesce(to_char(revoked_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-') "
                                 "FROM api_keys ORDER BY created_at, id");
    int rc = 1;
    if (exec_ok(conn, res, "listing keys")) {
        printf("%-12s  %-24s  %-20s  %-20s  %s\n", "id", "scopes", "label", "created_at", "revoked_at");
        for (int i = 0; i < PQntuples(res); i++)
            printf("%-12s  %-24s  %-20s  %-20s  %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                   PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
        rc = 0;
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

static int keys_revoke(const struct config *cfg, const char *id)
{
    PGconn *conn = connect_db(cfg);
    if (!conn)
        return 1;
    const char *p[] = {id};
    int rc = 1;
    run_sql(conn, "BEGIN", "BEGIN");
    PGresult *res = PQexecParams(conn, "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                                 1, NULL, p, NULL, NULL, 0);
    bool ok = exec_ok(conn, res, "revoking the key");
    bool found = ok && atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (!found) {
        if (ok)
            fprintf(stderr, "guildhall-admin: no active key with id %s\n", id);
        run_sql(conn, "ROLLBACK", "ROLLBACK");
        PQfinish(conn);
        return ok ? 3 : 1;
    }
    res = PQexecParams(conn, "SELECT jsonb_build_object('key_id', $1::text)::text", 1, NULL, p, NULL, NULL, 0);
    ok = exec_ok(conn, res, "building the audit entry") && audit(conn, "keys.revoke", id, PQgetvalue(res, 0, 0)) == 0;
    PQclear(res);
    if (ok && run_sql(conn, "COMMIT", "COMMIT")) {
        /* Workers cache key lookups for at most key_cache_seconds; dropping the entry makes the
         * revocation immediate wherever memcached is reachable. */
        struct mc *mc = mc_open(cfg->memcached_servers, cfg->memcached_timeout_ms);
        char mkey[32];
        snprintf(mkey, sizeof(mkey), "key:%s", id);
        mc_delete(mc, mkey);
        mc_close(mc);
        printf("revoked %s\n", id);
        rc = 0;
    } else {
        run_sql(conn, "ROLLBACK", "ROLLBACK");
    }
    PQfinish(conn);
    return rc;
}

/* A Roblox game (sql/017_roblox.sql): its id is made when none is given. */
static int games_add(const struct config *cfg, const char *name, const char *id, const char *thumbnail)
{
    PGconn *conn = connect_db(cfg);
    if (!conn)
        return 1;
    const char *p[] = {id, name, thumbnail};
    int rc = 1;
    run_sql(conn, "BEGIN", "BEGIN");
    PGresult *res = PQexecParams(conn, "SELECT g.id, jsonb_build_object('game_id', g.id)::text "
                                       "FROM roblox_add_game($1, $2, $3) g WHERE g.id IS NOT NULL",
                                 3, NULL, p, NULL, NULL, 0);
    if (exec_ok(conn, res, "adding the game")) {
        if (PQntuples(res) == 0) {
            fprintf(stderr, "guildhall-admin: a game with id %s already exists\n", id);
            rc = 3;
        } else if (audit(conn, "roblox.game_create", NULL, PQgetvalue(res, 0, 1)) == 0 &&
                   run_sql(conn, "COMMIT", "COMMIT")) {
            printf("%s\n", PQgetvalue(res, 0, 0));
            rc = 0;
        }
    }
    PQclear(res);
    if (rc != 0)
        run_sql(conn, "ROLLBACK", "ROLLBACK");
    PQfinish(conn);
    return rc;
}

static int games_list(const struct config *cfg)
{
    PGconn *conn = connect_db(cfg);
    if (!conn)
        return 1;
    PGresult *res = PQexec(conn,
        "SELECT g.id, g.name, to_char(g.created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "count(k.id) FILTER (WHERE k.revoked_at IS NULL OR k.revoked_at > now()), "
        "coalesce(to_char(max(k.last_used_at), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-') "
        "FROM roblox_games g LEFT JOIN roblox_game_keys k ON k.game_id = g.id GROUP BY g.id ORDER BY g.created_at, g.id");
    int rc = 1;
    if (exec_ok(conn, res, "listing games")) {
        printf("%-24s  %-24s  %-20s  %-11s  %s\n", "id", "name", "created_at", "active_keys", "key_last_used_at");
        for (int i = 0; i < PQntuples(res); i++)
            printf("%-24s  %-24s  %-20s  %-11s  %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                   PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
        rc = 0;
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-c")) {
        path = argv[i + 1];
        i += 2;
    }
    if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
        usage(i >= argc ? stderr : stdout);
        return i >= argc ? 2 : 0;
    }
    if (!path)
        path = config_default_path();
    struct config cfg;
    char err[512] = "too many declared settings";
    if (!routes_declare_settings() || !config_load(&cfg, path, err, sizeof(err))) {
        fprintf(stderr, "guildhall-admin: %s\n", err);
        return 2;
    }
    if (!keys_init()) {
        fprintf(stderr, "guildhall-admin: libsodium failed to initialise\n");
        return 1;
    }
    int rc = 2;
    const char *cmd = argv[i], *sub = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(cmd, "migrate")) {
        const char *dir = cfg.sql_dir;
        if (i + 2 < argc && !strcmp(argv[i + 1], "--dir"))
            dir = argv[i + 2];
        rc = migrate(&cfg, dir);
    } else if (!strcmp(cmd, "keys") && !strcmp(sub, "create")) {
        const char *scope = NULL, *label = NULL, *subject = NULL;
        for (int j = i + 2; j + 1 < argc; j += 2) {
            if (!strcmp(argv[j], "--scope"))
                scope = argv[j + 1];
            else if (!strcmp(argv[j], "--label"))
                label = argv[j + 1];
            else if (!strcmp(argv[j], "--subject"))
                subject = argv[j + 1];
        }
        rc = keys_create(&cfg, scope, label, subject);
    } else if (!strcmp(cmd, "keys") && !strcmp(sub, "list")) {
        rc = keys_list(&cfg);
    } else if (!strcmp(cmd, "keys") && !strcmp(sub, "revoke") && i + 2 < argc) {
        rc = keys_revoke(&cfg, argv[i + 2]);
    } else if (!strcmp(cmd, "games") && !strcmp(sub, "add") && i + 2 < argc) {
        const char *id = NULL, *thumbnail = NULL;
        for (int j = i + 3; j + 1 < argc; j += 2) {
            if (!strcmp(argv[j], "--id"))
                id = argv[j + 1];
            else if (!strcmp(argv[j], "--thumbnail"))
                thumbnail = argv[j + 1];
        }
        rc = games_add(&cfg, argv[i + 2], id, thumbnail);
    } else if (!strcmp(cmd, "games") && !strcmp(sub, "list")) {
        rc = games_list(&cfg);
    } else {
        usage(stderr);
    }
    config_free(&cfg);
    return rc;
}
