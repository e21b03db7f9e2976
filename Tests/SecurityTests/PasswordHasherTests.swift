import Foundation
import Synchronization
import Testing
@testable import Security

@Suite struct PasswordHasherTests {
    static let cheap = ScryptParameters(logN: 10, r: 8, p: 1)
    let hasher = PasswordHasher(parameters: cheap)

    // RFC 7914 §12 (the 2^20 vector is skipped: 1 GiB and seconds of CPU).
    @Test func rfc7914Vectors() throws {
        #expect(try PasswordHasher.scrypt(password: [], salt: [], parameters: .init(logN: 4, r: 1, p: 1), length: 64) == hex("""
            77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
            fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06
            """))
        #expect(try PasswordHasher.scrypt(password: bytes("password"), salt: bytes("NaCl"),
                                          parameters: .init(logN: 10, r: 8, p: 16), length: 64) == hex("""
            fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
            2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40
            """))
        #expect(try PasswordHasher.scrypt(password: bytes("pleaseletmein"), salt: bytes("SodiumChloride"),
                                          parameters: .init(logN: 14, r: 8, p: 1), length: 64) == hex("""
            70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2
            d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87
            """))
    }

    @Test func defaultParametersAreTheInteractiveSetting() {
        #expect(ScryptParameters.default == ScryptParameters(logN: 17, r: 8, p: 1))
        #expect(ScryptParameters.default.isWithinLimits)
        #expect(ScryptParameters.default.maxMemory > 128 * 8 * (1 << 17))
    }

    @Test func roundTrip() throws {
        let encoded = try hasher.hash("correct horse battery staple")
        #expect(encoded.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        let fields = encoded.split(separator: "$")
        #expect(fields.count == 4)
        #expect(Base64.decode(String(fields[2]))?.count == 16)
        #expect(Base64.decode(String(fields[3]))?.count == 32)
        #expect(try hasher.verify("correct horse battery staple", encoded: encoded))
        #expect(try !hasher.verify("correct horse battery stapl", encoded: encoded))
        #expect(try !hasher.verify("Correct horse battery staple", encoded: encoded))
        #expect(try !hasher.verify("", encoded: encoded))
        // Fresh salt each time.
        #expect(try hasher.hash("correct horse battery staple") != encoded)
    }

    @Test func lowPriorityLanesGiveTheSameAnswersWithinTheLimit() throws {
        let hasher = PasswordHasher(parameters: Self.cheap, maximumConcurrentHashes: 2, lowPriority: true)
        let encoded = try hasher.hash("lanes and lanes")
        #expect(try hasher.verify("lanes and lanes", encoded: encoded))
        #expect(try !hasher.verify("lanes and lane", encoded: encoded))
        // Many callers at once: all answered, never more than two derivations running.
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            #expect((try? hasher.verify("lanes and lanes", encoded: encoded)) == true)
        }
        #expect(hasher.maxObservedConcurrency <= 2)
        #expect(throws: (any Error).self) { try hasher.verify("x", encoded: "$scrypt$ln=30,r=8,p=1$AAAA$AAAA") }
    }

    @Test func passwordsAreHashedWhole() throws {
        // No truncation at 72 bytes (bcrypt's limit) or at a NUL, no normalisation.
        let long = String(repeating: "a", count: 100)
        let encoded = try hasher.hash(long + "1")
        #expect(try !hasher.verify(long + "2", encoded: encoded))
        let withNUL = try hasher.hash("pass\u{0}word")
        #expect(try !hasher.verify("pass", encoded: withNUL))
        #expect(try hasher.verify("pass\u{0}word", encoded: withNUL))
        let composed = try hasher.hash("caf\u{E9}")
        #expect(try hasher.verify("caf\u{E9}", encoded: composed))
        // Swift's String == treats these as equal; the hash must not (bytes as given).
        #expect(try !hasher.verify("cafe\u{301}", encoded: composed))
    }

    @Test(arguments: [
        "", "$", "$scrypt$", "$scrypt$ln=10,r=8,p=1$", "scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$bcrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$r=8,ln=10,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=abc,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=-1,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=+9,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // 3-byte salt
        "$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA", // 3-byte key
        "$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
        "$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$" + String(repeating: "A", count: 600) + "$AAAA",
        "$scrypt$ln=10,r=8,p=1,x=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ])
    func malformedEncodingsThrow(_ encoded: String) {
        #expect(throws: PasswordHasherError.malformedHash) { try hasher.verify("password", encoded: encoded) }
        #expect(hasher.needsRehash(encoded))
    }

    @Test func tamperedHashFails() throws {
        let encoded = try hasher.hash("hunter2hunter2")
        var fields = encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        var key = Base64.decode(fields[4])!
        key[0] ^= 1
        fields[4] = Base64.encode(key, padding: false)
        #expect(try !hasher.verify("hunter2hunter2", encoded: fields.joined(separator: "$")))
        var salt = Base64.decode(fields[3])!
        salt[5] ^= 0x80
        fields = encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        fields[3] = Base64.encode(salt, padding: false)
        #expect(try !hasher.verify("hunter2hunter2", encoded: fields.joined(separator: "$")))
        // Lowering the cost in the stored row changes the result too.
        let cheaper = encoded.replacingOccurrences(of: "ln=10", with: "ln=9")
        #expect(try !hasher.verify("hunter2hunter2", encoded: cheaper))
    }

    @Test(arguments: ["ln=21,r=8,p=1", "ln=40,r=8,p=1", "ln=0,r=8,p=1", "ln=10,r=8,p=17", "ln=10,r=1000,p=1",
                      "ln=10,r=0,p=1", "ln=10,r=8,p=0", "ln=20,r=8,p=16", "ln=20,r=32,p=1"])
    func absurdParametersAreRefusedWithoutWork(_ parameters: String) {
        let encoded = "$scrypt$\(parameters)$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        let start = ContinuousClock.now
        #expect(throws: PasswordHasherError.self) { try hasher.verify("password", encoded: encoded) }
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(hasher.maxObservedConcurrency == 0, "scrypt must not even start")
    }

    @Test func hugeNumbersAreMalformedNotCrashes() {
        let encoded = "$scrypt$ln=99999999999999999999,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        #expect(throws: PasswordHasherError.self) { try hasher.verify("password", encoded: encoded) }
    }

    @Test func needsRehashWhenParametersRise() throws {
        let encoded = try hasher.hash("a fine password")
        #expect(!hasher.needsRehash(encoded))
        #expect(PasswordHasher(parameters: .init(logN: 11, r: 8, p: 1)).needsRehash(encoded))
        #expect(PasswordHasher(parameters: .init(logN: 10, r: 9, p: 1)).needsRehash(encoded))
        #expect(PasswordHasher(parameters: .init(logN: 10, r: 8, p: 2)).needsRehash(encoded))
        #expect(!PasswordHasher(parameters: .init(logN: 9, r: 8, p: 1)).needsRehash(encoded))
        // An old hash still verifies under a hasher with higher parameters.
        #expect(try PasswordHasher(parameters: .init(logN: 11, r: 8, p: 1)).verify("a fine password", encoded: encoded))
    }

    @Test func dummyVerifyRunsScrypt() {
        hasher.dummyVerify()
        hasher.dummyVerify("some typed password")
        #expect(hasher.maxObservedConcurrency == 1)
    }

    @Test func atMostTwoHashesRunAtOnce() {
        let hasher = PasswordHasher(parameters: .init(logN: 12, r: 8, p: 1))
        let results = Mutex<[Bool]>([])
        runOnThreads(6) { index in
            let ok = (try? hasher.verify("pw\(index)", encoded: hasher.hash("pw\(index)"))) ?? false
            results.withLock { $0.append(ok) }
        }
        #expect(results.withLock { $0 } == Array(repeating: true, count: 6))
        #expect((1...2).contains(hasher.maxObservedConcurrency), "observed \(hasher.maxObservedConcurrency)")
    }

    @Test func permitsLimitOverlappingWork() {
        // Bodies that linger make overlap certain: the limit must hold at exactly 2…
        let limited = PasswordHasher(parameters: Self.cheap, maximumConcurrentHashes: 2)
        runOnThreads(6) { _ in _ = try? limited.withPermit { _ = usleep(30_000) } }
        #expect(limited.maxObservedConcurrency == 2)

        // …and the gauge would notice more: with 6 permits, all 6 bodies meet inside at once.
        let unlimited = PasswordHasher(parameters: Self.cheap, maximumConcurrentHashes: 6)
        let inside = Mutex(0)
        runOnThreads(6) { _ in
            _ = try? unlimited.withPermit {
                inside.withLock { $0 += 1 }
                let deadline = ContinuousClock.now + .seconds(10)
                while inside.withLock({ $0 }) < 6 && ContinuousClock.now < deadline { usleep(1_000) }
            }
        }
        #expect(unlimited.maxObservedConcurrency == 6)
    }

    @Test func aFullQueueRefusesInsteadOfWaiting() {
        // One turn at a time and room for one waiter: of three callers that overlap, the
        // third is refused at once.
        let hasher = PasswordHasher(parameters: Self.cheap, maximumConcurrentHashes: 1, maximumWaiting: 1)
        let results = Mutex<[String]>([])
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let first = Thread {
            _ = try? hasher.withPermit { inside.signal(); release.wait() }
        }
        first.start()
        inside.wait()
        let second = Thread {
            do { try hasher.withPermit {}; results.withLock { $0.append("ok") } } catch { results.withLock { $0.append("\(error)") } }
        }
        second.start()
        let deadline = ContinuousClock.now + .seconds(10)
        while hasher.waitingCount < 1 && ContinuousClock.now < deadline { usleep(1_000) }
        #expect(hasher.waitingCount == 1)
        if hasher.waitingCount == 1 { // (else the call below would wait behind the first)
            #expect(throws: PasswordHasherError.busy) { try hasher.withPermit {} }
        }
        release.signal()
        usleep(100_000)
        #expect(results.withLock { $0 } == ["ok"])
    }
}
