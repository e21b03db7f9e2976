/// Lower-case hexadecimal, for digests stored in the database and keys in configuration.
///
/// Decoding accepts either case and rejects odd lengths and non-hex characters (`nil`),
/// so a mistyped key is an error rather than a silently shorter one.
public enum Hex {
    /// `bytes` as lower-case hex, two digits per byte.
    public static func encode(_ bytes: [UInt8]) -> String {
        // Written straight into the string's storage: appended a byte at a time to an array
        // and then copied into a string, a session cookie's digest cost ~1,700 instructions,
        // on every signed-in request.
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            let table: StaticString = "0123456789abcdef"
            let hex = table.utf8Start
            var i = 0
            for byte in bytes {
                out[i] = hex[Int(byte >> 4)]
                out[i + 1] = hex[Int(byte & 0x0F)]
                i += 2
            }
            return i
        }
    }

    /// The bytes spelled by `string`, or `nil` if it is not an even number of hex digits.
    public static func decode(_ string: String) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// RFC 4648 §6 base32, the encoding of TOTP secrets in `otpauth://` URLs and manual entry.
///
/// Encoding uses the upper-case alphabet without `=` padding (what authenticator apps expect).
/// Decoding is forgiving where people are (lower case, spaces from grouped display, optional
/// trailing padding) and strict where it matters: any other character, a length no encoder
/// produces, padding in the middle, or non-zero unused trailing bits all return `nil`, so each
/// accepted string has exactly one meaning.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    private static let decodeTable: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() {
            table[Int(c)] = Int8(i)
            // Lower-case letters decode like upper-case ones.
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { table[Int(c) + 32] = Int8(i) }
        }
        return table
    }()

    /// `bytes` in upper-case base32 without padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1F)])
                bits -= 5
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        if bits > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes spelled by `string`, or `nil` if it is not valid base32 (see the type's notes).
    public static func decode(_ string: String) -> [UInt8]? {
        var symbols = [UInt8]()
        symbols.reserveCapacity(string.utf8.count)
        var padding = 0
        for c in string.utf8 {
            if c == UInt8(ascii: " ") { continue }
            if c == UInt8(ascii: "=") { padding += 1; continue }
            // A symbol after padding means the padding was not trailing.
            guard padding == 0 else { return nil }
            let v = decodeTable[Int(c)]
            guard v >= 0 else { return nil }
            symbols.append(UInt8(v))
        }
        // Lengths an encoder can produce: 8k + {0, 2, 4, 5, 7} symbols.
        let remainder = symbols.count % 8
        guard [0, 2, 4, 5, 7].contains(remainder) else { return nil }
        if padding > 0 {
            // Padding, when present, must complete the last 8-symbol group exactly.
            guard remainder != 0, remainder + padding == 8 else { return nil }
        }
        var out = [UInt8]()
        out.reserveCapacity(symbols.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for v in symbols {
            buffer = (buffer << 5) | UInt32(v)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        // Left-over bits are padding and must be zero (canonical encoding).
        guard buffer == 0 else { return nil }
        return out
    }
}

/// RFC 4648 §5 base64url without padding: tokens that travel in URLs, cookies and forms.
///
/// Decoding accepts optional trailing `=` padding but only the URL-safe alphabet, and rejects
/// impossible lengths and non-zero unused bits.
public enum Base64URL {
    /// `bytes` in base64url without padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        Base64Codec.url.encode(bytes)
    }

    /// The bytes spelled by `string`, or `nil` if it is not valid base64url.
    public static func decode(_ string: String) -> [UInt8]? {
        Base64Codec.url.decode(string)
    }
}

/// RFC 4648 §4 standard base64 (`+` and `/`), used inside password-hash strings (as in the PHC
/// string format) and for keys given in configuration.
///
/// `encode` pads with `=` unless told not to; `decode` accepts padded or unpadded input.
public enum Base64 {
    /// `bytes` in standard base64, padded with `=` unless `padding` is false.
    public static func encode(_ bytes: [UInt8], padding: Bool = true) -> String {
        Base64Codec.standard.encode(bytes, padding: padding)
    }

    /// The bytes spelled by `string`, or `nil` if it is not valid standard base64.
    public static func decode(_ string: String) -> [UInt8]? {
        Base64Codec.standard.decode(string)
    }
}

struct Base64Codec: Sendable {
    let alphabet: [UInt8]
    let table: [Int8]

    static let standard = Base64Codec(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8))
    static let url = Base64Codec(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8))

    init(_ alphabet: [UInt8]) {
        self.alphabet = alphabet
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        self.table = table
    }

    func encode(_ bytes: [UInt8], padding: Bool = false) -> String {
        let full = bytes.count / 3, rest = bytes.count % 3
        let count = full * 4 + (rest == 0 ? 0 : padding ? 4 : rest + 1)
        guard count > 0 else { return "" }
        // Written in place (every page's CSRF field is one): no array, no second copy.
        return bytes.withUnsafeBufferPointer { src in
            alphabet.withUnsafeBufferPointer { a in
                String(unsafeUninitializedCapacity: count) { out in
                    var o = 0
                    for g in 0..<full {
                        let i = g * 3
                        let n = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                        out[o] = a[Int(n >> 18 & 63)]
                        out[o + 1] = a[Int(n >> 12 & 63)]
                        out[o + 2] = a[Int(n >> 6 & 63)]
                        out[o + 3] = a[Int(n & 63)]
                        o += 4
                    }
                    if rest > 0 {
                        let i = full * 3
                        let n = UInt32(src[i]) << 16 | (rest == 2 ? UInt32(src[i + 1]) << 8 : 0)
                        out[o] = a[Int(n >> 18 & 63)]
                        out[o + 1] = a[Int(n >> 12 & 63)]
                        o += 2
                        if rest == 2 { out[o] = a[Int(n >> 6 & 63)]; o += 1 }
                        if padding {
                            while o < count { out[o] = UInt8(ascii: "="); o += 1 }
                        }
                    }
                    return o
                }
            }
        }
    }

    func decode(_ string: String) -> [UInt8]? {
        var chars = Array(string.utf8)
        var padding = 0
        while chars.last == UInt8(ascii: "=") {
            chars.removeLast()
            padding += 1
        }
        let remainder = chars.count % 4
        guard remainder != 1 else { return nil }
        if padding > 0 {
            guard remainder != 0, remainder + padding == 4 else { return nil }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for c in chars {
            let v = table[Int(c)]
            guard v >= 0 else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                out.append(UInt8(buffer >> UInt32(bits - 8) & 0xFF))
                bits -= 8
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        guard buffer == 0 else { return nil }
        return out
    }
}
