/* keys.c — secrets are 256 random bits, so a fast keyed-free hash is enough at rest: there is
 * nothing to brute-force that a slow hash would protect. */
#include "guildhall.h"
#include "keys.h"

#include <sodium.h>

bool keys_init(void)
{
    return sodium_init() >= 0;
}

void key_generate(char out[KEY_MAX_LEN], char id[KEY_ID_LEN + 1], uint8_t hash[KEY_HASH_LEN])
{
    uint8_t idbytes[KEY_ID_LEN / 2], secret[32];
    char secret_txt[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(idbytes, sizeof(idbytes));
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(id, KEY_ID_LEN + 1, idbytes, sizeof(idbytes));
    sodium_bin2base64(secret_txt, sizeof(secret_txt), secret, sizeof(secret),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, KEY_MAX_LEN, "gh_%s_%s", id, secret_txt);
    key_hash(secret_txt, hash);
    sodium_memzero(secret, sizeof(secret));
}

bool key_parse(const char *presented, char id[KEY_ID_LEN + 1], const char **secret)
{
    if (strncmp(presented, "gh_", 3) != 0)
        return false;
    const char *p = presented + 3;
    for (int i = 0; i < KEY_ID_LEN; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        id[i] = c;
    }
    id[KEY_ID_LEN] = '\0';
    if (p[KEY_ID_LEN] != '_')
        return false;
    const char *s = p + KEY_ID_LEN + 1;
    size_t n = strlen(s);
    if (n < 16 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
            return false;
    }
    *secret = s;
    return true;
}

void key_hash(const char *secret, uint8_t hash[KEY_HASH_LEN])
{
    crypto_generichash(hash, KEY_HASH_LEN, (const unsigned char *)secret, strlen(secret), NULL, 0);
}

bool key_verify(const char *secret, const uint8_t stored[KEY_HASH_LEN])
{
    uint8_t h[KEY_HASH_LEN];
    key_hash(secret, h);
    return crypto_verify_32(h, stored) == 0;
}

bool scopes_include(const char *scopes, const char *scope)
{
    size_t n = strlen(scope);
    for (const char *p = scopes; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && !strncmp(p, scope, n))
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

bool key_hash_from_hex(const char *hex, uint8_t out[KEY_HASH_LEN])
{
    size_t got = 0;
    return sodium_hex2bin(out, KEY_HASH_LEN, hex, 2 * KEY_HASH_LEN, NULL, &got, NULL) == 0 && got == KEY_HASH_LEN;
}
