/// What the request log keeps of a body: its first 4 KB as text, with every secret it may hold
/// masked before it is ever stored. A failed request is often a developer pasting the wrong
/// thing, so we expect keys, signing secrets, passwords and card numbers in there:
///
/// - API keys (`sk_…`, `rk_…`, `pk_…`) and webhook signing secrets (`whsec_…`): the whole token
///   after its prefix → `sk_sandbox_[masked]`;
/// - `Bearer …` / `Basic …` credentials, and the value of any JSON or form field whose name
///   says it is a secret (`authorization`, `password`, `secret`, `token`, `api_key`…);
/// - card-like digit runs of 13 digits or more (single spaces or dashes between groups
///   allowed): every digit but the last four → `************4242`.
///
/// Masking runs on the first 4 KB plus a margin, then truncates, so that a secret cut by
/// the 4 KB boundary is masked as the whole was.
enum BodyMasking {
    static let limit = 4096
    static let margin = 256
    static let masked = "[masked]"

    /// The stored form of `body`: nil when it is empty.
    static func keep(_ body: [UInt8]) -> String? {
        guard !body.isEmpty else { return nil }
        let head = body.count > limit + margin ? Array(body[..<(limit + margin)]) : body
        var text = mask(String(decoding: head, as: UTF8.self))
        if text.utf8.count > limit || body.count > limit + margin {
            // Cut at a character boundary at or below the limit.
            var cut = text.utf8.index(text.utf8.startIndex, offsetBy: min(limit, text.utf8.count))
            while cut > text.startIndex && !text.unicodeScalars.indices.contains(cut) { cut = text.utf8.index(before: cut) }
            text = String(text[..<cut]) + "…"
        }
        return text
    }

    /// Field names whose values are secrets, compared lower-cased, as substrings.
    static let secretFieldNames = ["authorization", "password", "passwd", "secret", "token", "api_key", "apikey", "cvc", "cvv", "verifier"]
    /// OAuth's client secrets, access and refresh tokens and authorization codes are base64url,
    /// so `-` belongs to them too.
    static let base64URLPrefixes = ["cs_", "oat_", "ort_", "oac_"]
    static let tokenPrefixes = ["sk_", "rk_", "pk_", "whsec_"] + base64URLPrefixes

    static func mask(_ text: String) -> String {
        mayHoldSecret(text) ? maskEveryRule(text) : text
    }

    /// `mask` without the quick test (for tests that check the quick test never lets a secret by).
    static func maskEveryRule(_ text: String) -> String {
        var s = Array(text.unicodeScalars)
        maskTokens(&s)
        maskSchemes(&s)
        maskFields(&s)
        maskCards(&s)
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s)
        return String(out)
    }

    /// Needles that every masking rule needs to find before it changes anything: a token prefix
    /// holds `_`, a scheme is `bearer`/`basic`, a field name holds one of `secretFieldNames`.
    private static let needles: [[UInt8]] = (["bearer", "basic"] + secretFieldNames).map { Array($0.utf8) }

    /// False only when no rule could match: no `_`, no byte outside ASCII, fewer than 13
    /// digits, and none of the scheme or secret field names in any case. Most header values
    /// (`application/json`, `42`) and many bodies are then returned as they are, without the
    /// four passes over an array of scalars.
    static func mayHoldSecret(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { b -> Bool in
            var digits = 0
            for c in b {
                if c == UInt8(ascii: "_") || c >= 0x80 { return true }
                if c &- UInt8(ascii: "0") < 10 { digits += 1 }
            }
            if digits >= 13 { return true }
            for needle in needles where needle.count <= b.count {
                let first = needle[0]
                var i = 0
                while i + needle.count <= b.count {
                    if b[i] | 0x20 == first {
                        var k = 1
                        while k < needle.count && b[i + k] | 0x20 == needle[k] { k += 1 }
                        if k == needle.count { return true }
                    }
                    i += 1
                }
            }
            return false
        }
    }

    static func isWord(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
    }

    /// Replaces `s[start..<end]` with `replacement`, returning the index just after it.
    @discardableResult
    static func replace(_ s: inout [Unicode.Scalar], _ start: Int, _ end: Int, with replacement: String) -> Int {
        let r = Array(replacement.unicodeScalars)
        s.replaceSubrange(start..<end, with: r)
        return start + r.count
    }

    /// `sk_sandbox_AbC…` → `sk_sandbox_[masked]`: the prefix up to its last underscore-led
    /// word that is all lower-case letters (the environment) stays, so a reader still sees
    /// which kind of key was sent.
    static func maskTokens(_ s: inout [Unicode.Scalar]) {
        var i = 0
        while i < s.count {
            guard (i == 0 || !isWord(s[i - 1])), let p = tokenPrefixes.first(where: { matches(s, at: i, $0) }) else { i += 1; continue }
            var end = i
            let dash = base64URLPrefixes.contains(p)
            while end < s.count && (isWord(s[end]) || (dash && s[end] == "-")) { end += 1 }
            var keep = i + p.unicodeScalars.count
            // sk_sandbox_ / sk_live_ / sk_test_: keep the environment word too.
            var j = keep
            while j < end && s[j] >= "a" && s[j] <= "z" { j += 1 }
            if !dash && j < end && s[j] == "_" && j > keep { keep = j + 1 }
            if end - keep < 4 { i = end; continue }  // `sk_` alone, or a word like `pk_id`
            i = replace(&s, keep, end, with: masked)
        }
    }

    /// `Bearer <token>` and `Basic <token>` (any case) → `Bearer [masked]`.
    static func maskSchemes(_ s: inout [Unicode.Scalar]) {
        for scheme in ["bearer ", "basic "] {
            var i = 0
            while i < s.count {
                guard (i == 0 || !isWord(s[i - 1])), matches(s, at: i, scheme, caseInsensitive: true) else { i += 1; continue }
                var start = i + scheme.unicodeScalars.count
                while start < s.count && s[start] == " " { start += 1 }
                var end = start
                while end < s.count && !isSeparator(s[end]) { end += 1 }
                i = end > start ? replace(&s, start, end, with: masked) : end
            }
        }
    }

    static func isSeparator(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\"" || c == "'" || c == "&" || c == "," || c == "\n" || c == "\r" || c == "\t" || c == "}" || c == "]" || c == "<" || c == ">"
    }

    /// `"password": "…"`, `"client_secret":"…"`, `password=…&`, `token: …`: the value after
    /// a secret-named field, up to its end, masked (a JSON string, a form value, a header-like line).
    static func maskFields(_ s: inout [Unicode.Scalar]) {
        var i = 0
        while i < s.count {
            guard isWord(s[i]), i == 0 || !isWord(s[i - 1]) else { i += 1; continue }
            var end = i
            while end < s.count && (isWord(s[end]) || s[end] == "-") { end += 1 }
            guard isSecretFieldName(s[i..<end]) else { i = end; continue }
            // After the name: an optional closing quote, spaces, then ':' or '='.
            var j = end
            if j < s.count && (s[j] == "\"" || s[j] == "'") { j += 1 }
            while j < s.count && s[j] == " " { j += 1 }
            guard j < s.count && (s[j] == ":" || s[j] == "=") else { i = end; continue }
            j += 1
            while j < s.count && s[j] == " " { j += 1 }
            guard j < s.count else { i = j; continue }
            if s[j] == "\"" || s[j] == "'" {
                let quote = s[j]
                var k = j + 1
                while k < s.count && s[k] != quote { if s[k] == "\\" { k += 1 }; k += 1 }
                k = min(k, s.count)
                i = k > j + 1 ? replace(&s, j + 1, k, with: masked) + 1 : k + 1
            } else if s[j] == "{" || s[j] == "[" {
                i = j  // a nested object: its own fields are looked at in turn
            } else {
                var k = j
                while k < s.count && s[k] != "&" && s[k] != "," && s[k] != "\n" && s[k] != "\r" && s[k] != "}" { k += 1 }
                i = k > j ? replace(&s, j, k, with: masked) : k
            }
        }
    }

    /// Whether the word holds one of `secretFieldNames`, in any case (ASCII).
    static func isSecretFieldName(_ word: ArraySlice<Unicode.Scalar>) -> Bool {
        let lower = word.map { c -> UInt8 in
            guard c.isASCII else { return 0 }
            let v = UInt8(c.value)
            return v >= 65 && v <= 90 ? v | 0x20 : v
        }
        return needles.dropFirst(2).contains { needle in
            guard needle.count <= lower.count else { return false }
            return (0...(lower.count - needle.count)).contains { i in lower[i..<(i + needle.count)].elementsEqual(needle) }
        }
    }

    /// Runs of 13 or more digits, possibly grouped by single spaces or dashes: every digit but
    /// the last four becomes `*` (separators dropped). Card numbers are 13–19 digits; a longer
    /// run is masked too rather than risk a card number followed by more digits leaking. A run
    /// with a letter right before or after it is part of a word, not a card number: a request
    /// id (24 hex digits) or a hash whose digits happen to run 13 long stays readable.
    static func maskCards(_ s: inout [Unicode.Scalar]) {
        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
        var i = 0
        while i < s.count {
            guard isDigit(s[i]), i == 0 || !isDigit(s[i - 1]) else { i += 1; continue }
            var digits: [Unicode.Scalar] = []
            var end = i
            while end < s.count {
                if isDigit(s[end]) { digits.append(s[end]); end += 1; continue }
                if s[end] == " " || s[end] == "-", end + 1 < s.count, isDigit(s[end + 1]) { end += 1; continue }
                break
            }
            let inWord = (i > 0 && isLetter(s[i - 1])) || (end < s.count && isLetter(s[end]))
            if digits.count >= 13, !inWord {
                let shown = String(String.UnicodeScalarView(digits.suffix(4)))
                i = replace(&s, i, end, with: String(repeating: "*", count: digits.count - 4) + shown)
            } else {
                i = end
            }
        }
    }

    static func matches(_ s: [Unicode.Scalar], at i: Int, _ word: String, caseInsensitive: Bool = false) -> Bool {
        let w = Array(word.unicodeScalars)
        guard i + w.count <= s.count else { return false }
        for k in 0..<w.count {
            var c = s[i + k]
            if caseInsensitive, c >= "A" && c <= "Z" { c = Unicode.Scalar(c.value + 32)! }
            if c != w[k] { return false }
        }
        return true
    }
}
