/* roblox.h — the Roblox game-asset family (spec 004 + CONTRACT 7.4). Its endpoints come with the
 * roblox issue; the descriptor already owns its prefixes and envelope. */
#ifndef GH_API_ROBLOX_H
#define GH_API_ROBLOX_H

#include "family.h"

extern const struct family family_roblox;

#endif
