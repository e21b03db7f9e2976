import Foundation
import Testing
@testable import Security

@Suite struct Base32Tests {
    // RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "MY======"), ("fo", "MZXQ===="), ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI======"),
    ]

    @Test(arguments: vectors)
    func rfc4648Vectors(plain: String, encoded: String) {
        let unpadded = String(encoded.prefix { $0 != "=" })
        #expect(Base32.encode(bytes(plain)) == unpadded)
        #expect(Base32.decode(encoded) == bytes(plain))
        #expect(Base32.decode(unpadded) == bytes(plain))
        #expect(Base32.decode(encoded.lowercased()) == bytes(plain))
    }

    @Test func acceptsSpacesFromGroupedDisplay() {
        #expect(Base32.decode("MZXW 6YTB OI") == bytes("foobar"))
        #expect(Base32.decode(TOTP.groupedSecret("mzxw6ytboi")) == bytes("foobar"))
    }

    @Test(arguments: [
        "1", "0", "8", "MZXW6YT!", "M", "MZX", "MZXW6Y", // bad symbols and impossible lengths
        "MY=====", "MY=======", "MZXW6YTB========", // padding that does not complete a group
        "MY======MY", "M=Y", // padding in the middle
        "MZ", // non-zero unused bits
        "ÄÄÄÄÄÄÄÄ", "MZXW6YTB\n",
    ])
    func rejectsInvalidInput(_ input: String) {
        #expect(Base32.decode(input) == nil)
    }

    @Test func randomRoundTrips() {
        for length in 0..<64 {
            let data = SecureRandom.bytes(length)
            #expect(Base32.decode(Base32.encode(data)) == data)
        }
    }
}

@Suite struct Base64Tests {
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test(arguments: vectors)
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(bytes(plain)) == encoded)
        #expect(Base64.decode(encoded) == bytes(plain))
        #expect(Base64URL.encode(bytes(plain)) == encoded.replacingOccurrences(of: "=", with: ""))
        #expect(Base64URL.decode(encoded) == bytes(plain))
    }

    /// Foundation's encoder is the counterpart: every length, random bytes, both alphabets.
    @Test func agreesWithFoundationOnRandomBytes() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<100 {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let foundation = Data(data).base64EncodedString()
            #expect(Base64.encode(data) == foundation, "\(length)")
            #expect(Base64.encode(data, padding: false) == foundation.replacingOccurrences(of: "=", with: ""))
            #expect(Base64URL.encode(data) == foundation.replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
            #expect(Base64.decode(foundation) == data)
        }
    }

    @Test func urlAlphabet() {
        let data: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64URL.encode(data) == "-_-_")
        #expect(Base64.encode(data) == "+/+/")
        #expect(Base64URL.decode("-_-_") == data)
        #expect(Base64URL.decode("+/+/") == nil)
        #expect(Base64.decode("-_-_") == nil)
    }

    @Test(arguments: ["Z", "Zg=", "Zg===", "Z=g=", "Zh==", "Zm9v!", "Zm 9v"])
    func rejectsInvalidInput(_ input: String) {
        #expect(Base64URL.decode(input) == nil)
        #expect(Base64.decode(input) == nil)
    }

    @Test func hex() {
        #expect(Hex.encode([0x00, 0xAB, 0xFF]) == "00abff")
        let every = (0...255).map { UInt8($0) }
        #expect(Hex.encode(every) == every.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.encode([]) == "")
        #expect(Hex.decode(Hex.encode(every)) == every)
        #expect(Hex.decode("00ABff") == [0x00, 0xAB, 0xFF])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
