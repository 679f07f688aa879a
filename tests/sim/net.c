/* Network model: turns one send into zero, one or two timed deliveries on the event queue. */
#include <string.h>

#include "tests/sim/net.h"

void sim_net_init(struct sim_net *net, int slots, uint32_t delay_min, uint32_t delay_max)
{
    memset(net, 0, sizeof(*net));
    net->slots = slots;
    for (int a = 0; a < SIM_MAX_SLOTS; a++) {
        for (int b = 0; b < SIM_MAX_SLOTS; b++) {
            net->link[a][b].delay_min = a == b ? 0 : delay_min;
            net->link[a][b].delay_max = a == b ? 0 : delay_max;
        }
    }
}

void sim_net_set_faults(struct sim_net *net, uint32_t drop_ppm, uint32_t dup_ppm,
                        uint32_t reorder_ppm)
{
    for (int a = 0; a < SIM_MAX_SLOTS; a++) {
        for (int b = 0; b < SIM_MAX_SLOTS; b++) {
            if (a == b)
                continue;
            net->link[a][b].drop_ppm = drop_ppm;
            net->link[a][b].dup_ppm = dup_ppm;
            net->link[a][b].reorder_ppm = reorder_ppm;
        }
    }
}

void sim_net_set_delay(struct sim_net *net, uint32_t delay_min, uint32_t delay_max)
{
    for (int a = 0; a < SIM_MAX_SLOTS; a++) {
        for (int b = 0; b < SIM_MAX_SLOTS; b++) {
            net->link[a][b].delay_min = a == b ? 0 : delay_min;
            net->link[a][b].delay_max = a == b ? 0 : delay_max;
        }
    }
}

void sim_net_vary(struct sim_net *net, struct sim_rng *rng)
{
    for (int a = 0; a < net->slots; a++) {
        for (int b = 0; b < net->slots; b++) {
            struct sim_link *l = &net->link[a][b];
            if (a != b)
                l->delay_max = l->delay_min + (uint32_t)sim_rng_range(rng, 1, 3) * l->delay_max;
        }
    }
}

void sim_net_place(struct sim_net *net, int s, int side)
{
    net->group[s] = side;
    net->partitioned = true;
}

void sim_net_heal(struct sim_net *net)
{
    memset(net->group, 0, sizeof(net->group));
    net->partitioned = false;
}

bool sim_net_connected(const struct sim_net *net, int a, int b)
{
    return !net->partitioned || net->group[a] == net->group[b];
}

static uint64_t link_delay(const struct sim_link *l, struct sim_rng *rng)
{
    return sim_rng_range(rng, l->delay_min, l->delay_max);
}

static void schedule(struct sim_queue *q, uint64_t at, int from, int to, struct sim_blob *blob)
{
    struct sim_event ev = { .at = at, .kind = SIM_EV_MSG, .to = to, .from = from, .blob = blob };
    sim_queue_push(q, &ev);
}

void sim_net_send(struct sim_net *net, struct sim_rng *rng, struct sim_queue *q, uint64_t now,
                  int from, int to, struct sim_blob *blob)
{
    const struct sim_link *l = &net->link[from][to];
    net->st.sent++;
    if (!sim_net_connected(net, from, to)) {
        net->st.cut++;
        sim_blob_unref(blob);
        return;
    }
    if (sim_rng_ppm(rng, l->drop_ppm)) {
        net->st.drops++;
        sim_blob_unref(blob);
        return;
    }
    uint64_t delay = link_delay(l, rng);
    if (sim_rng_ppm(rng, l->reorder_ppm)) {
        /* Held back past the longest normal delay, so later messages overtake it. */
        delay += l->delay_max + sim_rng_range(rng, 1, 3 * (uint64_t)l->delay_max + 1);
        net->st.reorders++;
    }
    if (sim_rng_ppm(rng, l->dup_ppm)) {
        net->st.dups++;
        schedule(q, now + delay + link_delay(l, rng) + 1, from, to, sim_blob_ref(blob));
    }
    net->st.delivered_sched++;
    schedule(q, now + delay, from, to, blob);
}
