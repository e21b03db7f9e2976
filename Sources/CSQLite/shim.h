#include <sqlite3.h>
// SQLITE_TRANSIENT is a cast macro the Swift importer cannot see.
static inline void (*csqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
