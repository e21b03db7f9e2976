/// Media types by file extension, and which types are text (get `charset=utf-8`) or
/// worth compressing.
public enum MediaTypes {
    static let byExtension: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "txt": "text/plain; charset=utf-8",
        "csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "json": "application/json", "map": "application/json",
        "webmanifest": "application/manifest+json", "xml": "application/xml",
        "svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
        "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "ico": "image/x-icon",
        "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "otf": "font/otf",
        "pdf": "application/pdf", "wasm": "application/wasm", "zip": "application/zip",
        "gz": "application/gzip",
    ]

    /// The `Content-Type` for a file name, `application/octet-stream` when unknown.
    public static func forPath(_ path: Substring) -> String {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "application/octet-stream" }
        return byExtension[path[path.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }

    /// True for types that compress well.
    public static func isCompressible(_ contentType: String) -> Bool {
        // Every page says `text/html; charset=utf-8` as written here: no lowercased copy for it.
        if contentType.utf8HasPrefix("text/") { return true }
        // Every /v1 answer says `application/json`, perhaps with parameters: no split and
        // lowercased copy for it either (they were 3 % of a /v1 call's instructions).
        let json = "application/json"
        if contentType.utf8HasPrefix(json) {
            let next = contentType.utf8.dropFirst(json.utf8.count).first
            if next == nil || next == UInt8(ascii: ";") || next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") { return true }
        }
        let t = essence(contentType)
        if t.hasPrefix("text/") { return true }
        switch t {
        case "application/json", "application/javascript", "application/xml", "image/svg+xml",
            "application/manifest+json", "application/problem+json":
            return true
        default:
            return t.hasSuffix("+json") || t.hasSuffix("+xml")
        }
    }

    /// The type without parameters, lowercased: `text/html; charset=utf-8` → `text/html`.
    static func essence(_ contentType: String) -> String {
        (contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpacesAndTabs.lowercased() }) ?? ""
    }
}
