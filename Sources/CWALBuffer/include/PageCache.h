#ifndef LICENSED_PAGE_CACHE_H
#define LICENSED_PAGE_CACHE_H

/// Installs, process-wide, a page cache that wraps SQLite's own and changes one thing: a
/// truncation that cannot drop anything (nothing is cached at or past its limit) returns
/// at once, where SQLite's cache can scan all its pages at every commit after a B-tree
/// split (docs/STORAGE.md, "Commits that scan the page cache"). Only before SQLite
/// initializes; returns SQLITE_OK, or SQLITE_MISUSE when it is too late to change.
int licensed_page_cache_install(void);

/// How many truncations the cache skipped and how many it passed to SQLite's, since the
/// process started, for every database.
void licensed_page_cache_truncations(unsigned long long *skipped, unsigned long long *passed);

#endif
