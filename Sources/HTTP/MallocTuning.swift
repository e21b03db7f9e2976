import CLinux

/// Keeps memory a request freed for the next request instead of handing it back to the
/// kernel and faulting it in again.
///
/// glibc returns the top of a heap to the kernel once more than 128 KB is free there, and a
/// rendered page allocates and frees about that much (template strings that grow by
/// doubling, the body, the encoded response). So every request gave its memory back and
/// touched it fresh the next time: about six page faults a request, a tenth of the time of a
/// signed-in `/account` under load. A trim threshold of 32 MB keeps it (at most that much
/// free memory stays resident per malloc arena, of which glibc makes a few per core).
enum MallocTuning {
    static func keepFreedMemory() {
        _ = mallopt(M_TRIM_THRESHOLD, 32 << 20)
        // Setting a threshold turns off glibc's sliding mmap threshold, so set that too: a
        // block of 4 MB or more still gets a mapping of its own, returned when it is freed.
        _ = mallopt(M_MMAP_THRESHOLD, 4 << 20)
    }
}
