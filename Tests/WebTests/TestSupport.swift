@_exported import TestSupport
import CZlib
import Foundation
import HTTP
import Logging
import Synchronization
import Web

/// A temporary directory removed when the value goes away.
final class TempDir {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "webtests-XXXXXX").utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ relative: String, _ contents: String) -> String {
        write(relative, Array(contents.utf8))
    }

    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + relative
        try! FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        precondition(FileManager.default.createFile(atPath: full, contents: Data(bytes)))
        return full
    }

    func mkdir(_ relative: String) {
        try! FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }
}

func request(
    _ method: HTTPMethod, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
) -> HTTPRequest {
    HTTPRequest(head: HTTPRequestHead(method: method, target: target, headers: HTTPHeaders(headers)), body: body)
}

func request(_ target: String, headers: [(String, String)] = []) -> HTTPRequest {
    request(.GET, target, headers: headers)
}

func formRequest(_ target: String, _ body: String) -> HTTPRequest {
    request(.POST, target, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
}

extension HTTPResponse {
    var bodyBytes: [UInt8] { bufferedBody ?? [] }
    var bodyText: String { String(decoding: bodyBytes, as: UTF8.self) }
}

/// Templates the tests use: a layout, a page, and the generic error page.
func testTemplates(extra: [String: String] = [:]) throws -> Templates {
    var sources = [
        "_layout/layout": "<html><head><title>{{title}}</title></head><body>{{> _layout/nav}}{{#flash}}<p class=\"flash {{kind}}\">{{text}}</p>{{/flash}}<main>{{{content}}}</main></body></html>",
        "_layout/nav": "<nav>{{#userName}}Signed in as {{userName}}{{/userName}}</nav>",
        "errors/error": "<h1>{{title}}</h1><p class=\"message\">{{message}}</p><p>Request id: <code>{{requestId}}</code></p>",
        "home/index": "<h1>Hello {{name}}</h1>",
    ]
    for (k, v) in extra { sources[k] = v }
    return try Templates(sources: sources)
}

/// Decompresses a gzip member with zlib.
func gunzip(_ bytes: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    var input = bytes
    return input.withUnsafeMutableBufferPointer { inBuf -> [UInt8]? in
        stream.next_in = inBuf.baseAddress
        stream.avail_in = uInt(inBuf.count)
        while true {
            let status = chunk.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = chunk.count - Int(stream.avail_out)
            out += chunk[0..<produced]
            if status == Z_STREAM_END { return out }
            if status != Z_OK { return nil }
        }
    }
}

/// The security headers every response must carry.
func hasSecurityHeaders(_ res: HTTPResponse) -> Bool {
    guard let csp = res.headers["Content-Security-Policy"] else { return false }
    return csp.contains("default-src 'self'") && csp.contains("object-src 'none'") && csp.contains("base-uri 'none'")
        && csp.contains("frame-ancestors 'none'")
        && res.headers["X-Content-Type-Options"] == "nosniff"
        && res.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        && res.headers["X-Frame-Options"] == "DENY"
}

/// Strings of `a`s, 1 to 40 long, with one of `specials` in each place: where a check that
/// reads eight bytes at a time could miss one (inside a word, across two, in the last bytes).
func stringsWithOneAtEveryPlace(_ specials: [String]) -> [String] {
    var out: [String] = []
    for n in 1...40 {
        for p in 0..<n {
            for c in specials {
                var chars = Array(repeating: "a", count: n)
                chars[p] = c
                out.append(chars.joined())
            }
        }
    }
    return out
}
