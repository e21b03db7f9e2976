#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers, so that key files get exact modes and flags (`O_EXCL`,
/// `O_NOFOLLOW`, `fchmod`) that higher-level APIs hide.
enum FileIO {
    struct Failure: Error {
        var operation: String
        var path: String
        var code: Int32

        var message: String {
            "\(operation) \(path): \(String(cString: strerror(code)))"
        }
    }

    /// `open(2)` under a name that does not clash with methods called `open`.
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0) -> Int32 {
        open(path, flags, mode)
    }

    /// Reads all of the file at `path`. Refuses files larger than `limit` bytes.
    static func readAll(path: String, limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        return try readAll(fd: fd, path: path, limit: limit)
    }

    static func readAll(fd: Int32, path: String, limit: Int) throws(Failure) -> [UInt8] {
        var result = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
            if result.count > limit { throw Failure(operation: "read", path: path, code: EFBIG) }
        }
        return result
    }

    static func writeAll(fd: Int32, bytes: [UInt8], path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: path, code: errno)
            }
            offset += n
        }
    }

    /// Creates `path` and its missing parents (each new one with `mode`), like `mkdir -p`.
    static func makeDirectories(_ path: String, mode: mode_t) throws(Failure) {
        guard !path.isEmpty else { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw Failure(operation: "mkdir", path: prefix, code: errno)
            }
            prefix += "/"
        }
    }

    /// The directory part of `path` ("" for a bare file name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
