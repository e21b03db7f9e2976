/// Base62 (`0-9A-Za-z`): letters and digits only, so a secret is one word to a double-click,
/// a shell and a URL. Numbers are written big-endian at a fixed width, zero-padded, so every
/// secret has the same length.
enum Base62 {
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func isDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    /// The value of a base62 digit (`isDigit` must hold).
    @inline(__always)
    static func value(_ b: UInt8) -> Int {
        b <= 0x39 ? Int(b - 0x30) : b <= 0x5A ? Int(b - 0x41) + 10 : Int(b - 0x61) + 36
    }

    /// The characters needed for any number of `byteCount` bytes: 32 bytes → 43.
    static func width(forBytes byteCount: Int) -> Int {
        // ceil(8 · n / log2(62)); log2(62) ≈ 5.9542.
        Int((Double(byteCount * 8) / 5.954196310386876).rounded(.up))
    }

    /// `bytes` as one big-endian number in base62, `width` characters.
    static func encode(_ bytes: [UInt8], width: Int) -> String {
        var number = bytes
        var digits = [UInt8]()
        digits.reserveCapacity(width)
        while digits.count < width {
            // Long division of the whole number by 62; the remainder is the next digit.
            var remainder = 0
            for i in number.indices {
                let v = remainder * 256 + Int(number[i])
                number[i] = UInt8(v / 62)
                remainder = v % 62
            }
            digits.append(alphabet[remainder])
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// `value` in base62, `width` characters (6 for a CRC-32: 62⁶ > 2³²).
    static func encode(_ value: UInt32, width: Int) -> String {
        var v = value
        var digits = [UInt8](repeating: alphabet[0], count: width)
        for i in stride(from: width - 1, through: 0, by: -1) {
            digits[i] = alphabet[Int(v % 62)]
            v /= 62
        }
        return String(decoding: digits, as: UTF8.self)
    }
}
