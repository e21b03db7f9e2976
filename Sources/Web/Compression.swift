import CZlib
import HTTP

/// gzip compression with zlib, and `Accept-Encoding` negotiation.
public enum Gzip {
    /// `bytes` compressed as a gzip member, or nil if zlib fails.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8]? {
        var stream = z_stream()
        guard czlib_deflate_init_gzip(&stream, level) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let status: Int32 = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        out.removeLast(bound - Int(stream.total_out))
        return out
    }

    /// The codings that mean gzip in an `Accept-Encoding` without parameters.
    private static let gzipNames = ["gzip", "x-gzip", "*"]

    /// Whether an `Accept-Encoding` header value allows gzip (RFC 9110 §12.5.3): `gzip`
    /// (or `x-gzip`) with a non-zero q, or `*` with a non-zero q when gzip is not listed.
    public static func isAccepted(by acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        // What browsers send (`gzip, deflate, br, zstd`): no parameters, so every listed coding
        // has q=1, answered by the list reader the headers use. The parse below made 9k
        // instructions of every page.
        if !acceptEncoding.utf8.contains(UInt8(ascii: ";")) {
            return gzipNames.contains { HTTPHeaders.list(acceptEncoding, contains: $0) }
        }
        var gzipQ: Double?
        var starQ: Double?
        for item in acceptEncoding.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let coding = parts.first?.trimmingSpacesAndTabs.lowercased() else { continue }
            var q = 1.0
            for p in parts.dropFirst() {
                let kv = p.trimmingSpacesAndTabs
                if kv.lowercased().hasPrefix("q=") { q = Double(kv.dropFirst(2)) ?? 0 }
            }
            if coding == "gzip" || coding == "x-gzip" { gzipQ = max(gzipQ ?? 0, q) }
            if coding == "*" { starQ = q }
        }
        if let gzipQ { return gzipQ > 0 }
        if let starQ { return starQ > 0 }
        return false
    }
}

/// Compresses buffered text responses with gzip when the client accepts it.
///
/// A response is compressed when: its body is buffered and at least `minimumBytes`; its
/// type is text-like (HTML, CSS, JavaScript, JSON, SVG, XML, plain text, CSV); it has no
/// `Content-Encoding` yet; it is not marked `Cache-Control: no-transform`; and the result is
/// smaller. Such responses get `Vary: Accept-Encoding` whether compressed or not. Streamed
/// bodies and responses that already carry `Vary: Accept-Encoding` (static files, which
/// negotiate their own precompressed variant) are left alone.
///
/// Note: compressing pages that reflect user input next to a secret (CSRF token) enables
/// BREACH-style attacks over TLS; mask such tokens per response.
public struct CompressionMiddleware: Middleware {
    public var minimumBytes: Int
    public var level: Int32

    public init(minimumBytes: Int = 1024, level: Int32 = 6) {
        self.minimumBytes = minimumBytes
        self.level = level
    }

    public func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        var res = try next(req)
        compress(&res, acceptEncoding: req.headers["Accept-Encoding"])
        return res
    }

    func compress(_ res: inout HTTPResponse, acceptEncoding: String?) {
        guard case .bytes(let body) = res.body, body.count >= minimumBytes,
            res.status.code >= 200, res.status.code != 204, res.status.code != 206, res.status.code != 304,
            let type = res.headers["Content-Type"], MediaTypes.isCompressible(type),
            !res.headers.contains("Content-Encoding"),
            !res.headers.hasToken("Accept-Encoding", in: "Vary"),
            !res.headers.hasToken("no-transform", in: "Cache-Control")
        else { return }
        res.headers.add("Vary", "Accept-Encoding")
        guard Gzip.isAccepted(by: acceptEncoding), let gz = Gzip.compress(body, level: level), gz.count < body.count else { return }
        res.body = .bytes(gz)
        res.headers.set("Content-Encoding", "gzip")
        res.headers.remove("Content-Length")
        if let etag = res.headers["ETag"], etag.hasSuffix("\"") {
            res.headers.set("ETag", String(etag.dropLast()) + "-gzip\"")  // a different representation
        }
    }
}
