/* window.c — see window.h. */
#include "api/mikros/window.h"

#include <string.h>

static int64_t floor_day(int64_t t)
{
    int64_t r = t % MIKROS_DAY_SECONDS;
    return t - (r < 0 ? r + MIKROS_DAY_SECONDS : r);
}

static int64_t ceil_day(int64_t t)
{
    int64_t f = floor_day(t);
    return f == t ? t : f + MIKROS_DAY_SECONDS;
}

struct mikros_window mikros_window_before(int64_t end, int64_t length, int back)
{
    struct mikros_window w;
    w.end = end - length * back;
    w.start = w.end - length;
    w.whole_from = ceil_day(w.start);
    w.whole_to = floor_day(w.end);
    if (w.whole_from >= w.whole_to)
        w.whole_from = w.whole_to = w.end;
    return w;
}

int64_t mikros_period_seconds(const char *period)
{
    static const struct {
        const char *name;
        int64_t days;
    } periods[] = {{"7d", 7}, {"30d", 30}, {"90d", 90}};
    for (size_t i = 0; period && i < sizeof periods / sizeof periods[0]; i++)
        if (!strcmp(period, periods[i].name))
            return periods[i].days * MIKROS_DAY_SECONDS;
    return 0;
}
