import Glibc
import Synchronization

extension SecureRandom {
    /// `count` bytes from the CSPRNG for the many small draws of a busy server (a page's CSRF
    /// mask, 32 bytes a page): served from a pool that `RAND_bytes` fills 4 KB at a time. A
    /// call of `RAND_bytes` costs some 7,500 instructions of DRBG bookkeeping whatever it
    /// draws, a tenth of a small page's time for 32 bytes; 4 KB cost little more than that.
    ///
    /// The bytes are OpenSSL's as much as ``bytes(_:)``'s are, in the same process memory its
    /// DRBG keeps its state in. Each is handed out once and wiped from the pool as it goes; a
    /// forked child starts with an empty pool (as OpenSSL's own DRBG reseeds after a fork), so
    /// parent and child never share bytes. Draws larger than 256 bytes go to ``bytes(_:)``.
    public static func pooledBytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.pooledBytes: negative count")
        guard count > 0 else { return [] }
        guard count <= 256 else { return bytes(count) }
        RandomPool.registerForkHandler
        return RandomPool.shared.withLock { pool in
            if RandomPool.forked.load(ordering: .acquiring) {
                pool.wipe()
                RandomPool.forked.store(false, ordering: .releasing)
            }
            if pool.left < count { pool.refill() }
            return pool.take(count)
        }
    }
}

/// The pool behind ``SecureRandom/pooledBytes(_:)``.
struct RandomPool: ~Copyable {
    static let size = 4096
    private let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: RandomPool.size)
    /// Bytes before `next` were handed out (and wiped).
    private var next = RandomPool.size

    var left: Int { RandomPool.size - next }

    mutating func refill() {
        SecureRandom.fill(UnsafeMutableBufferPointer(start: storage, count: RandomPool.size))
        next = 0
    }

    mutating func take(_ count: Int) -> [UInt8] {
        precondition(count <= left)
        let out = [UInt8](UnsafeBufferPointer(start: storage + next, count: count))
        (storage + next).update(repeating: 0, count: count)
        next += count
        return out
    }

    mutating func wipe() {
        storage.update(repeating: 0, count: RandomPool.size)
        next = RandomPool.size
    }

    deinit { storage.deallocate() }

    static let shared = Mutex(RandomPool())
    /// Set in a forked child, before anything else runs there: its pool is the parent's.
    static let forked = Atomic<Bool>(false)
    static let registerForkHandler: Void = {
        pthread_atfork(nil, nil, { RandomPool.forked.store(true, ordering: .releasing) })
    }()
}
