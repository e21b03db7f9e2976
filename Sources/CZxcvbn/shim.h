// Debian's libzxcvbn-dev (zxcvbn-c) ships no pkg-config file; its dictionaries (leaked
// passwords, names, English words) are compiled into the library, so no data file is read.
#include <zxcvbn.h>
