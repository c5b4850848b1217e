/* credentials.c — game keys and tokens (credentials.h). */
#include "guildhall.h"
#include "api/roblox/credentials.h"

#include <sodium.h>

static void generate(const char *prefix, size_t random_bytes, char *out, char hash_hex[ROBLOX_HASH_HEX])
{
    unsigned char raw[32];
    randombytes_buf(raw, random_bytes);
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    sodium_bin2hex(out + n, 2 * random_bytes + 1, raw, random_bytes);
    sodium_memzero(raw, sizeof raw);
    roblox_credential_hash(out, hash_hex);
}

void roblox_key_generate(char out[ROBLOX_KEY_LEN + 1], char hash_hex[ROBLOX_HASH_HEX])
{
    generate(ROBLOX_KEY_PREFIX, 24, out, hash_hex);
}

void roblox_token_generate(char out[ROBLOX_TOKEN_LEN + 1], char hash_hex[ROBLOX_HASH_HEX])
{
    generate(ROBLOX_TOKEN_PREFIX, 32, out, hash_hex);
}

static bool has_form(const char *s, const char *prefix, size_t len)
{
    size_t n = strlen(prefix);
    if (!s || strlen(s) != len || strncmp(s, prefix, n) != 0)
        return false;
    for (const char *p = s + n; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

bool roblox_key_valid(const char *s)
{
    return has_form(s, ROBLOX_KEY_PREFIX, ROBLOX_KEY_LEN);
}

bool roblox_token_valid(const char *s)
{
    return has_form(s, ROBLOX_TOKEN_PREFIX, ROBLOX_TOKEN_LEN);
}

void roblox_credential_hash(const char *s, char hash_hex[ROBLOX_HASH_HEX])
{
    unsigned char h[ROBLOX_HASH_LEN];
    crypto_generichash(h, sizeof h, (const unsigned char *)s, strlen(s), NULL, 0);
    sodium_bin2hex(hash_hex, ROBLOX_HASH_HEX, h, sizeof h);
}
