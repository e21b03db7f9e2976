import Foundation
import Testing
@testable import Security

@Suite struct SecretBoxTests {
    let key = SecureRandom.bytes(32)

    @Test func roundTrip() throws {
        let box = try SecretBox(key: key)
        for plaintext in [[], bytes("JBSWY3DPEHPK3PXP"), SecureRandom.bytes(10_000)] {
            let sealed = try box.seal(plaintext, associatedData: bytes("totp:user:42"))
            #expect(sealed.count == plaintext.count + SecretBox.overhead)
            #expect(sealed[0] == 1)
            #expect(try box.open(sealed, associatedData: bytes("totp:user:42")) == plaintext)
        }
        // Same plaintext twice: different nonces, different boxes.
        #expect(try box.seal([1, 2, 3]) != box.seal([1, 2, 3]))
        #expect(try box.open(box.seal([1, 2, 3])) == [1, 2, 3])
    }

    @Test func keyMustBe32Bytes() {
        #expect(throws: SecretBoxError.invalidKeyLength(16)) { try SecretBox(key: SecureRandom.bytes(16)) }
        #expect(throws: SecretBoxError.invalidKeyLength(33)) { try SecretBox(key: SecureRandom.bytes(33)) }
        #expect(throws: SecretBoxError.invalidKeyLength(0)) { try SecretBox(key: []) }
    }

    @Test func everyRegionIsAuthenticated() throws {
        let box = try SecretBox(key: key)
        let sealed = try box.seal(bytes("webhook signing secret"), associatedData: bytes("ctx"))
        let regions: [(String, Int)] = [
            ("version", 0), ("nonce start", 1), ("nonce end", 12),
            ("ciphertext start", 13), ("ciphertext end", sealed.count - 17),
            ("tag start", sealed.count - 16), ("tag end", sealed.count - 1),
        ]
        for (name, index) in regions {
            for bit in [0, 7] {
                var tampered = sealed
                tampered[index] ^= UInt8(1 << bit)
                #expect(throws: SecretBoxError.self, "\(name) bit \(bit)") { try box.open(tampered, associatedData: bytes("ctx")) }
            }
        }
        // Anything but the version byte fails authentication specifically.
        var tampered = sealed
        tampered[20] ^= 1
        #expect(throws: SecretBoxError.authenticationFailed) { try box.open(tampered, associatedData: bytes("ctx")) }
        var badVersion = sealed
        badVersion[0] = 2
        #expect(throws: SecretBoxError.unsupportedVersion(2)) { try box.open(badVersion, associatedData: bytes("ctx")) }
    }

    @Test func truncatedAndExtendedBoxesFail() throws {
        let box = try SecretBox(key: key)
        let sealed = try box.seal(bytes("secret"))
        for length in [0, 1, 12, 13, 28] {
            #expect(throws: SecretBoxError.truncated) { try box.open(Array(sealed.prefix(length))) }
        }
        for length in [29, sealed.count - 1] {
            #expect(throws: SecretBoxError.authenticationFailed) { try box.open(Array(sealed.prefix(length))) }
        }
        #expect(throws: SecretBoxError.authenticationFailed) { try box.open(sealed + [0]) }
    }

    @Test func wrongKeyAndWrongContextFail() throws {
        let box = try SecretBox(key: key)
        let sealed = try box.seal(bytes("secret"), associatedData: bytes("user:1"))
        let other = try SecretBox(key: SecureRandom.bytes(32))
        #expect(throws: SecretBoxError.authenticationFailed) { try other.open(sealed, associatedData: bytes("user:1")) }
        #expect(throws: SecretBoxError.authenticationFailed) { try box.open(sealed, associatedData: bytes("user:2")) }
        #expect(throws: SecretBoxError.authenticationFailed) { try box.open(sealed) }
        #expect(try box.open(sealed, associatedData: bytes("user:1")) == bytes("secret"))
    }

    @Test func opensBoxMadeByAnotherImplementation() throws {
        // Made with Python `cryptography`'s AESGCM: key 00…1f, nonce 64…6f,
        // associated data = version byte 0x01 followed by "ctx".
        let box = try SecretBox(key: Array(0..<32))
        let sealed: [UInt8] = [1] + Array(100..<112) + hex("207eb20a16c576ee51102b89b605007fbf432b87702bd804696d7bd1eb")
        #expect(try box.open(sealed, associatedData: bytes("ctx")) == bytes("hello, portal"))
    }
}

@Suite struct SecretKeyLoadingTests {
    @Test func environmentHexAndBase64() throws {
        let key = SecureRandom.bytes(32)
        #expect(try SecretBox.loadKey(environmentValue: Hex.encode(key), keyFile: "/nonexistent/never") == key)
        #expect(try SecretBox.loadKey(environmentValue: Hex.encode(key).uppercased() + "\n", keyFile: "/nonexistent/never") == key)
        #expect(try SecretBox.loadKey(environmentValue: Base64.encode(key), keyFile: "/nonexistent/never") == key)
        #expect(try SecretBox.loadKey(environmentValue: Base64URL.encode(key), keyFile: "/nonexistent/never") == key)
    }

    @Test(arguments: ["", "   ", "not a key", String(repeating: "a", count: 63), String(repeating: "g", count: 64),
                      Base64.encode([UInt8](repeating: 1, count: 31)), Base64.encode([UInt8](repeating: 1, count: 33))])
    func environmentGarbageThrows(_ value: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/secret.key"
        #expect(throws: SecretBoxError.self) { try SecretBox.loadKey(environmentValue: value, keyFile: path) }
        // No silent fallback to (or creation of) the key file.
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func keyFileIsCreatedPrivateAndReused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/var/nested/secret.key"
        let first = try SecretBox.loadKey(environmentValue: nil, keyFile: path)
        #expect(first.count == 32)
        #expect(fileMode(path) == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(first))
        #expect(fileMode(directory + "/var/nested") == 0o700)
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/var/nested") == ["secret.key"])
        let second = try SecretBox.loadKey(environmentValue: nil, keyFile: path)
        #expect(second == first)
        // The environment wins over the file.
        let env = SecureRandom.bytes(32)
        #expect(try SecretBox.loadKey(environmentValue: Hex.encode(env), keyFile: path) == env)
    }

    @Test func keyFileReadableByOthersIsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/secret.key"
        _ = try SecretBox.loadKey(environmentValue: nil, keyFile: path)
        #expect(chmod(path, 0o644) == 0)
        #expect(throws: SecretBoxError.insecureKeyFile(path: path, mode: 0o644)) {
            try SecretBox.loadKey(environmentValue: nil, keyFile: path)
        }
        #expect(chmod(path, 0o640) == 0)
        #expect(throws: SecretBoxError.self) { try SecretBox.loadKey(environmentValue: nil, keyFile: path) }
        #expect(chmod(path, 0o400) == 0)
        #expect(try SecretBox.loadKey(environmentValue: nil, keyFile: path).count == 32)
    }

    @Test func keyFileContents() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/secret.key"
        let key = SecureRandom.bytes(32)
        // 64 hex digits with a trailing newline are accepted.
        #expect(FileManager.default.createFile(atPath: path, contents: Data((Hex.encode(key) + "\n").utf8),
                                               attributes: [.posixPermissions: 0o600]))
        #expect(try SecretBox.loadKey(environmentValue: nil, keyFile: path) == key)
        // Anything else is refused, not replaced.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(throws: SecretBoxError.self) { try SecretBox.loadKey(environmentValue: nil, keyFile: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        // A directory is not a key file.
        #expect(throws: SecretBoxError.self) { try SecretBox.loadKey(environmentValue: nil, keyFile: directory) }
        // A symbolic link is followed, and its target's mode is what counts.
        let link = directory + "/link.key"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        try Data(key).write(to: URL(fileURLWithPath: path))
        #expect(chmod(path, 0o600) == 0)
        #expect(try SecretBox.loadKey(environmentValue: nil, keyFile: link) == key)
        #expect(chmod(path, 0o604) == 0)
        #expect(throws: SecretBoxError.insecureKeyFile(path: link, mode: 0o604)) {
            try SecretBox.loadKey(environmentValue: nil, keyFile: link)
        }
    }
}
