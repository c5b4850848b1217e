/* keys.h — API key format, generation and constant-time verification (libsodium). Pure. */
#ifndef GH_KEYS_H
#define GH_KEYS_H

/* A key is "gh_<id>_<secret>": the id (12 hex) is public and names the key in logs and the audit log;
 * only a BLAKE2b-256 hash of the secret (32 random bytes, base64url) is stored. */
#define KEY_ID_LEN 12
#define KEY_HASH_LEN 32
#define KEY_MAX_LEN 96

bool keys_init(void) MUSTCHECK;
/* Writes a new key to out and its id and secret hash to the others. */
void key_generate(char out[KEY_MAX_LEN], char id[KEY_ID_LEN + 1], uint8_t hash[KEY_HASH_LEN]);
/* Splits a presented key; false when it is not in the key format. *secret points into presented. */
bool key_parse(const char *presented, char id[KEY_ID_LEN + 1], const char **secret);
void key_hash(const char *secret, uint8_t hash[KEY_HASH_LEN]);
/* Constant-time comparison of the secret's hash with the stored hash. */
bool key_verify(const char *secret, const uint8_t stored[KEY_HASH_LEN]);
/* Whether a comma-separated scope list holds scope. */
bool scopes_include(const char *scopes, const char *scope);



/* Decodes 64 hex characters into a stored hash; false on anything else. */
bool key_hash_from_hex(const char *hex, uint8_t out[KEY_HASH_LEN]);
#endif
