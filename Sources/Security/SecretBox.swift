import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from `SecretBox` and from loading its key.
public enum SecretBoxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key that is not exactly 32 bytes.
    case invalidKeyLength(Int)
    /// A box too short to hold a version, a nonce and a tag.
    case truncated
    /// A box whose first byte is not a version this code writes.
    case unsupportedVersion(UInt8)
    /// The tag did not verify: tampered data, wrong key, or wrong associated data.
    case authenticationFailed
    /// A plaintext too large for one box.
    case tooLarge
    /// OpenSSL failed for another reason.
    case cryptoFailure(String)
    /// The key given in the environment is not 64 hex digits or base64 of 32 bytes.
    case invalidEnvironmentKey(String)
    /// The key file exists but does not hold a key.
    case invalidKeyFile(path: String, reason: String)
    /// The key file is readable or writable by group or others.
    case insecureKeyFile(path: String, mode: UInt32)
    /// The key file could not be read or created.
    case keyFileIO(String)

    public var description: String {
        switch self {
        case .invalidKeyLength(let n): "secret key must be 32 bytes, got \(n)"
        case .truncated: "sealed secret is truncated"
        case .unsupportedVersion(let v): "sealed secret has unknown version \(v)"
        case .authenticationFailed: "sealed secret failed authentication (tampered, wrong key or wrong context)"
        case .tooLarge: "secret too large to seal"
        case .cryptoFailure(let m): "AES-GCM failed: \(m)"
        case .invalidEnvironmentKey(let m): "secret key from the environment is invalid: \(m)"
        case .invalidKeyFile(let path, let reason): "secret key file \(path) is invalid: \(reason)"
        case .insecureKeyFile(let path, let mode):
            "secret key file \(path) has mode \(String(mode, radix: 8)); it must not be accessible by group or others (chmod 600 \(path))"
        case .keyFileIO(let m): "secret key file: \(m)"
        }
    }
}

/// Authenticated encryption of secrets at rest (TOTP seeds, webhook signing secrets) with
/// AES-256-GCM under one 32-byte server key.
///
/// Box layout: `version (1 byte, 0x01) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
/// - The nonce is random for every seal. With 96-bit random nonces one key can safely seal
///   about 2^32 messages, far beyond a portal's secrets; a repeated nonce would be fatal to
///   GCM, which is why it is never derived from anything else.
/// - The version byte is authenticated too (it is prefixed to the associated data), so it
///   cannot be altered, and a future format can be told apart.
/// - `associatedData` binds a box to its context, e.g. `"totp:user:42"`: a box copied into
///   another user's row then fails to open instead of granting that user the secret.
/// - `open` fails with `.authenticationFailed` on any change to any byte, a wrong key or wrong
///   associated data, and never returns unauthenticated plaintext.
public struct SecretBox: Sendable {
    public static let keyLength = 32
    public static let nonceLength = 12
    public static let tagLength = 16
    public static let version: UInt8 = 1
    /// Bytes a box adds to its plaintext.
    public static let overhead = 1 + nonceLength + tagLength

    private let key: [UInt8]

    /// A box sealing under `key`, which must be exactly 32 bytes.
    public init(key: [UInt8]) throws(SecretBoxError) {
        guard key.count == Self.keyLength else { throw .invalidKeyLength(key.count) }
        self.key = key
    }

    /// Encrypts and authenticates `plaintext`, binding it to `associatedData`.
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws(SecretBoxError) -> [UInt8] {
        guard plaintext.count <= Int(Int32.max) - 64, associatedData.count <= Int(Int32.max) - 64 else { throw .tooLarge }
        let nonce = SecureRandom.bytes(Self.nonceLength)
        let (ciphertext, tag) = try gcm(encrypt: true, input: plaintext, nonce: nonce,
                                        aad: [Self.version] + associatedData, tag: nil)
        return [Self.version] + nonce + ciphertext + tag
    }

    /// Verifies and decrypts a box made by `seal` with the same key and `associatedData`.
    public func open(_ box: [UInt8], associatedData: [UInt8] = []) throws(SecretBoxError) -> [UInt8] {
        guard box.count >= Self.overhead else { throw .truncated }
        guard box[0] == Self.version else { throw .unsupportedVersion(box[0]) }
        guard box.count <= Int(Int32.max) - 64, associatedData.count <= Int(Int32.max) - 64 else { throw .tooLarge }
        let nonce = Array(box[1..<(1 + Self.nonceLength)])
        let ciphertext = Array(box[(1 + Self.nonceLength)..<(box.count - Self.tagLength)])
        let tag = Array(box[(box.count - Self.tagLength)...])
        let (plaintext, _) = try gcm(encrypt: false, input: ciphertext, nonce: nonce,
                                     aad: [Self.version] + associatedData, tag: tag)
        return plaintext
    }

    /// Runs AES-256-GCM one way or the other. On decryption the tag is checked by
    /// `EVP_DecryptFinal_ex`; nothing is returned unless it verifies.
    private func gcm(encrypt: Bool, input: [UInt8], nonce: [UInt8], aad: [UInt8], tag: [UInt8]?) throws(SecretBoxError) -> ([UInt8], [UInt8]) {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .cryptoFailure(OpenSSLError.lastMessage()) }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let initialise = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
        let update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate
        guard initialise(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil) == 1,
              initialise(ctx, nil, nil, key, nonce) == 1 else {
            throw .cryptoFailure(OpenSSLError.lastMessage())
        }
        var length: Int32 = 0
        if !aad.isEmpty {
            guard update(ctx, nil, &length, aad, Int32(aad.count)) == 1 else {
                throw .cryptoFailure(OpenSSLError.lastMessage())
            }
        }
        // GCM is a stream mode: output is as long as input (+ a block of slack for safety).
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var written = 0
        if !input.isEmpty {
            let ok = output.withUnsafeMutableBufferPointer { out in
                update(ctx, out.baseAddress, &length, input, Int32(input.count))
            }
            guard ok == 1 else { throw .cryptoFailure(OpenSSLError.lastMessage()) }
            written = Int(length)
        }
        if encrypt {
            let ok = output.withUnsafeMutableBufferPointer { out in
                EVP_EncryptFinal_ex(ctx, out.baseAddress! + written, &length)
            }
            guard ok == 1 else { throw .cryptoFailure(OpenSSLError.lastMessage()) }
            written += Int(length)
            var newTag = [UInt8](repeating: 0, count: Self.tagLength)
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagLength), &newTag) == 1 else {
                throw .cryptoFailure(OpenSSLError.lastMessage())
            }
            return (Array(output.prefix(written)), newTag)
        } else {
            var expected = tag ?? []
            guard expected.count == Self.tagLength,
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagLength), &expected) == 1 else {
                throw .cryptoFailure(OpenSSLError.lastMessage())
            }
            let ok = output.withUnsafeMutableBufferPointer { out in
                EVP_DecryptFinal_ex(ctx, out.baseAddress! + written, &length)
            }
            guard ok > 0 else {
                OpenSSLError.clear()
                // Zero whatever was decrypted before the tag failed.
                for i in output.indices { output[i] = 0 }
                throw .authenticationFailed
            }
            written += Int(length)
            return (Array(output.prefix(written)), [])
        }
    }

    // MARK: - Loading the server key

    /// The server key: from `environmentValue` if it is set, else from the file at `path`,
    /// created on first use.
    ///
    /// - Environment: `environmentValue` (surrounding whitespace ignored) must be 64 hex digits
    ///   or base64/base64url of exactly 32 bytes; anything else, including an empty string,
    ///   throws `.invalidEnvironmentKey` rather than silently falling back to the file (a
    ///   different key would make existing secrets unreadable).
    /// - File: an existing file (a symbolic link is followed, and its target checked) must be
    ///   a regular file with no permissions for group or others (`.insecureKeyFile` otherwise)
    ///   holding exactly 32 raw bytes or 64 hex digits (a trailing newline is allowed); it is
    ///   never overwritten. A missing file is created with 32 random bytes: the
    ///   parent directory is created (mode 0700) if needed, the key is written to a temporary
    ///   file opened with `O_CREAT|O_EXCL` and mode 0600 (never briefly world-readable) and
    ///   then linked into place, so a concurrent start-up or a crash can never leave a
    ///   half-written key behind; if another process won the race, its key is used.
    public static func loadKey(environmentValue: String?, keyFile path: String) throws(SecretBoxError) -> [UInt8] {
        if let environmentValue {
            return try parseEnvironmentKey(environmentValue)
        }
        if let existing = try readKeyFile(path) {
            return existing
        }
        return try createKeyFile(path)
    }

    static func parseEnvironmentKey(_ value: String) throws(SecretBoxError) -> [UInt8] {
        let trimmed = value.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw .invalidEnvironmentKey("it is empty") }
        if trimmed.utf8.count == 64, let bytes = Hex.decode(trimmed) {
            return bytes
        }
        if let bytes = Base64.decode(trimmed) ?? Base64URL.decode(trimmed) {
            guard bytes.count == keyLength else {
                throw .invalidEnvironmentKey("it decodes to \(bytes.count) bytes; 32 are required")
            }
            return bytes
        }
        throw .invalidEnvironmentKey("expected 64 hex digits or base64 of 32 bytes")
    }

    /// The key in the file at `path`, or `nil` if there is no such file.
    private static func readKeyFile(_ path: String) throws(SecretBoxError) -> [UInt8]? {
        let fd = FileIO.openFile(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw .keyFileIO(FileIO.Failure(operation: "open", path: path, code: code).message)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .keyFileIO(FileIO.Failure(operation: "stat", path: path, code: errno).message)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .invalidKeyFile(path: path, reason: "not a regular file")
        }
        let permissions = UInt32(info.st_mode) & 0o777
        guard permissions & 0o077 == 0 else {
            throw .insecureKeyFile(path: path, mode: permissions)
        }
        let contents: [UInt8]
        do throws(FileIO.Failure) {
            contents = try FileIO.readAll(fd: fd, path: path, limit: 1024)
        } catch {
            throw .keyFileIO(error.message)
        }
        if contents.count == keyLength {
            return contents
        }
        let text = String(decoding: contents, as: UTF8.self).trimmingASCIIWhitespace()
        if text.utf8.count == 64, let bytes = Hex.decode(text) {
            return bytes
        }
        throw .invalidKeyFile(path: path, reason: "expected 32 raw bytes or 64 hex digits, found \(contents.count) bytes")
    }

    private static func createKeyFile(_ path: String) throws(SecretBoxError) -> [UInt8] {
        do throws(FileIO.Failure) {
            try FileIO.makeDirectories(FileIO.parent(of: path), mode: 0o700)
        } catch {
            throw .keyFileIO(error.message)
        }
        let key = SecureRandom.bytes(keyLength)
        let temporary = "\(path).tmp-\(Hex.encode(SecureRandom.bytes(8)))"
        let fd = FileIO.openFile(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
        guard fd >= 0 else {
            throw .keyFileIO(FileIO.Failure(operation: "create", path: temporary, code: errno).message)
        }
        defer { unlink(temporary) }
        do throws(FileIO.Failure) {
            defer { close(fd) }
            // The umask can only remove bits; make the mode exactly 0600 regardless.
            guard fchmod(fd, 0o600) == 0 else {
                throw FileIO.Failure(operation: "chmod", path: temporary, code: errno)
            }
            try FileIO.writeAll(fd: fd, bytes: key, path: temporary)
            guard fsync(fd) == 0 else {
                throw FileIO.Failure(operation: "fsync", path: temporary, code: errno)
            }
        } catch {
            throw .keyFileIO(error.message)
        }
        // link(2) fails if `path` exists, so an existing key is never replaced.
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST, let existing = try readKeyFile(path) {
                return existing
            }
            throw .keyFileIO(FileIO.Failure(operation: "link", path: path, code: code).message)
        }
        return key
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
