/// Which of the configured prefixes (``HTTPServer/Configuration/refusalPrefixes``) a request
/// target begins with, judged from the first bytes of a request that was not parsed: the
/// request line may be incomplete, malformed after the target's start, or far too long.
struct TargetPrefix: Sendable {
    private let prefixes: [(text: String, bytes: [UInt8])]

    init(_ prefixes: [String]) {
        // Longest first, so `/v1/beta` wins over `/v1` if both are configured.
        self.prefixes = prefixes.filter { $0.hasPrefix("/") && $0.count > 1 }.sorted { $0.utf8.count > $1.utf8.count }.map { ($0, Array($0.utf8)) }
    }

    var isEmpty: Bool { prefixes.isEmpty }

    enum Verdict: Equatable {
        /// Not enough bytes yet (only while reading an over-cap connection).
        case undecided
        case decided(String?)
    }

    /// The prefix `bytes` (the start of a request: optional empty lines, method, SP,
    /// target) begins with. Only origin-form targets (`/…`) are matched; the prefix must end
    /// at a segment boundary (`/`, `?`, `#`, SP, CR, or, when `complete`, the end of the bytes).
    /// `complete`: no more bytes will come, so judge what there is.
    func verdict(_ bytes: UnsafeBufferPointer<UInt8>, complete: Bool) -> Verdict {
        var i = 0
        while i + 1 < bytes.count, bytes[i] == 0x0D, bytes[i + 1] == 0x0A { i += 2 }
        let methodStart = i
        while i < bytes.count, bytes[i] != 0x20 {
            if !isTokenByte(bytes[i]) || i - methodStart > 32 { return .decided(nil) }
            i += 1
        }
        guard i < bytes.count else { return complete ? .decided(nil) : .undecided }
        let target = i + 1
        for p in prefixes {
            let end = target + p.bytes.count
            var matches = true
            for (k, b) in p.bytes.enumerated() {
                guard target + k < bytes.count else {
                    // Cut short inside the prefix.
                    if !complete { return .undecided }
                    matches = false
                    break
                }
                if bytes[target + k] != b { matches = false; break }
            }
            guard matches else { continue }
            guard end < bytes.count else { return complete ? .decided(p.text) : .undecided }
            switch bytes[end] {
            case 0x2F, 0x3F, 0x23, 0x20, 0x0D: return .decided(p.text)
            default: continue
            }
        }
        return .decided(nil)
    }

    /// The prefix of a request whose bytes are all there is.
    func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard !isEmpty, case .decided(let p) = verdict(bytes, complete: true) else { return nil }
        return p
    }
}
