/// An incremental HTTP/1.1 request decoder (RFC 9112), strict by design.
///
/// The caller owns the bytes. It hands the decoder every byte not yet consumed, as one
/// contiguous buffer that starts where the previous call's consumption ended; the decoder
/// returns how many bytes it consumed and at most one event. Bytes of an incomplete head
/// are never consumed (the decoder remembers how far it has scanned, so a head that trickles
/// in byte by byte is still scanned once); body bytes are consumed as they arrive.
///
/// After a request the decoder is ready for the next one (pipelining); after an error it
/// consumes nothing more: the connection answers the error and closes.
public struct RequestDecoder: Sendable {
    public struct Limits: Sendable {
        /// Longest request target; longer → 414.
        public var maxTargetLength = 8 * 1024
        /// Largest header section (request line, fields, trailers); larger → 431.
        public var maxHeaderBytes = 32 * 1024
        /// Most header fields; more → 431.
        public var maxHeaderCount = 128
        /// Longest chunk-size line, extensions included; longer → 400.
        public var maxChunkLineLength = 1024
        public init() {}
    }

    public enum Event: Sendable, Equatable {
        /// The head asked for `Expect: 100-continue` and the body is within its limit:
        /// the connection should send `100 Continue` now.
        case sendContinue
        /// A complete request.
        case request(HTTPRequestHead, body: [UInt8])
        /// A request the server must refuse; the connection is closed after the response.
        case error(HTTPStatus, HTTPRequestHead?)

        public static func == (a: Event, b: Event) -> Bool {
            switch (a, b) {
            case (.sendContinue, .sendContinue): return true
            case let (.request(h1, b1), .request(h2, b2)):
                return h1.method == h2.method && h1.target == h2.target && h1.version == h2.version
                    && Array(h1.headers.map { "\($0.name):\($0.value)" }) == Array(h2.headers.map { "\($0.name):\($0.value)" })
                    && b1 == b2
            case let (.error(s1, _), .error(s2, _)): return s1.code == s2.code
            default: return false
            }
        }
    }

    enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed
    }

    public let limits: Limits
    private let bodyLimit: @Sendable (HTTPRequestHead) -> Int

    private var state: State = .head
    /// How far into the buffer the head scan has got (bytes before it hold no head end).
    private var scanned = 0
    /// Where the request line ended (index of its LF), once seen.
    private var firstLineEnd = -1
    /// Empty lines skipped before the current request line.
    private var leadingEmptyLines = 0
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var limit = 0
    private var trailerBytes = 0

    public init(limits: Limits = Limits(), bodyLimit: @escaping @Sendable (HTTPRequestHead) -> Int) {
        self.limits = limits
        self.bodyLimit = bodyLimit
    }

    /// True while a request has started arriving but is not complete (used for timeouts).
    public var isMidRequest: Bool {
        if case .head = state { return scanned > 0 }
        if case .failed = state { return false }
        return true
    }

    /// True once the head has been read and the body is being received.
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: return false
        default: return true
        }
    }

    public var hasFailed: Bool { if case .failed = state { return true } else { return false } }

    /// The head of the request whose body is being received, if any (for a body timeout).
    public var pendingHead: HTTPRequestHead? { head }

    /// Decodes from `buf`, which must begin with the first unconsumed byte.
    public mutating func decode(_ buf: UnsafeBufferPointer<UInt8>) -> (consumed: Int, event: Event?) {
        var pos = 0
        while true {
            switch state {
            case .failed:
                return (pos, nil)

            case .head:
                let r = decodeHead(UnsafeBufferPointer(rebasing: buf[pos...]))
                pos += r.consumed
                if let ev = r.event { return (pos, ev) }
                // A complete head with a body to come: go on with the body bytes at hand.
                if case .head = state { return (pos, nil) }

            case .fixedBody(let remaining):
                let n = min(remaining, buf.count - pos)
                if n > 0 {
                    body.append(contentsOf: UnsafeBufferPointer(rebasing: buf[pos..<pos + n]))
                    pos += n
                }
                if remaining - n == 0 { return (pos, finish()) }
                state = .fixedBody(remaining: remaining - n)
                return (pos, nil)

            case .chunkSize:
                // chunk-size [ chunk-ext ] CRLF
                guard let lf = indexOfLF(buf, from: pos, limit: limits.maxChunkLineLength + 2) else {
                    if buf.count - pos > limits.maxChunkLineLength + 1 { return (pos, fail(.badRequest)) }
                    return (pos, nil)
                }
                guard lf > pos, buf[lf - 1] == 0x0D else { return (pos, fail(.badRequest)) }
                var size = 0
                var digits = 0
                var i = pos
                while i < lf - 1, let d = hexValue(buf[i]) {
                    digits += 1
                    if digits > 15 { return (pos, fail(.badRequest)) }
                    size = size << 4 | d
                    i += 1
                }
                guard digits > 0 else { return (pos, fail(.badRequest)) }
                // The rest must be chunk extensions: BWS ";" ... (ignored), no CR/LF/controls.
                var j = i
                while j < lf - 1, buf[j] == 0x20 || buf[j] == 0x09 { j += 1 }
                if j < lf - 1 {
                    guard buf[j] == 0x3B else { return (pos, fail(.badRequest)) }
                    for k in j..<(lf - 1) where !isFieldValueByte(buf[k]) { return (pos, fail(.badRequest)) }
                } else if j != i {
                    return (pos, fail(.badRequest)) // whitespace with no extension after it
                }
                pos = lf + 1
                if size == 0 {
                    state = .trailers
                    trailerBytes = 0
                } else {
                    if body.count + size > limit { return (pos, fail(.payloadTooLarge)) }
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                let n = min(remaining, buf.count - pos)
                if n > 0 {
                    body.append(contentsOf: UnsafeBufferPointer(rebasing: buf[pos..<pos + n]))
                    pos += n
                }
                if remaining - n > 0 {
                    state = .chunkData(remaining: remaining - n)
                    return (pos, nil)
                }
                state = .chunkDataEnd

            case .chunkDataEnd:
                guard buf.count - pos >= 2 else {
                    if buf.count - pos == 1 && buf[pos] != 0x0D { return (pos, fail(.badRequest)) }
                    return (pos, nil)
                }
                guard buf[pos] == 0x0D, buf[pos + 1] == 0x0A else { return (pos, fail(.badRequest)) }
                pos += 2
                state = .chunkSize

            case .trailers:
                // trailer-section CRLF: field lines, read and discarded.
                guard let lf = indexOfLF(buf, from: pos, limit: limits.maxHeaderBytes - trailerBytes + 1) else {
                    if trailerBytes + (buf.count - pos) > limits.maxHeaderBytes { return (pos, fail(.headerFieldsTooLarge)) }
                    return (pos, nil)
                }
                guard lf > pos, buf[lf - 1] == 0x0D else { return (pos, fail(.badRequest)) }
                let line = UnsafeBufferPointer(rebasing: buf[pos..<(lf - 1)])
                trailerBytes += lf + 1 - pos
                if trailerBytes > limits.maxHeaderBytes { return (pos, fail(.headerFieldsTooLarge)) }
                pos = lf + 1
                if line.isEmpty { return (pos, finish()) }
                if parseField(line) == nil { return (pos, fail(.badRequest)) }
            }
        }
    }

    // MARK: - head

    private mutating func decodeHead(_ buf: UnsafeBufferPointer<UInt8>) -> (consumed: Int, event: Event?) {
        // Skip empty lines before the request line (RFC 9112 §2.2), but only a few: a client
        // that sends nothing else is refused rather than kept busy.
        if scanned == 0 {
            var start = 0
            while start + 1 < buf.count, buf[start] == 0x0D, buf[start + 1] == 0x0A {
                leadingEmptyLines += 1
                if leadingEmptyLines > 4 { return (start, fail(.badRequest)) }
                start += 2
            }
            if start > 0 {
                let r = decodeHead(UnsafeBufferPointer(rebasing: buf[start...]))
                return (r.consumed + start, r.event)
            }
        }
        // Find CRLFCRLF, checking line endings as we go: every LF must follow a CR and
        // every CR must precede an LF.
        var i = scanned
        var end = -1
        while i < buf.count {
            let c = buf[i]
            if c == 0x0A {
                if i == 0 || buf[i - 1] != 0x0D { return (0, fail(.badRequest)) }
                if firstLineEnd < 0 { firstLineEnd = i }
                if i >= 3 && buf[i - 2] == 0x0A && buf[i - 3] == 0x0D { end = i + 1; break }
            } else if i > 0 && buf[i - 1] == 0x0D {
                return (0, fail(.badRequest)) // bare CR
            }
            i += 1
        }
        if end < 0 {
            // Not complete yet. Refuse early what can already be refused.
            scanned = i > 0 && buf[i - 1] == 0x0D ? i - 1 : i
            if scanned > 0 && !isMidLineOK(buf) { return (0, fail(.badRequest)) }
            if firstLineEnd < 0 && buf.count > limits.maxTargetLength + 32 {
                return (0, fail(.uriTooLong))
            }
            if buf.count > limits.maxHeaderBytes { return (0, fail(.headerFieldsTooLarge)) }
            return (0, nil)
        }
        if end > limits.maxHeaderBytes {
            // The request line may be the culprit.
            if firstLineEnd - 20 > limits.maxTargetLength { return (0, fail(.uriTooLong)) }
            return (0, fail(.headerFieldsTooLarge))
        }
        scanned = 0
        firstLineEnd = -1
        leadingEmptyLines = 0
        switch parseHead(UnsafeBufferPointer(rebasing: buf[0..<end])) {
        case .failure(let status):
            return (end, fail(status))
        case .success(let h):
            return (end, begin(h))
        }
    }

    /// Early check on an incomplete first line: the method must be a token.
    private func isMidLineOK(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in buf {
            if b == 0x20 { return true }
            if !isTokenByte(b) { return b == 0x0D || b == 0x0A }
        }
        return buf.count <= 32 // a method longer than that is not one we know
    }

    /// Decides the framing of the body once the head is known.
    private mutating func begin(_ h: HTTPRequestHead) -> Event? {
        let headers = h.headers
        // Method: TRACE is refused, unknown methods are not implemented.
        if h.method.rawValue == "TRACE" { return fail(.methodNotAllowed, h) }
        if !HTTPMethod.supported.contains(h.method) { return fail(.notImplemented, h) }

        // Host: exactly one on HTTP/1.1, and well-formed when present.
        let hosts = headers.values("Host")
        if h.version.minor >= 1 && hosts.count != 1 { return fail(.badRequest, h) }
        if hosts.count > 1 { return fail(.badRequest, h) }
        if let host = hosts.first, !isValidHost(host) { return fail(.badRequest, h) }
        // asterisk-form only for OPTIONS
        if h.target == "*" && h.method != .OPTIONS { return fail(.badRequest, h) }

        let te = headers.values("Transfer-Encoding")
        let cl = headers.values("Content-Length")
        var chunked = false
        var length = 0
        if !te.isEmpty {
            if !cl.isEmpty { return fail(.badRequest, h) }
            if h.version.minor == 0 { return fail(.badRequest, h) }
            var codings: [Substring] = []
            for v in te {
                for part in v.split(separator: ",", omittingEmptySubsequences: false) {
                    let t = part.trimmingSpaces
                    if t.isEmpty { return fail(.badRequest, h) }
                    codings.append(t)
                }
            }
            guard let last = codings.last, asciiCaseInsensitiveEquals(last, "chunked") else { return fail(.badRequest, h) }
            for c in codings.dropLast() {
                if asciiCaseInsensitiveEquals(c, "chunked") { return fail(.badRequest, h) }
                return fail(.notImplemented, h)
            }
            chunked = true
        } else if !cl.isEmpty {
            var value: Int?
            for v in cl {
                for part in v.split(separator: ",", omittingEmptySubsequences: false) {
                    let t = part.trimmingSpaces
                    guard let n = parseDecimal(t) else { return fail(.badRequest, h) }
                    if let value, value != n { return fail(.badRequest, h) }
                    value = n
                }
            }
            length = value ?? 0
        }

        // Only a request with a body needs its limit. Asking costs a route lookup on the event
        // loop, which the usual GET (no body) is spared.
        if chunked || length > 0 {
            limit = bodyLimit(h)
            if length > limit { return fail(.payloadTooLarge, h) }
        }

        head = h
        body = []
        let hasBody = chunked || length > 0
        if chunked {
            state = .chunkSize
        } else if length > 0 {
            body.reserveCapacity(length)
            state = .fixedBody(remaining: length)
        } else {
            return finish()
        }

        if let expect = headers["Expect"] {
            guard asciiCaseInsensitiveEquals(expect.trimmingSpaces, "100-continue") else { return fail(.expectationFailed, h) }
            if hasBody && h.version.minor >= 1 { return .sendContinue }
        }
        return nil
    }

    private mutating func finish() -> Event {
        let ev = Event.request(head!, body: body)
        head = nil
        body = []
        state = .head
        return ev
    }

    private mutating func fail(_ status: HTTPStatus, _ h: HTTPRequestHead? = nil) -> Event {
        state = .failed
        let ev = Event.error(status, h ?? head)
        head = nil
        body = []
        return ev
    }

    // MARK: - parsing the head section

    private enum HeadResult { case success(HTTPRequestHead), failure(HTTPStatus) }

    /// `buf` holds the whole head, ending in CRLFCRLF, with line endings already checked.
    private func parseHead(_ buf: UnsafeBufferPointer<UInt8>) -> HeadResult {
        // request-line = method SP request-target SP HTTP-version
        var lineEnd = 0
        while buf[lineEnd] != 0x0D { lineEnd += 1 }
        var sp1 = 0
        while sp1 < lineEnd, buf[sp1] != 0x20 {
            if !isTokenByte(buf[sp1]) { return .failure(.badRequest) }
            sp1 += 1
        }
        guard sp1 > 0, sp1 < lineEnd else { return .failure(.badRequest) }
        var sp2 = sp1 + 1
        while sp2 < lineEnd, buf[sp2] != 0x20 {
            let b = buf[sp2]
            if b <= 0x20 || b >= 0x7F { return .failure(.badRequest) }
            sp2 += 1
        }
        let targetLength = sp2 - sp1 - 1
        if targetLength > limits.maxTargetLength { return .failure(.uriTooLong) }
        guard targetLength > 0, sp2 < lineEnd else { return .failure(.badRequest) }
        // HTTP-version = "HTTP/" DIGIT "." DIGIT, and nothing after it.
        guard lineEnd - sp2 - 1 == 8,
              buf[sp2 + 1] == 0x48, buf[sp2 + 2] == 0x54, buf[sp2 + 3] == 0x54, buf[sp2 + 4] == 0x50,
              buf[sp2 + 5] == 0x2F, isDigit(buf[sp2 + 6]), buf[sp2 + 7] == 0x2E, isDigit(buf[sp2 + 8])
        else { return .failure(.badRequest) }
        let major = Int(buf[sp2 + 6] - 0x30), minor = Int(buf[sp2 + 8] - 0x30)
        guard major == 1 else { return .failure(.httpVersionNotSupported) }

        let method = String(decoding: UnsafeBufferPointer(rebasing: buf[0..<sp1]), as: UTF8.self)
        let target = String(decoding: UnsafeBufferPointer(rebasing: buf[(sp1 + 1)..<sp2]), as: UTF8.self)
        guard isValidTargetForm(target) else { return .failure(.badRequest) }

        var headers = HTTPHeaders()
        headers.fields.reserveCapacity(12)
        var pos = lineEnd + 2
        while true {
            var e = pos
            while buf[e] != 0x0D { e += 1 }
            if e == pos { break } // empty line: end of head
            if headers.count >= limits.maxHeaderCount { return .failure(.headerFieldsTooLarge) }
            guard let field = parseField(UnsafeBufferPointer(rebasing: buf[pos..<e])) else { return .failure(.badRequest) }
            headers.fields.append(field)
            pos = e + 2
        }
        return .success(HTTPRequestHead(method: HTTPMethod(rawValue: method), target: target,
                                        version: HTTPVersion(major: major, minor: minor), headers: headers))
    }

    /// field-line = field-name ":" OWS field-value OWS; no whitespace before the colon,
    /// no obs-fold, no control characters.
    private func parseField(_ line: UnsafeBufferPointer<UInt8>) -> (name: String, value: String)? {
        var colon = 0
        while colon < line.count, line[colon] != 0x3A {
            if !isTokenByte(line[colon]) { return nil }
            colon += 1
        }
        guard colon > 0, colon < line.count else { return nil }
        var vs = colon + 1
        var ve = line.count
        while vs < ve, line[vs] == 0x20 || line[vs] == 0x09 { vs += 1 }
        while ve > vs, line[ve - 1] == 0x20 || line[ve - 1] == 0x09 { ve -= 1 }
        for k in vs..<ve where !isFieldValueByte(line[k]) { return nil }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[0..<colon]), as: UTF8.self)
        let value = String(decoding: UnsafeBufferPointer(rebasing: line[vs..<ve]), as: UTF8.self)
        return (name, value)
    }
}

// MARK: - byte classes

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

@inline(__always) func hexValue(_ b: UInt8) -> Int? {
    switch b {
    case 0x30...0x39: return Int(b - 0x30)
    case 0x41...0x46: return Int(b - 0x41 + 10)
    case 0x61...0x66: return Int(b - 0x61 + 10)
    default: return nil
    }
}

/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
private let tokenTable: [Bool] = {
    var t = [Bool](repeating: false, count: 256)
    for c in UInt8(0x30)...0x39 { t[Int(c)] = true }
    for c in UInt8(0x41)...0x5A { t[Int(c)] = true }
    for c in UInt8(0x61)...0x7A { t[Int(c)] = true }
    for c in "!#$%&'*+-.^_`|~".utf8 { t[Int(c)] = true }
    return t
}()

@inline(__always) func isTokenByte(_ b: UInt8) -> Bool { tokenTable[Int(b)] }

/// field-vchar / SP / HTAB; obs-text (0x80–0xFF) allowed; other controls and DEL refused.
@inline(__always) func isFieldValueByte(_ b: UInt8) -> Bool { b == 0x09 || (b >= 0x20 && b != 0x7F) }

private func indexOfLF(_ buf: UnsafeBufferPointer<UInt8>, from: Int, limit: Int) -> Int? {
    var i = from
    let end = min(buf.count, from + limit)
    while i < end {
        if buf[i] == 0x0A { return i }
        i += 1
    }
    return nil
}

private func parseDecimal(_ s: Substring) -> Int? {
    guard !s.isEmpty, s.utf8.count <= 18 else { return nil }
    var n = 0
    for b in s.utf8 {
        guard isDigit(b) else { return nil }
        n = n * 10 + Int(b - 0x30)
    }
    return n
}

private func isValidTargetForm(_ t: String) -> Bool {
    if t.utf8.first == 0x2F { return true }                // origin-form
    if t == "*" { return true }                             // asterisk-form (OPTIONS)
    let lower = t.lowercased()
    if lower.hasPrefix("http://") || lower.hasPrefix("https://") { // absolute-form
        let rest = t.utf8.dropFirst(lower.hasPrefix("https://") ? 8 : 7)
        return !rest.isEmpty && rest.first != 0x2F
    }
    return false
}

/// uri-host [ ":" port ], loosely: reg-name / IPv4 / IP-literal characters only.
private func isValidHost(_ h: String) -> Bool {
    if h.isEmpty { return true } // an empty Host is allowed when the target has no authority
    for b in h.utf8 {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: continue
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "!"), UInt8(ascii: "$"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
             UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            continue
        default: return false
        }
    }
    return true
}
