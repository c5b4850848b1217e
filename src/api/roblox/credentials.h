/* credentials.h — the Roblox family's own secrets (CONTRACT 7.4): game keys `RBXG-` + 48 lowercase
 * hex characters (24 random bytes) and tokens `RBXT-` + 64 (32 bytes), both stored only as their
 * BLAKE2b-256 hash. Pure: no I/O beyond libsodium's random bytes. */
#ifndef GH_API_ROBLOX_CREDENTIALS_H
#define GH_API_ROBLOX_CREDENTIALS_H

#include "guildhall.h"

#define ROBLOX_KEY_PREFIX "RBXG-"
#define ROBLOX_TOKEN_PREFIX "RBXT-"
#define ROBLOX_KEY_LEN (5 + 48)
#define ROBLOX_TOKEN_LEN (5 + 64)
#define ROBLOX_HASH_LEN 32
#define ROBLOX_HASH_HEX (2 * ROBLOX_HASH_LEN + 1)

/* A new key or token in out and the hex of its hash in hash_hex. */
void roblox_key_generate(char out[ROBLOX_KEY_LEN + 1], char hash_hex[ROBLOX_HASH_HEX]);
void roblox_token_generate(char out[ROBLOX_TOKEN_LEN + 1], char hash_hex[ROBLOX_HASH_HEX]);
/* Whether s has the key's (token's) exact form: prefix, then lowercase hex of the right length. */
bool roblox_key_valid(const char *s);
bool roblox_token_valid(const char *s);
/* The hex of a presented credential's hash (what the tables hold). */
void roblox_credential_hash(const char *s, char hash_hex[ROBLOX_HASH_HEX]);

#endif
