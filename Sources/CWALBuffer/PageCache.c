// A page cache that wraps SQLite's own (see include/PageCache.h) and skips truncations
// that have nothing to drop.
//
// At the end of every transaction the pager truncates its page cache to the database's
// size: pages past the end are dropped. SQLite's cache (pcache1) does that only when it
// has seen a key past the end, and then scans every hash bucket and every cached page
// header. One of its B-tree operations gives it such a key on nearly every write: when a
// split leaves the new pages out of page-number order, balance_nonroot swaps their numbers
// through a temporary key, the page after the 1 GiB lock-byte page (262,145 with 4 KiB
// pages). The page goes back to its real number at once, but the cache keeps the
// temporary key as its highest, so the next commit scans the whole cache: ~3% of the
// simulator's time (docs/STORAGE.md, "Commits that scan the page cache").
//
// This cache keeps its own bound on the keys it holds: the highest key fetched, plus the
// few keys a page was moved to above that bound while it still holds them. A truncation
// below which nothing can be held is skipped; any other goes to SQLite's cache, which
// drops exactly what it would have.

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "PageCache.h"

#define RAISED_KEYS_MAX 8

typedef struct BoundedCache {
    sqlite3_pcache *inner;
    // Every page held has a key at or below `highest`, or one of `raised`.
    unsigned highest;
    // Keys pages were moved to above `highest`, held until moved again or truncated.
    unsigned raised[RAISED_KEYS_MAX];
    int raisedCount;
} BoundedCache;

static sqlite3_pcache_methods2 sqlitePageCache;
static sqlite3_pcache_methods2 boundedPageCache;
static atomic_ullong truncationsSkipped;
static atomic_ullong truncationsPassed;

#define BOUNDED(p) ((BoundedCache *)(p))

static int raisedIndex(const BoundedCache *cache, unsigned key) {
    for (int i = 0; i < cache->raisedCount; i++) {
        if (cache->raised[i] == key) return i;
    }
    return -1;
}

static void dropRaised(BoundedCache *cache, int index) {
    cache->raised[index] = cache->raised[--cache->raisedCount];
}

static int boundedInit(void *argument) {
    (void)argument;
    return sqlitePageCache.xInit(sqlitePageCache.pArg);
}

static void boundedShutdown(void *argument) {
    (void)argument;
    if (sqlitePageCache.xShutdown) sqlitePageCache.xShutdown(sqlitePageCache.pArg);
}

static sqlite3_pcache *boundedCreate(int pageSize, int extraSize, int purgeable) {
    BoundedCache *cache = calloc(1, sizeof(BoundedCache));
    if (!cache) return NULL;
    cache->inner = sqlitePageCache.xCreate(pageSize, extraSize, purgeable);
    if (!cache->inner) {
        free(cache);
        return NULL;
    }
    return (sqlite3_pcache *)cache;
}

static void boundedCachesize(sqlite3_pcache *p, int pages) { sqlitePageCache.xCachesize(BOUNDED(p)->inner, pages); }

static int boundedPagecount(sqlite3_pcache *p) { return sqlitePageCache.xPagecount(BOUNDED(p)->inner); }

static sqlite3_pcache_page *boundedFetch(sqlite3_pcache *p, unsigned key, int createFlag) {
    BoundedCache *cache = BOUNDED(p);
    sqlite3_pcache_page *page = sqlitePageCache.xFetch(cache->inner, key, createFlag);
    if (page && key > cache->highest && raisedIndex(cache, key) < 0) cache->highest = key;
    return page;
}

static void boundedUnpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard) {
    sqlitePageCache.xUnpin(BOUNDED(p)->inner, page, discard);
}

static void boundedRekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned oldKey, unsigned newKey) {
    BoundedCache *cache = BOUNDED(p);
    sqlitePageCache.xRekey(cache->inner, page, oldKey, newKey);
    int index = raisedIndex(cache, oldKey);
    if (index >= 0) dropRaised(cache, index);
    if (newKey > cache->highest && raisedIndex(cache, newKey) < 0) {
        if (cache->raisedCount < RAISED_KEYS_MAX) {
            cache->raised[cache->raisedCount++] = newKey;
        } else {
            cache->highest = newKey;
        }
    }
}

static void boundedTruncate(sqlite3_pcache *p, unsigned limit) {
    BoundedCache *cache = BOUNDED(p);
    int held = limit <= cache->highest;
    for (int i = 0; i < cache->raisedCount && !held; i++) held = cache->raised[i] >= limit;
    if (!held) {
        atomic_fetch_add_explicit(&truncationsSkipped, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&truncationsPassed, 1, memory_order_relaxed);
    sqlitePageCache.xTruncate(cache->inner, limit);
    // Every page at or past `limit` is gone.
    if (limit == 0) {
        cache->highest = 0;
        cache->raisedCount = 0;
        return;
    }
    if (cache->highest >= limit) cache->highest = limit - 1;
    for (int i = cache->raisedCount - 1; i >= 0; i--) {
        if (cache->raised[i] >= limit) dropRaised(cache, i);
    }
}

static void boundedDestroy(sqlite3_pcache *p) {
    sqlitePageCache.xDestroy(BOUNDED(p)->inner);
    free(p);
}

static void boundedShrink(sqlite3_pcache *p) {
    if (sqlitePageCache.xShrink) sqlitePageCache.xShrink(BOUNDED(p)->inner);
}

int licensed_page_cache_install(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &sqlitePageCache);
    if (rc != SQLITE_OK) return rc;
    if (sqlitePageCache.iVersion < 1 || !sqlitePageCache.xInit || !sqlitePageCache.xCreate) return SQLITE_ERROR;
    boundedPageCache = (sqlite3_pcache_methods2){
        .iVersion = 1,
        .pArg = NULL,
        .xInit = boundedInit,
        .xShutdown = boundedShutdown,
        .xCreate = boundedCreate,
        .xCachesize = boundedCachesize,
        .xPagecount = boundedPagecount,
        .xFetch = boundedFetch,
        .xUnpin = boundedUnpin,
        .xRekey = boundedRekey,
        .xTruncate = boundedTruncate,
        .xDestroy = boundedDestroy,
        .xShrink = boundedShrink,
    };
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &boundedPageCache);
}

void licensed_page_cache_truncations(unsigned long long *skipped, unsigned long long *passed) {
    *skipped = atomic_load_explicit(&truncationsSkipped, memory_order_relaxed);
    *passed = atomic_load_explicit(&truncationsPassed, memory_order_relaxed);
}
