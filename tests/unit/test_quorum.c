/* The ledger's quorum pinned to the core's: ledger/ may not include consensus/, so a test links
 * both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consensus/pbft.h"
#include "ledger/genesis.h"

/* A commit certificate the core builds with pbft_quorum(n) signatures must
 * be one the ledger accepts (ledger_cert_check counts against
 * ledger_genesis_quorum), and no smaller one: the two formulas are one rule
 * written in two libraries that may not share a header. */
static void the_ledger_quorum_is_the_core_quorum_for_every_n(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= PBFT_MAX_N; n++) {
        assert_int_equal(ledger_genesis_f((uint32_t)n), pbft_faults(n));
        assert_int_equal(ledger_genesis_quorum((uint32_t)n), pbft_quorum(n));
    }
}

static void both_sides_allow_the_same_number_of_validators(void **state)
{
    (void)state;
    assert_int_equal(LEDGER_MAX_VALIDATORS, PBFT_MAX_N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_ledger_quorum_is_the_core_quorum_for_every_n),
        cmocka_unit_test(both_sides_allow_the_same_number_of_validators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
