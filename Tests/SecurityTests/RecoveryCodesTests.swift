import Foundation
import Testing
@testable import Security

@Suite struct RecoveryCodesTests {
    @Test func alphabetIsUnambiguousAndGivesFiftyBits() {
        #expect(RecoveryCodes.alphabet.count == 32)
        #expect(Set(RecoveryCodes.alphabet).count == 32)
        for ambiguous in "01OI" { #expect(!RecoveryCodes.alphabet.contains(ambiguous)) }
        #expect(Double(RecoveryCodes.length) * log2(Double(RecoveryCodes.alphabet.count)) >= 50)
    }

    @Test func generatedCodesAreFormattedAndUnique() {
        let codes = RecoveryCodes.generate()
        #expect(codes.count == 10)
        #expect(Set(codes).count == 10)
        for code in codes {
            #expect(code.count == 11)
            #expect(Array(code)[5] == "-")
            #expect(code.replacingOccurrences(of: "-", with: "").allSatisfy(RecoveryCodes.alphabet.contains))
            #expect(RecoveryCodes.normalize(code) == code.replacingOccurrences(of: "-", with: ""))
        }
        // Across many sets, no repeats either (50 bits: a repeat means a broken generator).
        let many = (0..<100).flatMap { _ in RecoveryCodes.generate() }
        #expect(Set(many).count == 1000)
    }

    @Test func everySymbolIsUsed() {
        let text: String = (0..<50).map { _ in RecoveryCodes.generate().joined() }.joined()
        let symbols = Set(text.filter { $0 != "-" })
        #expect(symbols == Set(RecoveryCodes.alphabet))
    }

    @Test func normalize() {
        #expect(RecoveryCodes.normalize("ABCDE-FGHJK") == "ABCDEFGHJK")
        #expect(RecoveryCodes.normalize("abcde-fghjk") == "ABCDEFGHJK")
        #expect(RecoveryCodes.normalize(" abcde fghjk ") == "ABCDEFGHJK")
        #expect(RecoveryCodes.normalize("AB-CD-EF-GH-JK") == "ABCDEFGHJK")
        #expect(RecoveryCodes.normalize("ABCDE-FGHJ") == nil) // too short
        #expect(RecoveryCodes.normalize("ABCDE-FGHJKM") == nil) // too long
        #expect(RecoveryCodes.normalize("ABCDE-FGHJ0") == nil) // 0 is not in the alphabet
        #expect(RecoveryCodes.normalize("ABCDE-FGHJO") == nil)
        #expect(RecoveryCodes.normalize("ABCDE-FGHJ1") == nil)
        #expect(RecoveryCodes.normalize("ABCDE-FGHJI") == nil)
        #expect(RecoveryCodes.normalize("ABCDE_FGHJK") == nil)
        #expect(RecoveryCodes.normalize("ABCDÉ-FGHJK") == nil)
        #expect(RecoveryCodes.normalize("") == nil)
    }

    @Test func hash() {
        #expect(RecoveryCodes.hash("ABCDEFGHJK") == Digest.sha256Hex("ABCDEFGHJK"))
        #expect(RecoveryCodes.hash("ABCDEFGHJK").count == 64)
        #expect(RecoveryCodes.hash("ABCDEFGHJK") != RecoveryCodes.hash("ABCDEFGHJM"))
        // Typed variants of one code hash alike once normalised.
        #expect(RecoveryCodes.normalize("abcde fghjk").map(RecoveryCodes.hash) == RecoveryCodes.hash("ABCDEFGHJK"))
    }
}
