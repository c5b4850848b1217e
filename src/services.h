/* services.h — the handles a process opens once and reuses: configuration, PostgreSQL, memcached,
 * the shared counters and the process's slot in them. Workers and the scheduler both have one. */
#ifndef GH_SERVICES_H
#define GH_SERVICES_H

struct config;
struct db;
struct mc;
struct shm;

struct services {
    const struct config *cfg;
    struct db *db;
    struct db *replica;          /* NULL without database_replica_url */
    struct mc *mc;
    struct shm *shm;
    int slot;
};

#endif
