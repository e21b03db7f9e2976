#include <zlib.h>
// deflateInit2 is a macro; expose it as a function for Swift.
static inline int czlib_deflate_init_gzip(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
// deflateInit is a macro too: the zlib format (RFC 1950), as compress2 writes it.
static inline int czlib_deflate_init_zlib(z_streamp strm, int level) {
    return deflateInit(strm, level);
}
