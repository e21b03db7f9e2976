import Foundation
import Testing
@testable import Security

/// Certificates made by the `openssl` command in a temporary directory; the parsed fields are
/// checked against what `openssl x509` itself prints for the same file.
final class OpenSSLWorkshop: @unchecked Sendable {
    let directory: String

    init() throws {
        directory = try makeTemporaryDirectory()
        try write("db/index.txt", "")
        try write("db/serial", "1000\n")
        try write("ca.cnf", """
        [ ca ]
        default_ca = d
        [ d ]
        database = db/index.txt
        new_certs_dir = db
        serial = db/serial
        default_md = sha256
        policy = p
        unique_subject = no
        [ p ]
        commonName = supplied
        """)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ name: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path(name))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLCommandFailed(arguments: arguments, stderr: String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A self-signed certificate `name.pem` (key in `name.key`) for `key` (`rsa:2048`,
    /// `ec -pkeyopt ec_paramgen_curve:P-256`, …), valid from yesterday for 30 days.
    func selfSigned(_ name: String, key: [String], subject: String = "/C=NL/O=Example B.V./CN=api.example.com",
                    san: String? = "subjectAltName=DNS:api.example.com,DNS:*.example.org,IP:127.0.0.1,IP:::1,URI:https://example.com/app,email:ops@example.com") throws {
        var arguments = ["req", "-x509", "-newkey"] + key + ["-nodes", "-keyout", name + ".key", "-out", name + ".pem",
                                                            "-days", "30", "-subj", subject]
        if let san { arguments += ["-addext", san] }
        try openssl(arguments)
    }

    /// A self-signed RSA certificate with explicit validity (OpenSSL 3.0's `req` has no
    /// `-not_before`/`-not_after`; `ca -selfsign` takes `-startdate`/`-enddate`).
    func dated(_ name: String, start: String, end: String) throws {
        try openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                     "-subj", "/CN=\(name).example.com"])
        try openssl(["ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", name + ".key", "-in", name + ".csr",
                     "-out", name + ".pem", "-startdate", start, "-enddate", end, "-notext"])
    }

    /// What `openssl x509` prints for `file`: fingerprint, subject, issuer, serial.
    func reference(_ file: String, inform: String = "PEM") throws -> (fingerprint: String, subject: String, issuer: String, serial: String) {
        let text = try openssl(["x509", "-in", file, "-inform", inform, "-noout", "-fingerprint", "-sha256",
                                "-subject", "-issuer", "-serial", "-nameopt", "RFC2253,-esc_msb"])
        func value(_ prefix: String) -> String {
            let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) } ?? ""
            return String(line.dropFirst(prefix.count))
        }
        return (value("sha256 Fingerprint="), value("subject="), value("issuer="), value("serial="))
    }
}

struct OpenSSLCommandFailed: Error, CustomStringConvertible {
    var arguments: [String]
    var stderr: String
    var description: String { "openssl \(arguments.joined(separator: " ")): \(stderr)" }
}

@Suite struct CertificateTests {
    /// Read at each use: tests run in parallel, and a certificate made after a fixed "now" would not be valid yet.
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    @Test func rsa2048PEMMatchesOpenSSL() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("rsa", key: ["rsa:2048"])
        let cert = try Certificate.parse(try w.read("rsa.pem"), now: Self.now)
        let ref = try w.reference("rsa.pem")
        #expect(cert.sha256Fingerprint == ref.fingerprint)
        #expect(cert.subject == ref.subject)
        #expect(cert.subject == "CN=api.example.com,O=Example B.V.,C=NL")
        #expect(cert.issuer == ref.issuer)
        #expect(cert.serialHex == ref.serial)
        #expect(cert.keyType == .rsa(bits: 2048))
        #expect(cert.keyType.description == "RSA 2048")
        #expect(cert.alternativeNames == [
            .dns("api.example.com"), .dns("*.example.org"), .ip("127.0.0.1"), .ip("::1"),
            .uri("https://example.com/app"), .email("ops@example.com"),
        ])
        // Validity: yesterday-ish to 30 days on, as `-days 30` made it.
        #expect(abs(cert.notBefore - Self.now) < 120)
        #expect(cert.notAfter - cert.notBefore == 30 * 86_400)
        // x5t#S256 is the same digest in base64url.
        let digest = Hex.decode(ref.fingerprint.replacingOccurrences(of: ":", with: ""))!
        #expect(cert.x5tS256 == Base64URL.encode(digest))
        #expect(cert.x5tS256.count == 43)
    }

    @Test func dateFieldsMatchOpenSSL() throws {
        let w = try OpenSSLWorkshop()
        try w.dated("fixed", start: "20240301120000Z", end: "20990101000000Z")
        let cert = try Certificate.parse(try w.read("fixed.pem"), now: Self.now)
        #expect(cert.notBefore == 1_709_294_400)
        #expect(cert.notAfter == 4_070_908_800)
        #expect(cert.serialHex == "1000")
        #expect(cert.alternativeNames.isEmpty)
        #expect(cert.subject == "CN=fixed.example.com")
    }

    @Test func derIsParsedLikePEM() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("rsa", key: ["rsa:2048"])
        try w.openssl(["x509", "-in", "rsa.pem", "-outform", "DER", "-out", "rsa.der"])
        let der = try w.read("rsa.der")
        let fromDER = try Certificate.parse(der, now: Self.now)
        let fromPEM = try Certificate.parse(try w.read("rsa.pem"), now: Self.now)
        #expect(fromDER == fromPEM)
        #expect(fromDER.der == der)
        #expect(fromDER.sha256Fingerprint == (try w.reference("rsa.der", inform: "DER")).fingerprint)
    }

    @Test func ecCurvesP256AndP384AreAccepted() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("p256", key: ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], san: nil)
        try w.selfSigned("p384", key: ["ec", "-pkeyopt", "ec_paramgen_curve:P-384"], san: nil)
        let p256 = try Certificate.parse(try w.read("p256.pem"), now: Self.now)
        let p384 = try Certificate.parse(try w.read("p384.pem"), now: Self.now)
        #expect(p256.keyType == .ec(curve: "P-256"))
        #expect(p384.keyType == .ec(curve: "P-384"))
        #expect(p256.keyType.description == "EC P-256")
        #expect(p256.sha256Fingerprint == (try w.reference("p256.pem")).fingerprint)
        #expect(p256.alternativeNames.isEmpty)
    }

    @Test func secp256k1IsRefused() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("k1", key: ["ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"], san: nil)
        #expect(throws: CertificateError.unsupportedCurve(name: "secp256k1")) {
            try Certificate.parse(try w.read("k1.pem"), now: Self.now)
        }
    }

    @Test func rsa1024IsRefused() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("small", key: ["rsa:1024"], san: nil)
        let error = #expect(throws: CertificateError.self) { try Certificate.parse(try w.read("small.pem"), now: Self.now) }
        #expect(error == .rsaTooSmall(bits: 1024))
        #expect(error?.message.contains("2048") == true)
    }

    @Test func ed25519IsRefusedAsAnotherKeyType() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("ed", key: ["ed25519"], san: nil)
        #expect(throws: CertificateError.unsupportedKeyType(name: "ED25519")) {
            try Certificate.parse(try w.read("ed.pem"), now: Self.now)
        }
    }

    @Test func expiredAndNotYetValidAreRefused() throws {
        let w = try OpenSSLWorkshop()
        try w.dated("old", start: "20200101000000Z", end: "20210101000000Z")
        try w.dated("future", start: "20990101000000Z", end: "20991231000000Z")
        #expect(throws: CertificateError.expired(notAfter: 1_609_459_200)) {
            try Certificate.parse(try w.read("old.pem"), now: Self.now)
        }
        #expect(throws: CertificateError.notYetValid(notBefore: 4_070_908_800)) {
            try Certificate.parse(try w.read("future.pem"), now: Self.now)
        }
        // The same certificates at a time inside their window are accepted: `now` decides.
        #expect(try Certificate.parse(try w.read("old.pem"), now: 1_600_000_000).notAfter == 1_609_459_200)
        #expect(try Certificate.parse(try w.read("future.pem"), now: 4_071_000_000).notBefore == 4_070_908_800)
    }

    @Test func anyPrivateKeyIsRefused() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("rsa", key: ["rsa:2048"])
        let certificate = try w.read("rsa.pem")
        let pkcs8 = try w.read("rsa.key")
        #expect(String(decoding: pkcs8, as: UTF8.self).contains("BEGIN PRIVATE KEY"))
        try w.openssl(["rsa", "-in", "rsa.key", "-traditional", "-out", "rsa-traditional.key"])
        try w.openssl(["pkcs8", "-topk8", "-in", "rsa.key", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-out", "rsa-encrypted.key"])
        try w.openssl(["pkey", "-in", "rsa.key", "-outform", "DER", "-out", "rsa-key.der"])
        try w.openssl(["pkcs8", "-topk8", "-in", "rsa.key", "-outform", "DER", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-out", "rsa-encrypted-key.der"])
        try w.selfSigned("ec", key: ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], san: nil)
        try w.openssl(["ec", "-in", "ec.key", "-out", "ec-traditional.key"])
        try w.openssl(["x509", "-in", "rsa.pem", "-outform", "DER", "-out", "rsa.der"])

        let uploads: [(String, [UInt8])] = [
            ("certificate then PKCS#8 key", certificate + pkcs8),
            ("key then certificate", pkcs8 + certificate),
            ("traditional RSA key", try w.read("rsa-traditional.key") + certificate),
            ("encrypted PKCS#8 key", certificate + (try w.read("rsa-encrypted.key"))),
            ("EC key", try w.read("ec-traditional.key") + (try w.read("ec.pem"))),
            ("key alone", pkcs8),
            ("DER key", try w.read("rsa-key.der")),
            ("DER encrypted key", try w.read("rsa-encrypted-key.der")),
            ("DER certificate followed by DER key", try w.read("rsa.der") + (try w.read("rsa-key.der"))),
            ("an unterminated key block", certificate + Array("-----BEGIN PRIVATE KEY-----\nMIIE\n".utf8)),
        ]
        for (label, upload) in uploads {
            #expect(throws: CertificateError.containsPrivateKey, "\(label)") { try Certificate.parse(upload, now: Self.now) }
        }
        #expect(CertificateError.containsPrivateKey.message.contains("we never want your private key; nothing of it was kept"))
    }

    @Test func chainDescribesTheFirstCertificate() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("leaf", key: ["rsa:2048"])
        try w.selfSigned("other", key: ["ec", "-pkeyopt", "ec_paramgen_curve:P-384"], subject: "/CN=Other CA", san: nil)
        let chain = try w.read("leaf.pem") + Array("\n".utf8) + (try w.read("other.pem"))
        let cert = try Certificate.parse(chain, now: Self.now)
        #expect(cert.sha256Fingerprint == (try w.reference("leaf.pem")).fingerprint)
        // CRLF line ends and text around the block are fine.
        let crlf = Array(("Bag Attributes\r\n" + String(decoding: try w.read("leaf.pem"), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: "\r\n")).utf8)
        #expect(try Certificate.parse(crlf, now: Self.now) == cert)
    }

    @Test func garbageIsNotACertificate() throws {
        let w = try OpenSSLWorkshop()
        try w.selfSigned("rsa", key: ["rsa:2048"])
        try w.openssl(["req", "-new", "-key", "rsa.key", "-out", "rsa.csr", "-subj", "/CN=x"])
        try w.openssl(["x509", "-in", "rsa.pem", "-pubkey", "-noout", "-out", "rsa.pub"])
        let pem = String(decoding: try w.read("rsa.pem"), as: UTF8.self)
        var truncatedDER = try Certificate.parse(try w.read("rsa.pem"), now: Self.now).der
        truncatedDER.removeLast(10)
        let garbage: [(String, [UInt8])] = [
            ("empty", []),
            ("text", Array("hello, this is not a certificate".utf8)),
            ("random bytes", SecureRandom.bytes(600)),
            ("certificate request", try w.read("rsa.csr")),
            ("public key", try w.read("rsa.pub")),
            ("broken base64", Array(pem.replacingOccurrences(of: "M", with: "!").utf8)),
            ("mismatched END", Array(pem.replacingOccurrences(of: "END CERTIFICATE", with: "END X").utf8)),
            ("truncated DER", truncatedDER),
            ("DER with trailing bytes", (try Certificate.parse(try w.read("rsa.pem"), now: Self.now).der) + [0, 1, 2]),
        ]
        for (label, upload) in garbage {
            #expect(throws: CertificateError.notACertificate, "\(label)") { try Certificate.parse(upload, now: Self.now) }
        }
        #expect(throws: CertificateError.tooLarge) {
            try Certificate.parse([UInt8](repeating: 0x30, count: Certificate.maximumUploadBytes + 1), now: Self.now)
        }
    }

    @Test func everyRefusalIsOneSentence() {
        let all: [CertificateError] = [.notACertificate, .tooLarge, .containsPrivateKey, .expired(notAfter: 0),
                                       .notYetValid(notBefore: 0), .rsaTooSmall(bits: 1024),
                                       .unsupportedCurve(name: "secp256k1"), .unsupportedKeyType(name: "ED25519")]
        for error in all {
            #expect(error.message.hasSuffix("."))
            #expect(!error.message.dropLast().contains(". "))
        }
    }
}

@Suite struct PKCETests {
    // RFC 7636 appendix B.
    @Test func rfc7636AppendixB() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(PKCE.challengeS256(verifier: verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.verify(verifier: verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.verify(verifier: verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"))
        #expect(!PKCE.verify(verifier: verifier + "a", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(PKCE.isValidChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
    }

    @Test func verifierSyntax() {
        #expect(PKCE.isValidVerifier(String(repeating: "a", count: 43)))
        #expect(PKCE.isValidVerifier(String(repeating: "~", count: 128)))
        #expect(PKCE.isValidVerifier("A-._~" + String(repeating: "9", count: 38)))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 42)))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 129)))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 42) + "+"))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 42) + "/"))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 42) + "="))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 42) + " "))
        #expect(!PKCE.isValidVerifier(String(repeating: "é", count: 43)))
        // A malformed verifier never verifies, even against its own hash.
        let short = "abc"
        #expect(!PKCE.verify(verifier: short, challenge: PKCE.challengeS256(verifier: short)))
    }

    @Test func challengeSyntax() {
        #expect(!PKCE.isValidChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"))
        #expect(!PKCE.isValidChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"))
        #expect(!PKCE.isValidChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="))
    }

    @Test func randomVerifiersRoundTrip() {
        for _ in 0..<50 {
            let verifier = Base64URL.encode(SecureRandom.bytes(32))
            #expect(PKCE.isValidVerifier(verifier))
            let challenge = PKCE.challengeS256(verifier: verifier)
            #expect(PKCE.isValidChallenge(challenge))
            #expect(PKCE.verify(verifier: verifier, challenge: challenge))
        }
    }
}
