import COpenSSL
import Dispatch
import Foundation
import Synchronization

/// The cost parameters of scrypt (RFC 7914): `N = 2^logN` (CPU and memory cost), `r` (block
/// size) and `p` (parallelism). Memory used is about `128 · N · r` bytes; time is about
/// proportional to `N · r · p`.
public struct ScryptParameters: Sendable, Hashable, CustomStringConvertible {
    public var logN: Int
    public var r: Int
    public var p: Int

    public init(logN: Int, r: Int, p: Int) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    /// N = 2^17, r = 8, p = 1: about 128 MiB and a few hundred milliseconds per hash, the
    /// interactive-login setting recommended by current guidance (OWASP).
    public static let `default` = ScryptParameters(logN: 17, r: 8, p: 1)

    /// The largest values accepted anywhere, including from a stored hash string. A row
    /// tampered with to ask for, say, `ln=40` must not be able to make one login attempt
    /// allocate terabytes or run for hours.
    public static let maximumLogN = 20
    public static let maximumR = 32
    public static let maximumP = 16
    /// Cap on `128 · N · r` (the big scrypt buffer): 1 GiB.
    public static let maximumMemory: UInt64 = 1 << 30
    /// Cap on `N · r · p` (work): 32 times the default's.
    public static let maximumWork: UInt64 = 1 << 25

    /// `N = 2^logN`.
    public var n: UInt64 { 1 << UInt64(logN) }

    /// Whether every parameter is within the limits above (and positive).
    public var isWithinLimits: Bool {
        guard (1...Self.maximumLogN).contains(logN),
              (1...Self.maximumR).contains(r),
              (1...Self.maximumP).contains(p) else { return false }
        return 128 * n * UInt64(r) <= Self.maximumMemory
            && n * UInt64(r) * UInt64(p) <= Self.maximumWork
    }

    /// The `maxmem` to hand OpenSSL: its own estimate of what scrypt needs
    /// (`128·r·(N+2) + 128·r·p` bytes) plus slack. OpenSSL's default of 32 MiB is too small
    /// for the default parameters, and an explicit bound keeps it from being unlimited.
    var maxMemory: UInt64 {
        128 * UInt64(r) * (n + 2) + 128 * UInt64(r) * UInt64(p) + (1 << 20)
    }

    public var description: String { "ln=\(logN),r=\(r),p=\(p)" }
}

/// Errors from `PasswordHasher`.
public enum PasswordHasherError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stored string is not a hash this type wrote.
    case malformedHash
    /// The stored string asks for parameters beyond `ScryptParameters`' limits.
    case unsupportedParameters(String)
    /// OpenSSL's scrypt failed (out of memory, for instance).
    case derivationFailed(String)
    /// Too many callers are already waiting for a turn; try again shortly.
    case busy

    public var description: String {
        switch self {
        case .malformedHash: "the stored password hash is malformed"
        case .unsupportedParameters(let p): "the stored password hash asks for unsupported scrypt parameters (\(p))"
        case .derivationFailed(let m): "scrypt failed: \(m)"
        case .busy: "too many password hashes are waiting"
        }
    }
}

/// Hashes and verifies passwords with scrypt (RFC 7914, through OpenSSL's `EVP_PBE_scrypt`).
///
/// Why scrypt: it is memory-hard, so guessing stolen hashes on GPUs or ASICs costs memory as
/// well as time. Each hash gets a fresh 16-byte random salt, so equal passwords give unrelated
/// hashes and no precomputed table helps.
///
/// The encoded form carries its own parameters,
/// `$scrypt$ln=17,r=8,p=1$<base64 salt>$<base64 key>` (standard base64, no padding, as in the
/// PHC string format), so the cost can rise later: `needsRehash` tells a caller, after a
/// successful login, to store a new hash made with the current parameters. Parameters read
/// from a stored string are bounded (`ScryptParameters.isWithinLimits`), so a tampered row
/// cannot turn a login into a denial of service.
///
/// Passwords are hashed from their UTF-8 bytes exactly as given: no truncation and no Unicode
/// normalisation (the caller decides; `PasswordPolicy` bounds the length).
///
/// Concurrency: at most `maximumConcurrentHashes` (2) derivations run at once per hasher;
/// further callers block until one finishes. With the default parameters each derivation
/// holds ~128 MiB and a core, so an unbounded burst of logins would exhaust memory or starve
/// the server. Callers are worker threads and may block; do not call from the socket loop
/// or from a Swift concurrency executor thread you cannot afford to block.
public final class PasswordHasher: Sendable {
    /// The parameters used for new hashes.
    public let parameters: ScryptParameters
    /// How many derivations may run at once.
    public let maximumConcurrentHashes: Int

    static let saltLength = 16
    static let keyLength = 32
    static let minimumStoredSaltLength = 8
    static let maximumStoredSaltLength = 64
    static let minimumStoredKeyLength = 16
    static let maximumStoredKeyLength = 64

    private let permits: DispatchSemaphore
    /// Background threads that run derivations at a lower priority, when asked for.
    private let lanes: HashingLanes?
    private let gauge = Mutex<(active: Int, maximum: Int, waiting: Int, started: Int)>((0, 0, 0, 0))
    /// Callers allowed to wait for a turn before the next one is refused with `.busy`.
    public let maximumWaiting: Int
    /// A salt for `dummyVerify`, random per process.
    private let dummySalt: [UInt8]

    /// A hasher making new hashes with `parameters`.
    ///
    /// - Precondition: `parameters.isWithinLimits` and `maximumConcurrentHashes >= 1`
    ///   (both are configuration chosen by the programmer, not input).
    public init(parameters: ScryptParameters = .default, maximumConcurrentHashes: Int = 2, lowPriority: Bool = false, maximumWaiting: Int = 64) {
        precondition(parameters.isWithinLimits, "PasswordHasher: scrypt parameters \(parameters) are outside the supported limits")
        precondition(maximumConcurrentHashes >= 1, "PasswordHasher: maximumConcurrentHashes must be at least 1")
        self.parameters = parameters
        self.maximumConcurrentHashes = maximumConcurrentHashes
        self.maximumWaiting = maximumWaiting
        self.permits = DispatchSemaphore(value: maximumConcurrentHashes)
        self.dummySalt = SecureRandom.bytes(Self.saltLength)
        self.lanes = lowPriority ? HashingLanes(threads: maximumConcurrentHashes) : nil
    }

    /// The encoded scrypt hash of `password` with the current parameters and a fresh salt.
    /// Blocks while `maximumConcurrentHashes` other hashes are running.
    public func hash(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(Self.saltLength)
        let key = try derive(Array(password.utf8), salt: salt, parameters: parameters, length: Self.keyLength)
        return Self.encode(parameters: parameters, salt: salt, key: key)
    }

    /// Whether `password` matches `encoded`.
    ///
    /// Returns `false` for a wrong password. Throws `PasswordHasherError.malformedHash` for a
    /// string this type did not write and `.unsupportedParameters` for one beyond the limits,
    /// without running scrypt. The final comparison is constant-time.
    public func verify(_ password: String, encoded: String) throws -> Bool {
        let stored = try Self.decode(encoded)
        let key = try derive(Array(password.utf8), salt: stored.salt, parameters: stored.parameters, length: stored.key.count)
        return Digest.constantTimeEquals(key, stored.key)
    }

    /// Spends the time (and memory) of verifying `password` against a current hash, for an
    /// unknown account, so that "no such user" and "wrong password" take the same time and
    /// pass through the same concurrency limit. Always "fails"; the result is discarded.
    public func dummyVerify(_ password: String = "") {
        _ = try? derive(Array(password.utf8), salt: dummySalt, parameters: parameters, length: Self.keyLength)
    }

    /// Whether `encoded` should be replaced by a fresh hash: true when any parameter, the
    /// salt or the key length is below the current setting, or when the string cannot be read.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let stored = try? Self.decode(encoded) else { return true }
        return stored.parameters.logN < parameters.logN
            || stored.parameters.r < parameters.r
            || stored.parameters.p < parameters.p
            || stored.salt.count < Self.saltLength
            || stored.key.count < Self.keyLength
    }

    /// Raw scrypt (RFC 7914) through OpenSSL, without the concurrency limit: for test vectors
    /// and key derivation. Throws if the parameters are beyond the limits.
    public static func scrypt(password: [UInt8], salt: [UInt8], parameters: ScryptParameters, length: Int) throws -> [UInt8] {
        guard parameters.isWithinLimits else { throw PasswordHasherError.unsupportedParameters(parameters.description) }
        precondition(length > 0 && length <= 1024, "scrypt output length out of range")
        var key = [UInt8](repeating: 0, count: length)
        let ok = password.withNonEmptyPointer { passPointer, passCount in
            salt.withNonEmptyPointer { saltPointer, saltCount in
                key.withUnsafeMutableBufferPointer { out in
                    EVP_PBE_scrypt(passPointer.assumingMemoryBound(to: CChar.self), passCount,
                                   saltPointer.assumingMemoryBound(to: UInt8.self), saltCount,
                                   parameters.n, UInt64(parameters.r), UInt64(parameters.p),
                                   parameters.maxMemory, out.baseAddress, out.count)
                }
            }
        }
        guard ok == 1 else { throw PasswordHasherError.derivationFailed(OpenSSLError.lastMessage()) }
        return key
    }

    // MARK: - Internals

    /// The most derivations seen running at once (for tests of the concurrency limit).
    var maxObservedConcurrency: Int { gauge.withLock { $0.maximum } }
    /// Callers waiting for a turn right now (for tests).
    var waitingCount: Int { gauge.withLock { $0.waiting } }
    /// How many derivations (hashes, verifications, dummy verifications) have started since
    /// this hasher was made: an operator's gauge, and the way a test proves a request cost none.
    public var derivationCount: Int { gauge.withLock { $0.started } }

    /// Runs `body` while holding one of the permits; exposed to tests through `@testable`.
    func withPermit<R>(_ body: () throws -> R) throws -> R {
        // Bound the queue: past `maximumWaiting` callers, refuse at once rather than let a
        // flood of logins hold every worker thread.
        let admitted = gauge.withLock { state -> Bool in
            guard state.waiting < maximumWaiting else { return false }
            state.waiting += 1
            return true
        }
        guard admitted else { throw PasswordHasherError.busy }
        permits.wait()
        gauge.withLock { state in
            state.waiting -= 1
            state.active += 1
            state.started += 1
            state.maximum = max(state.maximum, state.active)
        }
        defer {
            gauge.withLock { $0.active -= 1 }
            permits.signal()
        }
        return try body()
    }

    /// One derivation under the concurrency limit. With `lowPriority`, it runs on one of the
    /// hasher's own idle-priority threads while the caller waits, so pages keep being served
    /// while logins hash.
    private func derive(_ password: [UInt8], salt: [UInt8], parameters: ScryptParameters, length: Int) throws -> [UInt8] {
        try withPermit {
            guard let lanes else { return try Self.scrypt(password: password, salt: salt, parameters: parameters, length: length) }
            let outcome = Outcome()
            let done = DispatchSemaphore(value: 0)
            lanes.run {
                outcome.result = Result { try Self.scrypt(password: password, salt: salt, parameters: parameters, length: length) }
                done.signal()
            }
            done.wait()
            return try outcome.result!.get()
        }
    }

    /// Carries a lane's result back to the waiting caller (written before the semaphore is
    /// signalled, read after it is waited on).
    private final class Outcome: @unchecked Sendable {
        var result: Result<[UInt8], any Error>?
    }

    struct Stored {
        var parameters: ScryptParameters
        var salt: [UInt8]
        var key: [UInt8]
    }

    static func encode(parameters: ScryptParameters, salt: [UInt8], key: [UInt8]) -> String {
        "$scrypt$\(parameters)$\(Base64.encode(salt, padding: false))$\(Base64.encode(key, padding: false))"
    }

    /// Parses `$scrypt$ln=<n>,r=<n>,p=<n>$<salt>$<key>` strictly.
    static func decode(_ encoded: String) throws -> Stored {
        // Bound the input before any work: a real hash is ~100 bytes.
        guard encoded.utf8.count <= 512 else { throw PasswordHasherError.malformedHash }
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else {
            throw PasswordHasherError.malformedHash
        }
        let pairs = fields[2].split(separator: ",", omittingEmptySubsequences: false)
        guard pairs.count == 3 else { throw PasswordHasherError.malformedHash }
        var values: [Int] = []
        for (pair, name) in zip(pairs, ["ln", "r", "p"]) {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name,
                  (1...4).contains(parts[1].utf8.count),
                  parts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let value = Int(parts[1]) else {
                throw PasswordHasherError.malformedHash
            }
            values.append(value)
        }
        let parameters = ScryptParameters(logN: values[0], r: values[1], p: values[2])
        guard parameters.isWithinLimits else {
            throw PasswordHasherError.unsupportedParameters(parameters.description)
        }
        guard fields[3].utf8.allSatisfy({ $0 != UInt8(ascii: "=") }),
              fields[4].utf8.allSatisfy({ $0 != UInt8(ascii: "=") }),
              let salt = Base64.decode(String(fields[3])),
              let key = Base64.decode(String(fields[4])),
              (minimumStoredSaltLength...maximumStoredSaltLength).contains(salt.count),
              (minimumStoredKeyLength...maximumStoredKeyLength).contains(key.count) else {
            throw PasswordHasherError.malformedHash
        }
        return Stored(parameters: parameters, salt: salt, key: key)
    }
}

/// A few threads that run password derivations under Linux's `SCHED_IDLE` policy: they get
/// a core only when no ordinary thread wants it, and a request-handling thread that wakes up
/// takes it back at once (nice 19 still left them a small share of a busy core). Any thread
/// may lower its own policy; each lane does so at start.
final class HashingLanes: @unchecked Sendable {
    // `jobs` is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    /// `SCHED_IDLE` from <sched.h>, which Glibc's Swift module leaves out (it is _GNU_SOURCE).
    static let schedIdle: Int32 = 5

    init(threads: Int) {
        for i in 0..<threads {
            let t = Thread { [self] in
                Thread.current.name = "password-hash-\(i)" // from inside: on Linux only the running thread can name itself
                var param = sched_param()
                if sched_setscheduler(0, Self.schedIdle, &param) != 0 { // this thread only (Linux); if refused, nice 19
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
                }
                loop()
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    func run(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
