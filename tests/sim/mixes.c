/* The fault mixes a seed sweep cycles through, and how a seed picks n and its mix. */
#include <string.h>

#include "tests/sim/run.h"

#define ALL_NOISE                                                                                  \
    (SIM_BYZ_VOTE_UNSENT | SIM_BYZ_BAD_SIG | SIM_BYZ_BAD_SENDER | SIM_BYZ_HUGE | SIM_BYZ_FLOOD |   \
     SIM_BYZ_GARBAGE | SIM_BYZ_REPLAY)

/* Probabilities are per million; delays in virtual ms. */
static const struct sim_mix mixes[] = {
    { .name = "clean", .desc = "no faults", .delay_min = 1, .delay_max = 10 },
    { .name = "load",
      .desc = "no faults, clients near the chain's capacity: never a view change",
      .delay_min = 1,
      .delay_max = 10,
      .tx_per_s = 450,
      .faulty_max = 3000 },
    { .name = "lossy",
      .desc = "5% drop, 5% duplicate, 5% reorder, 1-40 ms delay",
      .delay_min = 1,
      .delay_max = 40,
      .drop_ppm = 50000,
      .dup_ppm = 50000,
      .reorder_ppm = 50000 },
    { .name = "partition",
      .desc = "random partitions that heal, 1% drop",
      .delay_min = 1,
      .delay_max = 20,
      .drop_ppm = 10000,
      .partitions = true },
    { .name = "crash",
      .desc = "crash/restart of single replicas, fsync up to 30 ms",
      .delay_min = 1,
      .delay_max = 20,
      .crashes = true,
      .persist_max = 30 },
    { .name = "allcrash",
      .desc = "every replica crashes at once (and single crashes), fsync up to 30 ms",
      .delay_min = 1,
      .delay_max = 20,
      .crashes = true,
      .all_crash = true,
      .persist_max = 30 },
    { .name = "equivocate",
      .desc = "f colluding Byzantine: equivocating primary, split votes, unsent blocks, selective "
              "sends, new primaries deaf to prepared VIEW-CHANGEs",
      .delay_min = 1,
      .delay_max = 20,
      .byz = SIM_BYZ_EQUIVOCATE | SIM_BYZ_VOTE_UNSENT | SIM_BYZ_SELECTIVE | SIM_BYZ_DEAF },
    { .name = "byznoise",
      .desc = "f Byzantine: bad signatures, bad senders, huge numbers, floods, garbage, replays",
      .delay_min = 1,
      .delay_max = 20,
      .drop_ppm = 10000,
      .byz = ALL_NOISE },
    { .name = "censor",
      .desc = "f Byzantine primaries censor one transaction",
      .delay_min = 1,
      .delay_max = 20,
      .byz = SIM_BYZ_CENSOR },
    { .name = "commitloss",
      .desc = "half the COMMITs lost, partitions, crashes: blocks prepared but not committed "
              "everywhere must survive view changes",
      .delay_min = 1,
      .delay_max = 20,
      .commit_drop_ppm = 500000,
      .partitions = true,
      .crashes = true,
      .persist_max = 30 },
    { .name = "newview",
      .desc = "f Byzantine crafting VIEW-CHANGEs (replayed certificates, hidden prepared blocks) "
              "and NEW-VIEWs (chosen or stale sets, wrong re-proposals, lying bases), each "
              "equivocated, amid COMMIT loss and partitions that force view changes",
      .delay_min = 1,
      .delay_max = 20,
      .commit_drop_ppm = 300000,
      .partitions = true,
      .byz = SIM_BYZ_NEWVIEW | SIM_BYZ_VCHANGE },
    { .name = "slow",
      .desc = "delays of 50 ms to several seconds (beyond the timeouts), 2% drop, crashes, "
              "fsync up to 400 ms",
      .delay_min = 50,
      .delay_max = 1500,
      .drop_ppm = 20000,
      .crashes = true,
      .persist_max = 400 },
    { .name = "twins",
      .desc = "f identities run twice on different sides of partitions",
      .delay_min = 1,
      .delay_max = 20,
      .partitions = true,
      .twins = true },
    { .name = "twinchaos",
      .desc = "twins plus drops, dups, reorders, crashes and slow fsync",
      .delay_min = 1,
      .delay_max = 30,
      .drop_ppm = 20000,
      .dup_ppm = 20000,
      .reorder_ppm = 20000,
      .partitions = true,
      .crashes = true,
      .persist_max = 30,
      .twins = true },
    { .name = "chaos",
      .desc = "drops, dups, reorders, partitions, crashes, slow fsync and f Byzantine",
      .delay_min = 1,
      .delay_max = 40,
      .drop_ppm = 30000,
      .dup_ppm = 30000,
      .reorder_ppm = 30000,
      .partitions = true,
      .crashes = true,
      .persist_max = 30,
      .byz = ALL_NOISE | SIM_BYZ_EQUIVOCATE | SIM_BYZ_CENSOR | SIM_BYZ_SELECTIVE | SIM_BYZ_DEAF |
             SIM_BYZ_NEWVIEW | SIM_BYZ_VCHANGE },
};

#define NMIX ((int)(sizeof(mixes) / sizeof(mixes[0])))

int sim_mix_count(void)
{
    return NMIX;
}

const struct sim_mix *sim_mix_at(int i)
{
    return i >= 0 && i < NMIX ? &mixes[i] : NULL;
}

const struct sim_mix *sim_mix_find(const char *name)
{
    for (int i = 0; i < NMIX; i++) {
        if (strcmp(mixes[i].name, name) == 0)
            return &mixes[i];
    }
    return NULL;
}

void sim_pick(uint64_t seed, int *out_n, const struct sim_mix **out_mix)
{
    /*
     * Mostly the sizes the issue names; now and then 2, 3, 6, 8 and 9 (f = 0, odd quorums,
     * q = 6 of 8 and 9) and a larger 10 (f = 3), which costs twice a 7: every n from 1 to 10.
     */
    static const int sizes[] = { 4, 4, 4, 5, 7, 4, 5, 7,  1, 4, 5, 2,
                                 4, 3, 7, 6, 4, 5, 7, 10, 8, 9, 4, 5 };
    const struct sim_mix *m = &mixes[(seed - 1) % NMIX];
    /* A multiplicative hash, so every mix meets every size whatever the number of mixes. */
    uint64_t k = (seed * 0x9E3779B97F4A7C15ULL) >> 32;
    int n = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
    /* Byzantine and twin mixes need f >= 1 to mean anything. */
    if ((m->byz || m->twins) && n < 4)
        n = 4;
    *out_n = n;
    *out_mix = m;
}
