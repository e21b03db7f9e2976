#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HTTP
import Synchronization

/// Serves the files of one directory under a URL prefix (`/static/` → `Public/`), as a
/// middleware: requests outside the prefix pass through.
///
/// - Only GET and HEAD (others get 405). Responses carry a `Content-Type` from the
///   extension, `ETag`, `Last-Modified` and `Cache-Control: public, max-age=…`, and
///   conditional requests (`If-None-Match`, else `If-Modified-Since`) get 304.
/// - Nothing outside the directory is reachable: every path segment is percent-decoded
///   and rejected (404) when empty, when it starts with `.` (`.`, `..`, dotfiles) or
///   holds `/`, `\` or NUL once decoded; the file's real path (symlinks resolved) must lie
///   inside the directory's real path; and only regular files are served (directories → 404).
/// - Files up to `maxCachedFileSize` are kept in memory with their headers and, for text
///   types, a precompressed gzip variant. A cached file is checked with one `stat` at
///   most once a second, so the hot path does no file I/O and no compression. Larger
///   files are streamed from disk.
public final class StaticFiles: Middleware {
    /// The URL prefix, starting and ending with `/`.
    public let urlPrefix: String
    /// The real path of the served directory.
    public let directory: String
    public let maxAge: Int
    public let maxCachedFileSize: Int
    public let maxCacheBytes: Int

    private let cache = Mutex(Cache())
    private static let revalidateAfterNanoseconds: UInt64 = 1_000_000_000

    struct Cache {
        var entries: [String: Slot] = [:]
        var bytes = 0
    }

    struct Slot {
        var entry: Entry
        var checkedAt: UInt64
    }

    struct FileVersion: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int(st.st_size)
            #if canImport(Darwin)
            mtimeSeconds = Int(st.st_mtimespec.tv_sec)
            mtimeNanoseconds = Int(st.st_mtimespec.tv_nsec)
            #else
            mtimeSeconds = Int(st.st_mtim.tv_sec)
            mtimeNanoseconds = Int(st.st_mtim.tv_nsec)
            #endif
        }

        var etag: String { "\"\(String(size, radix: 16))-\(String(mtimeSeconds, radix: 16))\(String(mtimeNanoseconds, radix: 16))\"" }
    }

    /// A file's representations with their prebuilt headers.
    struct Entry: Sendable {
        var version: FileVersion
        var identity: [UInt8]
        var gzip: [UInt8]?
        var identityHeaders: HTTPHeaders
        var gzipHeaders: HTTPHeaders
        var identityNotModified: HTTPHeaders
        var gzipNotModified: HTTPHeaders
        var etags: [String]
        var memory: Int { identity.count + (gzip?.count ?? 0) }
    }

    /// Why the static files could not be set up.
    public enum Error: Swift.Error, CustomStringConvertible {
        case directoryNotFound(String)
        public var description: String {
            switch self { case .directoryNotFound(let d): "static files directory not found: \(d)" }
        }
    }

    /// - Parameters:
    ///   - urlPrefix: where the directory is mounted, e.g. `/static/`.
    ///   - directory: the directory to serve; it must exist.
    ///   - maxAge: `Cache-Control` max-age in seconds.
    ///   - maxCachedFileSize: files up to this size are cached in memory.
    ///   - maxCacheBytes: memory budget of the cache; files past it are read from disk.
    public init(
        urlPrefix: String = "/static/", directory: String, maxAge: Int = 3600,
        maxCachedFileSize: Int = 1 << 20, maxCacheBytes: Int = 64 << 20
    ) throws {
        var prefix = urlPrefix
        if !prefix.hasPrefix("/") { prefix = "/" + prefix }
        if !prefix.hasSuffix("/") { prefix += "/" }
        self.urlPrefix = prefix
        guard let real = Self.realPath(directory), Self.isDirectory(real) else { throw Error.directoryNotFound(directory) }
        self.directory = real
        self.maxAge = maxAge
        self.maxCachedFileSize = maxCachedFileSize
        self.maxCacheBytes = maxCacheBytes
    }

    public func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        let path = req.path
        guard path.hasPrefix(urlPrefix) else { return try next(req) }
        guard req.method == .GET || req.method == .HEAD else {
            throw HTTPError(.methodNotAllowed, headers: ["Allow": "GET, HEAD"])
        }
        guard let relative = Self.safeRelativePath(path.utf8.dropFirst(urlPrefix.utf8.count)) else {
            throw HTTPError(.notFound)
        }
        switch lookup(relative) {
        case .cached(let entry):
            return serve(entry, req)
        case .large(let realPath, let version):
            return serveLarge(realPath, version: version, req)
        case .missing:
            throw HTTPError(.notFound)
        }
    }

    /// The response for `req` when it can be made from memory at once: a GET or HEAD under
    /// the prefix, for a file in the cache whose `stat` is less than a second old. Nil for
    /// anything else (not cached, due for its `stat`, an unsafe path, another method), which
    /// ``handle(_:next:)`` then answers on a worker. Never touches the disk, never waits on
    /// more than the cache's lock for a lookup: safe on the event loop
    /// (``WebApplication/respondInline(to:)``).
    public func cachedResponse(for req: Request) -> HTTPResponse? {
        let path = req.path
        guard path.hasPrefix(urlPrefix), req.method == .GET || req.method == .HEAD,
            let relative = Self.safeRelativePath(path.utf8.dropFirst(urlPrefix.utf8.count)),
            let slot = cache.withLock({ $0.entries[relative] }),
            Monotonic.coarseNanoseconds() &- slot.checkedAt < Self.revalidateAfterNanoseconds
        else { return nil }
        return serve(slot.entry, req)
    }

    // MARK: serving

    private func serve(_ entry: Entry, _ req: Request) -> HTTPResponse {
        let gzip = entry.gzip != nil && Gzip.isAccepted(by: req.headers["Accept-Encoding"])
        if isNotModified(req.headers, etags: entry.etags, mtime: entry.version.mtimeSeconds) {
            return HTTPResponse(status: .notModified, headers: gzip ? entry.gzipNotModified : entry.identityNotModified)
        }
        if gzip, let gz = entry.gzip {
            return HTTPResponse(status: .ok, headers: entry.gzipHeaders, body: .bytes(gz))
        }
        return HTTPResponse(status: .ok, headers: entry.identityHeaders, body: .bytes(entry.identity))
    }

    private func serveLarge(_ realPath: String, version: FileVersion, _ req: Request) -> HTTPResponse {
        let etag = version.etag
        var headers = HTTPHeaders()
        headers.add("ETag", etag)
        headers.add("Last-Modified", HTTPDateFormat.string(from: version.mtimeSeconds))
        headers.add("Cache-Control", "public, max-age=\(maxAge)")
        if isNotModified(req.headers, etags: [etag], mtime: version.mtimeSeconds) {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        headers.add("Content-Type", MediaTypes.forPath(Substring(realPath)))
        // Mark the encoding as negotiated so the compression middleware leaves it alone.
        headers.add("Vary", "Accept-Encoding")
        return HTTPResponse(status: .ok, headers: headers, body: .stream { writer in
            let fd = open(realPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw HTTPError(.notFound) }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                try writer.write(Array(buffer[0..<n]))
            }
        })
    }

    private func isNotModified(_ headers: HTTPHeaders, etags: [String], mtime: Int) -> Bool {
        if let inm = headers["If-None-Match"] {
            for raw in inm.split(separator: ",") {
                var tag = raw.trimmingSpacesAndTabs
                if tag == "*" { return true }
                if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
                if etags.contains(where: { $0 == tag }) { return true }
            }
            return false
        }
        if let ims = headers["If-Modified-Since"], let since = HTTPDateFormat.unixTime(from: ims) {
            return mtime <= since
        }
        return false
    }

    // MARK: the cache

    enum Lookup {
        case cached(Entry)
        case large(String, FileVersion)
        case missing
    }

    private func lookup(_ relative: String) -> Lookup {
        let now = Monotonic.coarseNanoseconds()
        if let slot = cache.withLock({ $0.entries[relative] }) {
            if now &- slot.checkedAt < Self.revalidateAfterNanoseconds { return .cached(slot.entry) }
            var st = stat()
            if stat(directory + "/" + relative, &st) == 0, FileVersion(st) == slot.entry.version {
                cache.withLock { $0.entries[relative]?.checkedAt = now }
                return .cached(slot.entry)
            }
            cache.withLock { cache in
                if let old = cache.entries.removeValue(forKey: relative) { cache.bytes -= old.entry.memory }
            }
        }
        return load(relative, now: now)
    }

    private func load(_ relative: String, now: UInt64) -> Lookup {
        guard let real = Self.realPath(directory + "/" + relative), real.hasPrefix(directory + "/") else { return .missing }
        let fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .missing }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return .missing }
        let version = FileVersion(st)
        if version.size > maxCachedFileSize { return .large(real, version) }
        guard let bytes = Self.readAll(fd, size: version.size) else { return .missing }
        let entry = makeEntry(relative: relative, bytes: bytes, version: version)
        cache.withLock { cache in
            if let old = cache.entries[relative] { cache.bytes -= old.entry.memory }
            if cache.bytes + entry.memory <= maxCacheBytes {
                cache.entries[relative] = Slot(entry: entry, checkedAt: now)
                cache.bytes += entry.memory
            } else {
                cache.entries[relative] = nil
            }
        }
        return .cached(entry)
    }

    private func makeEntry(relative: String, bytes: [UInt8], version: FileVersion) -> Entry {
        let type = MediaTypes.forPath(Substring(relative))
        let compressible = MediaTypes.isCompressible(type)
        var gzip: [UInt8]?
        if compressible, bytes.count >= 256, let gz = Gzip.compress(bytes, level: 9), gz.count < bytes.count {
            gzip = gz
        }
        let etag = version.etag
        let gzipETag = String(etag.dropLast()) + "-gz\""
        var common = HTTPHeaders()
        common.add("Last-Modified", HTTPDateFormat.string(from: version.mtimeSeconds))
        common.add("Cache-Control", "public, max-age=\(maxAge)")
        if compressible { common.add("Vary", "Accept-Encoding") }
        var identityNotModified = common
        identityNotModified.add("ETag", etag)
        var gzipNotModified = common
        gzipNotModified.add("ETag", gzipETag)
        var identityHeaders = identityNotModified
        identityHeaders.add("Content-Type", type)
        var gzipHeaders = gzipNotModified
        gzipHeaders.add("Content-Type", type)
        gzipHeaders.add("Content-Encoding", "gzip")
        return Entry(
            version: version, identity: bytes, gzip: gzip, identityHeaders: identityHeaders, gzipHeaders: gzipHeaders,
            identityNotModified: identityNotModified, gzipNotModified: gzipNotModified,
            etags: gzip == nil ? [etag] : [etag, gzipETag])
    }

    // MARK: paths

    /// The decoded relative path (`css/app.css`) or nil when any segment is unsafe.
    static func safeRelativePath(_ raw: Substring.UTF8View) -> String? {
        if raw.isEmpty { return nil }
        var segments: [String] = []
        for rawSegment in raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard let segment = PercentDecoding.decode(Substring(rawSegment), plusAsSpace: false),
                let first = segment.utf8.first, first != UInt8(ascii: "."),
                !segment.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 < 0x20 || $0 == 0x7F })
            else { return nil }
            segments.append(segment)
        }
        return segments.count == 1 ? segments[0] : segments.joined(separator: "/")
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func readAll(_ fd: Int32, size: Int) -> [UInt8]? {
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var offset = 0
            while offset < size {
                let n = read(fd, buf.baseAddress! + offset, size - offset)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failed = true; break }
                if n == 0 { break }
                offset += n
            }
            count = offset
        }
        return failed ? nil : bytes
    }
}
