import HTTP

/// Limits applied while decoding a `multipart/form-data` body (the body itself is already
/// bounded by the route's body limit).
public struct MultipartLimits: Sendable {
    /// The most parts accepted.
    public var maxParts: Int
    /// The largest part body, in bytes.
    public var maxPartBytes: Int
    /// The largest header section of one part, in bytes.
    public var maxHeaderBytes: Int

    public init(maxParts: Int = 64, maxPartBytes: Int = 10 << 20, maxHeaderBytes: Int = 8 * 1024) {
        self.maxParts = maxParts
        self.maxPartBytes = maxPartBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    public static let `default` = MultipartLimits()
}

/// Why a multipart body could not be decoded. Each case becomes a 4xx error page.
public enum MultipartError: Error, Equatable, HTTPErrorConvertible {
    /// The `Content-Type` is not `multipart/form-data`.
    case unsupportedContentType
    /// No usable `boundary` parameter.
    case missingBoundary
    /// The body does not follow RFC 7578 / RFC 2046 (truncated, missing delimiter,
    /// bad part headers, no `Content-Disposition: form-data; name=…`).
    case malformed
    /// More parts than ``MultipartLimits/maxParts``.
    case tooManyParts
    /// A part or its headers larger than the limits allow.
    case partTooLarge

    public var httpError: HTTPError {
        switch self {
        case .unsupportedContentType: HTTPError(.unsupportedMediaType, "The form was sent in an unsupported format.")
        case .missingBoundary, .malformed: HTTPError(.badRequest, "The form data could not be read.")
        case .tooManyParts: HTTPError(.payloadTooLarge, "The form has too many fields.")
        case .partTooLarge: HTTPError(.payloadTooLarge, "A form field or file is too large.")
        }
    }
}

/// One part of a `multipart/form-data` body: a field, or a file when `filename` is set.
public struct MultipartPart: Sendable {
    /// The `name` parameter of `Content-Disposition`.
    public var name: String
    /// The `filename` parameter as the browser sent it. Untrusted: never use it as a path.
    public var filename: String?
    /// The part's `Content-Type`, if sent.
    public var contentType: String?
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(name: String, filename: String? = nil, contentType: String? = nil, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text, or nil if it is not valid UTF-8.
    public var text: String? { String(validating: body, as: UTF8.self) }
    public var isFile: Bool { filename != nil }
}

/// A decoded `multipart/form-data` body.
public struct MultipartForm: Sendable {
    public var parts: [MultipartPart]

    public init(parts: [MultipartPart] = []) { self.parts = parts }

    /// The text of the first non-file part called `name`.
    public subscript(name: String) -> String? {
        parts.first { $0.name == name && !$0.isFile }?.text
    }

    /// The first file part called `name`.
    public func file(_ name: String) -> MultipartPart? {
        parts.first { $0.name == name && $0.isFile }
    }

    /// Every part called `name`, in order.
    public func parts(named name: String) -> [MultipartPart] {
        parts.filter { $0.name == name }
    }

    /// Parses `body` using the boundary from `contentType`.
    public static func parse(body: [UInt8], contentType: String?, limits: MultipartLimits = .default) throws(MultipartError) -> MultipartForm {
        guard let contentType else { throw .unsupportedContentType }
        let params = HeaderParameters(contentType)
        guard params.value.lowercased() == "multipart/form-data" else { throw .unsupportedContentType }
        guard let boundary = params["boundary"], (1...70).contains(boundary.utf8.count),
            !boundary.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E })
        else { throw .missingBoundary }
        return try MultipartParser(body: body, boundary: Array(boundary.utf8), limits: limits).parse()
    }
}

/// A single pass over the body: `--boundary CRLF headers CRLF CRLF content CRLF --boundary … --`.
private struct MultipartParser {
    let body: [UInt8]
    let delimiter: [UInt8]  // "--" + boundary
    let limits: MultipartLimits

    init(body: [UInt8], boundary: [UInt8], limits: MultipartLimits) {
        self.body = body
        self.delimiter = Array("--".utf8) + boundary
        self.limits = limits
    }

    func parse() throws(MultipartError) -> MultipartForm {
        var form = MultipartForm()
        // The first delimiter may follow a preamble, which is ignored.
        var pos: Int
        if hasPrefix(delimiter, at: 0) {
            pos = delimiter.count
        } else if let i = find(Array("\r\n".utf8) + delimiter, from: 0) {
            pos = i + 2 + delimiter.count
        } else {
            throw .malformed
        }
        while true {
            // After a delimiter: "--" closes the body, otherwise optional padding and CRLF.
            if hasPrefix(Array("--".utf8), at: pos) { return form }
            while pos < body.count, body[pos] == UInt8(ascii: " ") || body[pos] == UInt8(ascii: "\t") { pos += 1 }
            guard hasPrefix(Array("\r\n".utf8), at: pos) else { throw .malformed }
            pos += 2
            if form.parts.count >= limits.maxParts { throw .tooManyParts }

            // Header section, possibly empty.
            let headers: HTTPHeaders
            if hasPrefix(Array("\r\n".utf8), at: pos) {
                headers = HTTPHeaders()
                pos += 2
            } else {
                guard let end = find(Array("\r\n\r\n".utf8), from: pos, limit: pos + limits.maxHeaderBytes + 4) else {
                    throw body.count - pos > limits.maxHeaderBytes ? .partTooLarge : .malformed
                }
                headers = try parseHeaders(body[pos..<end])
                pos = end + 4
            }

            // Content runs to the next CRLF + delimiter.
            guard let end = find(Array("\r\n".utf8) + delimiter, from: pos) else { throw .malformed }
            if end - pos > limits.maxPartBytes { throw .partTooLarge }
            guard let disposition = headers["Content-Disposition"] else { throw .malformed }
            let params = HeaderParameters(disposition)
            guard params.value.lowercased() == "form-data", let name = params["name"] else { throw .malformed }
            form.parts.append(MultipartPart(
                name: name,
                filename: params["filename"],
                contentType: headers["Content-Type"],
                headers: headers,
                body: Array(body[pos..<end])
            ))
            pos = end + 2 + delimiter.count
        }
    }

    private func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(MultipartError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "\r") {
                guard i + 1 < bytes.endIndex, bytes[i + 1] == UInt8(ascii: "\n") else { throw .malformed }
                lines.append(bytes[start..<i])
                i += 2
                start = i
            } else {
                if bytes[i] == UInt8(ascii: "\n") || bytes[i] == 0 { throw .malformed }
                i += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                !line[line.startIndex..<colon].contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }),
                let name = String(validating: line[line.startIndex..<colon], as: UTF8.self),
                let value = String(validating: line[(colon + 1)...], as: UTF8.self)
            else { throw .malformed }  // also rejects obsolete line folding
            headers.add(name, String(value.trimmingSpacesAndTabs))
        }
        return headers
    }

    private func hasPrefix(_ needle: [UInt8], at pos: Int) -> Bool {
        guard pos >= 0, pos + needle.count <= body.count else { return false }
        for k in 0..<needle.count where body[pos + k] != needle[k] { return false }
        return true
    }

    /// The index of the first occurrence of `needle` starting at or after `from` and ending
    /// at or before `limit`.
    private func find(_ needle: [UInt8], from: Int, limit: Int = .max) -> Int? {
        let last = min(body.count, limit) - needle.count
        guard from <= last else { return nil }
        let first = needle[0]
        return body.withUnsafeBufferPointer { buf -> Int? in
            var i = from
            while i <= last {
                if buf[i] == first {
                    var k = 1
                    while k < needle.count && buf[i + k] == needle[k] { k += 1 }
                    if k == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }
}

/// A header value with `;`-separated parameters, such as `Content-Type` or
/// `Content-Disposition`: `form-data; name="field"; filename="a.txt"`.
/// Quoted strings may contain `;` and backslash escapes. Parameter names are case-insensitive.
struct HeaderParameters {
    var value: String
    var parameters: [(name: String, value: String)] = []

    init(_ header: String) {
        let scalars = Array(header.unicodeScalars)
        var i = 0
        func skipSpaces() { while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 } }
        var v = String.UnicodeScalarView()
        while i < scalars.count, scalars[i] != ";" { v.append(scalars[i]); i += 1 }
        value = String(String(v).trimmingSpacesAndTabs)
        while i < scalars.count {
            i += 1  // skip ';'
            skipSpaces()
            var name = String.UnicodeScalarView()
            while i < scalars.count, scalars[i] != "=", scalars[i] != ";" { name.append(scalars[i]); i += 1 }
            var val = String.UnicodeScalarView()
            if i < scalars.count, scalars[i] == "=" {
                i += 1
                skipSpaces()
                if i < scalars.count, scalars[i] == "\"" {
                    i += 1
                    while i < scalars.count, scalars[i] != "\"" {
                        if scalars[i] == "\\", i + 1 < scalars.count { i += 1 }
                        val.append(scalars[i])
                        i += 1
                    }
                    if i < scalars.count { i += 1 }  // closing quote
                    while i < scalars.count, scalars[i] != ";" { i += 1 }
                } else {
                    while i < scalars.count, scalars[i] != ";" { val.append(scalars[i]); i += 1 }
                    while let l = val.last, l == " " || l == "\t" { val.removeLast() }
                }
            }
            let n = String(String(name).trimmingSpacesAndTabs).lowercased()
            if !n.isEmpty { parameters.append((name: n, value: String(val))) }
        }
    }

    subscript(name: String) -> String? {
        let n = name.lowercased()
        return parameters.first { $0.name == n }?.value
    }
}
