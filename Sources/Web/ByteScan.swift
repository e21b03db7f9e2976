/// Looks through bytes eight at a time for any of a few values (the escapes of JSON and of
/// HTML): the "has a zero byte" test, (v - 0x01…) & ~v & 0x80…, exact as a yes or no, on a
/// word xor'ed with each value sought.
enum ByteScan {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// `b` in every byte of a word.
    @inline(__always) static func splat(_ b: UInt8) -> UInt64 { ones &* UInt64(b) }

    /// Nonzero when a byte of `v` is zero.
    @inline(__always) static func zeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }

    /// Nonzero when a byte of `v` is below `n` (at most 0x80).
    @inline(__always) static func byteBelow(_ v: UInt64, _ n: UInt8) -> UInt64 { (v &- splat(n)) & ~v & highs }

    /// Whether `word` holds for a word of `bytes` (the last one overlapping the one before),
    /// or `byte` for a byte of fewer than eight.
    @inline(__always)
    static func any(_ bytes: UnsafeBufferPointer<UInt8>, word: (UInt64) -> Bool, byte: (UInt8) -> Bool) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let n = bytes.count
        guard n >= 8 else {
            for i in 0..<n where byte(base[i]) { return true }
            return false
        }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= n {
            if word(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return true }
            i += 8
        }
        return i < n && word(raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
    }
}
