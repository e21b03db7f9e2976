import COpenSSL

/// A hash fed in parts, for data too large to hold at once (a report streamed in chunks whose
/// SHA-256 is kept as its checksum). Not thread-safe: one owner feeds it, then finishes it.
///
/// ```swift
/// let digest = StreamingDigest(.sha256)
/// digest.update(chunk1); digest.update(chunk2)
/// let hex = Hex.encode(digest.finish())
/// ```
public final class StreamingDigest {
    private let ctx: OpaquePointer
    public let algorithm: Digest.Algorithm
    private var finished = false

    public init(_ algorithm: Digest.Algorithm) {
        guard let ctx = EVP_MD_CTX_new(), EVP_DigestInit_ex(ctx, algorithm.evp, nil) == 1 else {
            fatalError("StreamingDigest: EVP_DigestInit_ex(\(algorithm.rawValue)) failed: \(OpenSSLError.lastMessage())")
        }
        self.ctx = ctx
        self.algorithm = algorithm
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ bytes: [UInt8]) {
        precondition(!finished, "StreamingDigest updated after finish()")
        guard !bytes.isEmpty else { return }
        let ok = bytes.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
        guard ok == 1 else { fatalError("StreamingDigest: EVP_DigestUpdate failed: \(OpenSSLError.lastMessage())") }
    }

    /// The digest of everything fed; the object cannot be fed again.
    public func finish() -> [UInt8] {
        precondition(!finished, "StreamingDigest finished twice")
        finished = true
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &output, &length) == 1 else {
            fatalError("StreamingDigest: EVP_DigestFinal_ex failed: \(OpenSSLError.lastMessage())")
        }
        return Array(output.prefix(Int(length)))
    }
}
