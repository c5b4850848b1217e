/* mikros.h — the MIKROS family (spec 000 + CONTRACT 7.2): analytics, RPG and leaderboards for the
 * Discord bot. Its endpoints come with the mikros issue; the descriptor already owns its prefixes. */
#ifndef GH_API_MIKROS_H
#define GH_API_MIKROS_H

#include "family.h"

extern const struct family family_mikros;

#endif
