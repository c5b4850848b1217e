/* proctitle.c — rewrites argv in place so ps shows each process's role. */
#include "guildhall.h"
#include "process.h"

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
