/* main.c — guildhalld: parse the command line, load the configuration, bind the FastCGI socket,
 * then hand over to the master. */
#include "guildhall.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "process.h"
#include "routes.h"

#include <fcgiapp.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: guildhalld [-c FILE] [--workers N] [--scheduler on|off] [--listen ADDR]\n"
                 "                  [--print-routes] [--print-nginx-families] [--print-config-docs] [-t|--check-config]\n"
                 "                  [--version]\n");
}

static void print_routes(void)
{
    size_t n;
    const struct route *t = routes_table(&n);
    for (size_t i = 0; i < n; i++)
        if (!(t[i].flags & ROUTE_TEST_ONLY))
            printf("%s %s %s\n", t[i].method, t[i].path, t[i].family->name);
}

/* The entries of nginx's $gh_family map (nginx/site.conf.in), which gives nginx's own error pages
 * the envelope of the family a path falls under: one regex over the request line ("GET /path?q
 * HTTP/1.1", or an absolute http://host/path) per prefix a family owns, the longest first, because
 * nginx tries regexes in order and guildhalld takes the longest prefix. */
static int print_nginx_families(void)
{
    const char *prefix[256], *family[256];
    size_t count = 0, n;
    const struct family *const *f = routes_families(&n);
    for (size_t i = 0; i < n; i++)
        for (const char *const *p = f[i]->prefixes; p && *p && count < ARRAY_LEN(prefix); p++) {
            if ((*p)[0] != '/' || strspn(*p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-") !=
                                      strlen(*p)) {
                fprintf(stderr, "guildhalld: prefix %s of %s cannot go into an nginx regex\n", *p, f[i]->name);
                return 1;
            }
            size_t at = count++;
            while (at > 0 && strlen(prefix[at - 1]) < strlen(*p)) {   /* insertion: longest first, stable */
                prefix[at] = prefix[at - 1];
                family[at] = family[at - 1];
                at--;
            }
            prefix[at] = *p;
            family[at] = f[i]->name;
        }
    printf("# from `guildhalld --print-nginx-families` (the prefixes of src/api/*/routes.c)\n");
    for (size_t i = 0; i < count; i++) {
        int len = (int)strlen(prefix[i]);
        if (len > 1 && prefix[i][len - 1] == '/')
            len--;
        printf("\"~^[^ ]+ (https?://[^/ ]*)?%.*s([/? ]|$)\" %s;\n", len, prefix[i], family[i]);
    }
    return 0;
}

/* libfcgi reads its poll waits from the environment; ours come from the configuration. */
static void tune_libfcgi(const struct config *cfg)
{
    char v[16];
    snprintf(v, sizeof(v), "%d", cfg->fcgi_close_poll_timeout_ms);
    setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", v, 0);
    snprintf(v, sizeof(v), "%d", cfg->fcgi_keeper_poll_timeout_ms);
    setenv("LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT", v, 0);
    /* On TCP, libfcgi would accept anyone who can connect: only nginx may reach it. */
    if (!strchr(cfg->listen, '/') && *cfg->fcgi_web_server_addrs)
        setenv("FCGI_WEB_SERVER_ADDRS", cfg->fcgi_web_server_addrs, 0);
}

static void write_pid_file(const char *path)
{
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (!f) {
        log_error("cannot write pid file %s", path);
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"workers", required_argument, NULL, 'w'},
        {"scheduler", required_argument, NULL, 's'}, {"listen", required_argument, NULL, 'l'},
        {"print-routes", no_argument, NULL, 'R'},    {"print-config-docs", no_argument, NULL, 'D'},
        {"version", no_argument, NULL, 'V'},         {"help", no_argument, NULL, 'h'},
        {"print-nginx-families", no_argument, NULL, 'P'},  {"check-config", no_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *workers = NULL, *scheduler = NULL, *listen_addr = NULL;
    bool routes_only = false, check_only = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:htV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'w': workers = optarg; break;
        case 's': scheduler = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'R': routes_only = true; break;
        case 't': check_only = true; break;
        case 'D':
            if (!routes_declare_settings())
                return 1;
            config_print_docs(stdout);
            return 0;
        case 'P': return print_nginx_families();
        case 'V': printf("guildhalld %s\n", GH_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path)
        path = config_default_path();
    /* proc_title_set() reuses argv's memory: keep our own copy of what points into it. */
    char *config_path = path ? xstrdup(path) : NULL;
    path = config_path;

    struct config *cfg = xcalloc(1, sizeof(*cfg));
    char err[512] = "too many declared settings";
    if (!routes_declare_settings() || !config_load(cfg, path, err, sizeof(err)) ||
        (workers && !config_set(cfg, "workers", workers, err, sizeof(err))) ||
        (scheduler && !config_set(cfg, "scheduler", scheduler, err, sizeof(err))) ||
        (listen_addr && !config_set(cfg, "listen", listen_addr, err, sizeof(err))) ||
        !routes_init(cfg, err, sizeof(err))) {
        fprintf(stderr, "guildhalld: %s\n", err);
        config_free(cfg);
        free(cfg);
        free(config_path);
        return 2;
    }
    if (routes_only || check_only) {
        if (routes_only)
            print_routes();
        else
            printf("guildhalld: configuration %s is valid\n", path ? path : "(built-in defaults)");
        config_free(cfg);
        free(cfg);
        free(config_path);
        return 0;
    }
    log_open(cfg->log_file, cfg->log_level);
    log_set_role("master");
    proc_title_init(argc, argv);
    if (!keys_init()) {
        log_error("libsodium failed to initialise");
        return 1;
    }
    tune_libfcgi(cfg);
    if (FCGX_Init() != 0) {
        log_error("FCGX_Init failed");
        return 1;
    }
    bool unix_socket = strchr(cfg->listen, '/') != NULL;
    if (unix_socket)
        unlink(cfg->listen);
    int fd = FCGX_OpenSocket(cfg->listen, cfg->listen_backlog);
    if (fd < 0) {
        log_error("cannot listen on %s", cfg->listen);
        return 1;
    }
    if (unix_socket)
        chmod(cfg->listen, 0660);   /* only nginx (same user or group) may reach libfcgi */
    struct shm *shm = shm_create();
    if (!shm) {
        log_error("cannot map shared memory");
        return 1;
    }
    char *socket_path = unix_socket ? xstrdup(cfg->listen) : NULL;
    char *pid_path = xstrdup(cfg->pid_file);
    write_pid_file(pid_path);
    int rc = master_run(cfg, path, fd, shm);
    if (socket_path)
        unlink(socket_path);
    if (*pid_path)
        unlink(pid_path);
    free(socket_path);
    free(pid_path);
    free(config_path);
    return rc;
}
