#include <sqlite3.h>
// SQLITE_TRANSIENT is a cast macro the Swift importer cannot see.
static inline void (*csqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
// Called before SQLite initializes (the first open): no global memory statistics. This
// library is built without lookaside, so every allocation of every connection went through
// the statistics' one global mutex, and worker threads taking turns on a core queued on it.
static inline int csqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
