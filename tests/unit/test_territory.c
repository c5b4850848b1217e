/* test_territory.c — largest 4-connected regions and cell counts over hand-drawn owner grids. */
#include "unit.h"
#include "api/places/territory.h"

/* Rows separated by '\n'; 'A'..'Z' are owners 1..26, anything else is unowned. */
static uint32_t *grid(const char *s, int *w, int *h)
{
    *w = (int)strcspn(s, "\n");
    *h = 0;
    uint32_t *g = xmalloc(strlen(s) * sizeof(uint32_t) + 1);
    size_t n = 0;
    for (const char *row = s; *row; (*h)++) {
        size_t len = strcspn(row, "\n");
        assert_int_equal(len, (size_t)*w);   /* a ragged drawing is a broken test */
        for (size_t x = 0; x < len; x++)
            g[n++] = row[x] >= 'A' && row[x] <= 'Z' ? (uint32_t)(row[x] - 'A' + 1) : 0;
        row += len;
        if (*row == '\n')
            row++;
    }
    return g;
}

struct largest_case {
    const char *name;
    const char *drawing;
    uint32_t n_owners;
    uint32_t want[5];   /* want[o] for o = 1..4; want[0] is always 0 */
};

static const struct largest_case largest_cases[] = {
    {"two owners side by side", "AAB.\nA.BB\n..BB", 2, {0, 3, 5}},
    {"separate regions: the largest wins", "AA.A\n...A\nA..A\nA.AA", 1, {0, 5}},
    {"diagonal contact does not connect", "A.A\n.A.\nA.A", 1, {0, 1}},
    {"checkerboard of two owners", "ABAB\nBABA\nABAB", 2, {0, 1, 1}},
    {"U shape joins through its base", "A.A\nA.A\nAAA", 1, {0, 7}},
    {"U shape filled by another owner", "ABA\nABA\nAAA", 2, {0, 7, 2}},
    {"a spiral is one region", "AAAAA\n....A\nAAA.A\nA...A\nAAAAA", 2, {0, 17}},
    {"whole grid one owner", "CCC\nCCC", 3, {0, 0, 0, 6}},
    {"empty grid", "....\n....", 2, {0}},
    {"owner with no cells", "AA\n.D", 4, {0, 2, 0, 0, 1}},
    {"single row", "AA.AAA.B", 2, {0, 3, 1}},
    {"single column", "A\nA\n.\nA", 1, {0, 2}},
    {"owners above n_owners are ignored", "AC\nCC", 2, {0, 1}},
    {"a comb whose teeth merge in the last row", "A.A.A\nA.A.A\nAAAAA", 1, {0, 11}},
};

static void largest_regions(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(largest_cases); i++) {
        const struct largest_case *c = &largest_cases[i];
        int w, h;
        uint32_t *g = grid(c->drawing, &w, &h);
        uint32_t got[5];
        memset(got, 0xAB, sizeof(got));
        territory_largest(g, w, h, c->n_owners, got);
        for (uint32_t o = 0; o <= c->n_owners; o++) {
            if (got[o] != c->want[o])
                fail_msg("%s: owner %u has %u, want %u", c->name, o, got[o], c->want[o]);
        }
        free(g);
    }
}

static void count_cells(void **state)
{
    int w, h;
    uint32_t *g = grid("AAB.\nA.BB\n..BE", &w, &h);
    uint32_t got[4];
    territory_count_cells(g, (size_t)w * (size_t)h, 3, got);
    assert_int_equal(got[0], 4);   /* '.' cells; E (5) is above n_owners and not counted */
    assert_int_equal(got[1], 3);
    assert_int_equal(got[2], 4);
    assert_int_equal(got[3], 0);
    territory_count_cells(g, 0, 3, got);
    for (int o = 0; o < 4; o++)
        assert_int_equal(got[o], 0);
    free(g);
}

static void zero_size_grid(void **state)
{
    uint32_t got[2] = {7, 7};
    territory_largest(NULL, 0, 0, 1, got);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 0);
}

/* Deterministic xorshift so a failure reproduces. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_500x500_grid(void **state)
{
    enum { W = 500, H = 500, OWNERS = 2000 };
    uint32_t *g = xmalloc(sizeof(uint32_t) * W * H);
    uint32_t seed = 12345;
    /* Runs of a few cells so regions of many sizes form, with a third of the canvas white. */
    for (int i = 0; i < W * H; i++) {
        uint32_t r = next_rand(&seed);
        g[i] = (i > 0 && r % 4 != 0) ? g[i - 1] : (r % 3 == 0 ? 0 : 1 + r % OWNERS);
        if (i >= W && r % 5 == 0)
            g[i] = g[i - W];
    }
    uint32_t *largest = xcalloc(OWNERS + 1, sizeof(uint32_t));
    uint32_t *count = xcalloc(OWNERS + 1, sizeof(uint32_t));
    territory_largest(g, W, H, OWNERS, largest);
    territory_count_cells(g, (size_t)W * H, OWNERS, count);
    uint64_t total = count[0];
    assert_int_equal(largest[0], 0);
    for (uint32_t o = 1; o <= OWNERS; o++) {
        assert_true(largest[o] <= count[o]);
        assert_true(count[o] == 0 || largest[o] >= 1);
        total += count[o];
    }
    assert_int_equal(total, W * H);

    /* one owner everywhere: one region of every cell */
    for (int i = 0; i < W * H; i++)
        g[i] = 1;
    territory_largest(g, W, H, 1, largest);
    assert_int_equal(largest[1], W * H);
    free(largest);
    free(count);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(largest_regions),
        cmocka_unit_test(count_cells),
        cmocka_unit_test(zero_size_grid),
        cmocka_unit_test(random_500x500_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
