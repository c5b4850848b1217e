/* bare_responder.c — the ceiling of anything behind FastCGI: a pre-forked libfcgi responder that
 * answers every request with a constant {"ok":true} and does nothing else.
 *
 *   bare_responder SOCKET_PATH [WORKERS]        (built and run by bench/run)
 *
 * Like guildhalld, it sets libfcgi's poll waits before FCGX_Init unless the environment already
 * has them: LIBFCGI_OS_CLOSE_POLL_TIMEOUT=0, LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT=2000. */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char reply[] = "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}";

static void serve(int fd)
{
    FCGX_Request req;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (FCGX_InitRequest(&req, fd, 0) != 0)
        _exit(1);
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(reply, (int)sizeof(reply) - 1, req.out);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s SOCKET_PATH [WORKERS]\n", argv[0]);
        return 2;
    }
    int n = argc == 3 ? atoi(argv[2]) : 2;
    if (n < 1 || n > 256) {
        fprintf(stderr, "bare_responder: bad worker count %s\n", argv[2]);
        return 2;
    }
    setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0);
    setenv("LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT", "2000", 0);
    if (FCGX_Init() != 0)
        return 1;
    unlink(argv[1]);
    int fd = FCGX_OpenSocket(argv[1], 1024);
    if (fd < 0) {
        fprintf(stderr, "bare_responder: cannot listen on %s\n", argv[1]);
        return 1;
    }
    chmod(argv[1], 0777);
    /* Block SIGTERM/SIGINT before forking so the parent cannot die between fork and sigwait;
     * the workers unblock them (they die of either). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t kids[256];
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            perror("fork");
            return 1;
        }
        if (kids[i] == 0)
            serve(fd);
    }
    /* The parent only waits for SIGTERM/SIGINT, then ends its workers. */
    int sig = 0;
    sigwait(&set, &sig);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGTERM);
    while (wait(NULL) > 0)
        ;
    unlink(argv[1]);
    return 0;
}
