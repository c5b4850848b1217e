/* unit.h — what every cmocka unit test includes. */
#ifndef GH_UNIT_H
#define GH_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "guildhall.h"

#endif
