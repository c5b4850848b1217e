/* supervisor.h — what the master tells the service manager (systemd's sd_notify protocol):
 * ready once every worker accepts, reloading while a SIGHUP replaces them, stopping on SIGTERM.
 * Without NOTIFY_SOCKET in the environment, or built without libsystemd, every call does nothing. */
#ifndef GH_SUPERVISOR_H
#define GH_SUPERVISOR_H

void supervisor_ready(int workers, int generation);
void supervisor_reloading(void);
void supervisor_stopping(void);

#endif
