/* Test helper macro: check a ledger result code and that refusals explain themselves. */
#ifndef SEALCHAIN_TESTS_UTIL_EXPECT_H
#define SEALCHAIN_TESTS_UTIL_EXPECT_H

#include "ledger/err.h"

/* Needs cmocka.h included before. c is a struct tfx_chain *. */
#define TFX_EXPECT(c, expr, want)                                                                  \
    do {                                                                                           \
        int tfx_rc_ = (expr);                                                                      \
        if (tfx_rc_ != (want)) {                                                                   \
            print_error("%s:%d: got %s, want %s (%s)\n", __FILE__, __LINE__,                       \
                        ledger_errname(tfx_rc_), ledger_errname(want), (c)->errmsg);               \
            fail();                                                                                \
        }                                                                                          \
        if ((want) != 0 && (c)->errmsg[0] == '\0')                                                 \
            fail_msg("refusal %s without a message", ledger_errname(want));                        \
    } while (0)

#endif
