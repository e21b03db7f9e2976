import Testing
@testable import Security

@Suite struct DigestTests {
    @Test func sha256KnownAnswers() {
        #expect(Digest.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256(bytes("abc")) == hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
    }

    @Test func hmacKnownAnswers() {
        // RFC 2202 test case 2 and RFC 4231 test case 2.
        let key = bytes("Jefe"), message = bytes("what do ya want for nothing?")
        #expect(Digest.hmacSHA1(key: key, message: message) == hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
        #expect(Digest.hmacSHA256(key: key, message: message)
                == hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        #expect(Digest.hmacSHA512(key: key, message: message) == hex("""
            164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
            9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737
            """))
        // An empty key and message must work too (RFC 4231 has no such case; just no crash).
        #expect(Digest.hmacSHA256(key: [], message: []).count == 32)
    }

    @Test func constantTimeEquals() {
        #expect(Digest.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Digest.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Digest.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(Digest.constantTimeEquals([], []))
        #expect(!Digest.constantTimeEquals([], [0]))
        #expect(Digest.constantTimeEquals("abc", "abc"))
        #expect(!Digest.constantTimeEquals("abc", "abd"))
    }
}

@Suite struct SecureRandomTests {
    @Test func bytesAndTokens() {
        #expect(SecureRandom.bytes(0).isEmpty)
        #expect(SecureRandom.bytes(100).count == 100)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        let token = SecureRandom.token()
        #expect(token.count == 43)
        #expect(Base64URL.decode(token)?.count == 32)
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        let tokens = Set((0..<1000).map { _ in SecureRandom.token(bytes: 16) })
        #expect(tokens.count == 1000)
    }

    /// The pool hands out each byte once, across its refills, from many threads at once; its
    /// bytes are as evenly spread as the CSPRNG's; large draws still come whole.
    @Test func pooledBytesAreFreshEveryDrawAndEven() async {
        #expect(SecureRandom.pooledBytes(0).isEmpty)
        #expect(SecureRandom.pooledBytes(1).count == 1 && SecureRandom.pooledBytes(256).count == 256)
        #expect(SecureRandom.pooledBytes(5000).count == 5000)
        // 8 threads × 250 draws of 32 bytes: 64 KB, sixteen refills of the 4 KB pool.
        let draws = await withTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<8 { group.addTask { (0..<250).map { _ in SecureRandom.pooledBytes(32) } } }
            var all: [[UInt8]] = []
            for await d in group { all += d }
            return all
        }
        #expect(draws.count == 2000 && Set(draws).count == 2000)
        // Any byte handed out twice would show as a repeated 8-byte window across draws.
        var windows = Set<[UInt8]>()
        for d in draws { for i in stride(from: 0, to: 32, by: 8) { windows.insert(Array(d[i..<i + 8])) } }
        #expect(windows.count == 8000)
        var counts = [Int](repeating: 0, count: 256)
        for d in draws { for b in d { counts[Int(b)] += 1 } }
        // 64,000 bytes: 250 each expected, σ ≈ 16: ±120 is over 7σ.
        #expect(counts.allSatisfy { (130...370).contains($0) }, "\(counts)")
    }

    @Test func uniformIndex() {
        #expect(SecureRandom.index(below: 1) == 0)
        let n = 31, draws = 31_000
        var counts = [Int](repeating: 0, count: n)
        for _ in 0..<draws { counts[SecureRandom.index(below: n)] += 1 }
        // Expected 1000 each, standard deviation ≈ 31: ±250 is ~8 sigma.
        #expect(counts.allSatisfy { (750...1250).contains($0) }, "\(counts)")
        // Large bounds: no overflow, stays in range.
        for _ in 0..<100 {
            #expect((0..<Int.max).contains(SecureRandom.index(below: Int.max)))
        }
    }

    @Test("Random strings use every letter equally often, also when the alphabet's size does not divide 256")
    func uniformStrings() {
        // 95 letters: 256 % 95 = 66, so `byte % 95` without rejection would draw the first
        // 66 letters 3/256 of the time (4,687 of 400,000) and the others 2/256 (3,125).
        let alphabet = (0..<95).map { UInt8(32 + $0) }
        var perLetter = [Int](repeating: 0, count: 95)
        for _ in 0..<4_000 {
            for b in SecureRandom.string(length: 100, ascii: alphabet).utf8 { perLetter[Int(b) - 32] += 1 }
        }
        // Expected 4,210 each, σ ≈ 65: ±400 is ~6σ, and rules out both biased counts.
        #expect(perLetter.allSatisfy { (3_810...4_610).contains($0) }, "\(perLetter)")
        #expect(SecureRandom.string(length: 0, ascii: alphabet).isEmpty)
        let s = SecureRandom.string(length: 37, alphabet: Array("abc"))
        #expect(s.count == 37 && s.allSatisfy { "abc".contains($0) })
    }
}
