// Linux interfaces that Glibc's Swift module map leaves out: epoll, eventfd, accept4.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/tcp.h>

// accept4 is declared only under _GNU_SOURCE, which would change other socket signatures.
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
static inline int clinux_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

#include <unistd.h>
#include <sys/syscall.h>
// CPUs in this process's affinity mask (sched_getaffinity is _GNU_SOURCE-only); 0 on error.
static inline int clinux_affinity_cpus(void) {
    unsigned long mask[16];
    long n = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    if (n <= 0) return 0;
    int count = 0;
    for (long i = 0; i < n / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count;
}

// mallopt and its parameters (see MallocTuning.swift).
#include <malloc.h>
