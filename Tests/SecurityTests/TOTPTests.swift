import Testing
@testable import Security

@Suite struct TOTPTests {
    static let seed1 = bytes("12345678901234567890")
    static let seed256 = bytes("12345678901234567890123456789012")
    static let seed512 = bytes("1234567890123456789012345678901234567890123456789012345678901234")

    // RFC 6238 appendix B: time, SHA-1, SHA-256, SHA-512 (8 digits, 30 s).
    static let rfc6238: [(Int64, String, String, String)] = [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ]

    @Test(arguments: rfc6238)
    func rfc6238Vectors(time: Int64, sha1: String, sha256: String, sha512: String) {
        #expect(TOTP.code(secret: Self.seed1, at: time, algorithm: .sha1, digits: 8) == sha1)
        #expect(TOTP.code(secret: Self.seed256, at: time, algorithm: .sha256, digits: 8) == sha256)
        #expect(TOTP.code(secret: Self.seed512, at: time, algorithm: .sha512, digits: 8) == sha512)
        // The default 6-digit code is the last six digits of the same truncation.
        #expect(TOTP.code(secret: Self.seed1, at: time) == String(sha1.suffix(6)))
    }

    @Test func rfc6238Steps() {
        #expect(TOTP.step(at: 59) == 1)
        #expect(TOTP.step(at: 1111111109) == 0x23523EC)
        #expect(TOTP.step(at: 2000000000) == 0x3F940AA)
        #expect(TOTP.step(at: 20000000000) == 0x27BC86AA)
        #expect(TOTP.step(at: 0) == 0)
        #expect(TOTP.step(at: 29) == 0)
        #expect(TOTP.step(at: 30) == 1)
        #expect(TOTP.step(at: -1) == -1)
    }

    // RFC 4226 appendix D.
    @Test func rfc4226HOTPValues() {
        let expected = ["755224", "287082", "359152", "969429", "338314",
                        "254676", "287922", "162583", "399871", "520489"]
        for (counter, code) in expected.enumerated() {
            #expect(TOTP.hotp(secret: Self.seed1, counter: UInt64(counter)) == code, "counter \(counter)")
        }
    }

    static let now: Int64 = 1111111109
    static func codeAt(_ time: Int64) -> String { TOTP.code(secret: seed1, at: time) }

    @Test func windowAcceptsCurrentAndNeighbours() {
        let current = TOTP.step(at: Self.now)
        #expect(TOTP.verify(code: Self.codeAt(Self.now), secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == current)
        #expect(TOTP.verify(code: Self.codeAt(Self.now - 30), secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == current - 1)
        #expect(TOTP.verify(code: Self.codeAt(Self.now + 30), secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == current + 1)
    }

    @Test func windowRejectsTwoStepsAway() {
        #expect(TOTP.verify(code: Self.codeAt(Self.now - 60), secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == nil)
        #expect(TOTP.verify(code: Self.codeAt(Self.now + 60), secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == nil)
        // A zero window accepts only the current step.
        #expect(TOTP.verify(code: Self.codeAt(Self.now - 30), secret: Self.seed1, at: Self.now, window: 0, lastAcceptedStep: nil) == nil)
        #expect(TOTP.verify(code: Self.codeAt(Self.now), secret: Self.seed1, at: Self.now, window: 0, lastAcceptedStep: nil) != nil)
    }

    @Test func replayIsRejected() {
        let code = Self.codeAt(Self.now)
        let accepted = TOTP.verify(code: code, secret: Self.seed1, at: Self.now, lastAcceptedStep: nil)
        #expect(accepted != nil)
        // The same code (same step) a second time, even a few seconds later.
        #expect(TOTP.verify(code: code, secret: Self.seed1, at: Self.now + 1, lastAcceptedStep: accepted) == nil)
        // An older step after a newer one was accepted.
        #expect(TOTP.verify(code: Self.codeAt(Self.now - 30), secret: Self.seed1, at: Self.now, lastAcceptedStep: accepted) == nil)
        // A newer step is still fine.
        let next = TOTP.verify(code: Self.codeAt(Self.now + 30), secret: Self.seed1, at: Self.now, lastAcceptedStep: accepted)
        #expect(next == accepted.map { $0 + 1 })
    }

    @Test(arguments: ["", "12345", "1234567", "12 456", "abcdef", "１２３４５６", "+12345", "-12345", " 123456"])
    func malformedCodesAreRejected(_ code: String) {
        #expect(TOTP.verify(code: code, secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == nil)
    }

    @Test func verifyWithExplicitAlgorithmAndDigits() {
        // RFC 6238's SHA-256 vector at 1111111109, accepted only with matching settings.
        let step = TOTP.step(at: 1111111109)
        #expect(TOTP.verify(code: "68084774", secret: Self.seed256, at: 1111111109, lastAcceptedStep: nil,
                            algorithm: .sha256, digits: 8) == step)
        #expect(TOTP.verify(code: "68084774", secret: Self.seed256, at: 1111111109, lastAcceptedStep: nil) == nil)
        #expect(TOTP.verify(code: "084774", secret: Self.seed256, at: 1111111109, lastAcceptedStep: nil,
                            algorithm: .sha256, digits: 8) == nil)
    }

    @Test func wrongSecretIsRejected() {
        let other = TOTP.generateSecret()
        #expect(TOTP.verify(code: Self.codeAt(Self.now), secret: other, at: Self.now, lastAcceptedStep: nil) == nil)
    }

    @Test func generatedSecrets() {
        let a = TOTP.generateSecret(), b = TOTP.generateSecret()
        #expect(a.count == 20)
        #expect(a != b)
        #expect(Base32.encode(a).count == 32)
    }

    @Test func otpauthURL() {
        let secret = bytes("12345678901234567890")
        let url = TOTP.otpauthURL(secret: secret, account: "alice@example.com", issuer: "Acme Pay")
        #expect(url == "otpauth://totp/Acme%20Pay:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                + "&issuer=Acme%20Pay&algorithm=SHA1&digits=6&period=30")
        // A colon inside issuer or account is encoded; the separator colon stays literal.
        let tricky = TOTP.otpauthURL(secret: secret, account: "a:b&c=d?é", issuer: "X:Y/Z")
        #expect(tricky.hasPrefix("otpauth://totp/X%3AY%2FZ:a%3Ab%26c%3Dd%3F%C3%A9?secret="))
        #expect(tricky.contains("&issuer=X%3AY%2FZ&"))
    }

    @Test func groupedSecret() {
        #expect(TOTP.groupedSecret("JBSWY3DPEHPK3PXP") == "JBSW Y3DP EHPK 3PXP")
        #expect(TOTP.groupedSecret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ")
        #expect(TOTP.groupedSecret("ABCDEF") == "ABCD EF")
        #expect(TOTP.groupedSecret("") == "")
    }

    @Test func aCodeAlreadyUsedIsToldFromAWrongOne() {
        let step = TOTP.step(at: Self.now)
        let code = Self.codeAt(Self.now)
        #expect(TOTP.check(code: code, secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == .accepted(step: step))
        #expect(TOTP.check(code: code, secret: Self.seed1, at: Self.now, lastAcceptedStep: step) == .alreadyUsed)
        #expect(TOTP.check(code: Self.codeAt(Self.now - 30), secret: Self.seed1, at: Self.now, lastAcceptedStep: step) == .alreadyUsed)
        #expect(TOTP.check(code: "000000" == code ? "111111" : "000000", secret: Self.seed1, at: Self.now, lastAcceptedStep: step) == .wrong)
        #expect(TOTP.check(code: "12ab56", secret: Self.seed1, at: Self.now, lastAcceptedStep: nil) == .wrong)
        // The next step's code is still accepted after this one was used.
        #expect(TOTP.check(code: Self.codeAt(Self.now + 30), secret: Self.seed1, at: Self.now, lastAcceptedStep: step) == .accepted(step: step + 1))
    }
}
