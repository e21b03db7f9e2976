import Testing
@testable import HTTP

/// A response field's value is sent as it is unless it holds a CR, LF or NUL, which are
/// dropped so a handler can never split a response. The check reads eight bytes at a time;
/// here it is compared with the byte-by-byte rule at every length, offset and byte value.
@Suite struct ResponseFieldTests {
    static func naive(_ bytes: [UInt8]) -> Bool { bytes.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 } }

    @Test func theWordAtATimeCheckFindsWhatTheByteRuleFinds() {
        // Every byte value at every position of buffers of every length up to 40, over a
        // background of a near miss (0x0E, just above the filter), a tab and UTF-8 bytes.
        for length in 0...40 {
            for background: UInt8 in [0x41, 0x0E, 0x09, 0xC3, 0x7F, 0xFF] {
                let plain = [UInt8](repeating: background, count: length)
                #expect(plain.withUnsafeBufferPointer(ResponseEncoder.containsLineBreakOrNUL) == false)
                for position in 0..<length {
                    for value in 0...255 {
                        var b = plain
                        b[position] = UInt8(value)
                        let found = b.withUnsafeBufferPointer(ResponseEncoder.containsLineBreakOrNUL)
                        if found != Self.naive(b) {
                            Issue.record("length \(length), background \(background), byte \(value) at \(position): \(found)")
                            return
                        }
                    }
                }
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let b = (0..<Int.random(in: 0...300, using: &rng)).map { _ in
                UInt8.random(in: 0...255, using: &rng) | (Bool.random(using: &rng) ? 0x10 : 0)
            }
            #expect(b.withUnsafeBufferPointer(ResponseEncoder.containsLineBreakOrNUL) == Self.naive(b))
        }
    }

    @Test func aValueWithABreakLosesItAndOneWithoutIsKept() {
        let long = String(repeating: "default-src 'self'; ", count: 20)
        let response = HTTPResponse(headers: ["X-Policy": long, "X-Evil": long + "a\r\nSet-Cookie: pwned=1", "X-Nul": "a\u{0}b"])
        var out: [UInt8] = []
        ResponseEncoder.head(response, version: .http1_1, keepAlive: true, bodyLength: 0, chunked: false, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("\r\nX-Policy: \(long)\r\n"))
        #expect(text.contains("\r\nX-Evil: \(long)aSet-Cookie: pwned=1\r\n"))
        #expect(!text.contains("\r\nSet-Cookie"))
        #expect(text.contains("\r\nX-Nul: ab\r\n"))
    }
}
