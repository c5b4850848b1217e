/* supervisor.c — sd_notify(3) messages from the master; see supervisor.h. */
#include "guildhall.h"
#include "supervisor.h"
#include "log.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

static void say(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        log_warn("sd_notify: %s", strerror(-rc));
}
#else
static void say(const char *state)
{
    (void)state;
}
#endif

void supervisor_ready(int workers, int generation)
{
    char state[128];
    snprintf(state, sizeof(state), "READY=1\nSTATUS=%d worker%s accepting (configuration generation %d)",
             workers, workers == 1 ? "" : "s", generation);
    say(state);
}

void supervisor_reloading(void)
{
    say("RELOADING=1\nSTATUS=reloading: replacing workers one at a time");
}

void supervisor_stopping(void)
{
    say("STOPPING=1\nSTATUS=draining in-flight requests");
}
