/* proctitle.c — how a child process takes on its role: argv rewritten in place so ps shows it,
 * its log role, and its signals. */
#include "guildhall.h"
#include "log.h"
#include "process.h"

#include <signal.h>

static char *title_area;
static size_t title_len;

void proc_title_init(int argc, char **argv)
{
    if (argc < 1)
        return;
    char *end = argv[0] + strlen(argv[0]);
    for (int i = 1; i < argc; i++)
        if (argv[i] == end + 1)
            end = argv[i] + strlen(argv[i]);
    title_area = argv[0];
    title_len = (size_t)(end - argv[0]);
}

void proc_title_set(const char *title)
{
    if (!title_area || title_len < 2)
        return;
    memset(title_area, 0, title_len + 1);
    snprintf(title_area, title_len + 1, "%s", title);
}

void proc_become(const char *role, void (*on_term)(int))
{
    char title[64];
    snprintf(title, sizeof(title), "guildhalld: %s", role);
    log_set_role(role);
    proc_title_set(title);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
