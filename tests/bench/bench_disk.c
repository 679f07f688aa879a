/* make bench-disk: what one durable page write costs on this disk, random and in order.
 *
 * A block commit writes the pages its B-tree inserts dirtied (LMDB reuses freed pages, so
 * they lie anywhere in the file) and then fdatasyncs. This measures that pattern alone: a
 * 200 MiB file, then for n = 1..1000 pages, 20 rounds of n 4 KiB pwrites followed by one
 * fdatasync, once at random page offsets and once at consecutive ones. Prints ms per round
 * and µs per page. The file is made in TMPDIR (default /tmp) and removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE   4096
#define PAGES  51200 /* 200 MiB */
#define ROUNDS 20

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "bench-disk: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put(int fd, const uint8_t *page, uint64_t pgno)
{
    if (pwrite(fd, page, PAGE, (off_t)(pgno * PAGE)) != PAGE)
        die("pwrite");
}

/* xorshift64: the same offsets on every run. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/sealchain-bench-disk-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp");
    unlink(path); /* gone when closed, also on a crash */
    static uint8_t page[PAGE];
    memset(page, 0x5a, sizeof page);
    for (uint64_t i = 0; i < PAGES; i++)
        put(fd, page, i);
    if (fsync(fd) != 0)
        die("fsync");
    static const int sizes[] = { 1, 10, 50, 100, 300, 1000, 3000 };
    uint64_t seed = 0x9e3779b97f4a7c15u, seq = 0;
    printf("bench-disk: %d rounds each of n 4 KiB pwrites then one fdatasync, in a %d MiB file\n",
           ROUNDS, PAGES / 256);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int n = sizes[k];
        double t0 = now_ms();
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < n; i++)
                put(fd, page, next_rand(&seed) % PAGES);
            if (fdatasync(fd) != 0)
                die("fdatasync");
        }
        double t1 = now_ms();
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < n; i++)
                put(fd, page, seq++ % PAGES);
            if (fdatasync(fd) != 0)
                die("fdatasync");
        }
        double t2 = now_ms();
        double rnd = (t1 - t0) / ROUNDS, ord = (t2 - t1) / ROUNDS;
        printf("bench-disk: n=%4d random %7.2f ms (%5.1f us/page)   in order %7.2f ms (%5.1f "
               "us/page)\n",
               n, rnd, rnd * 1e3 / n, ord, ord * 1e3 / n);
    }
    close(fd);
    return 0;
}
