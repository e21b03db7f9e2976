import Testing
@testable import Portal

@Suite("Payouts: IBAN and E.164 validation")
struct BeneficiaryAccountTests {
    @Test func validIBANsAreNormalized() throws {
        #expect(try BeneficiaryAccount.iban("gb82 west 1234 5698 7654 32") == "GB82WEST12345698765432")
        #expect(try BeneficiaryAccount.iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000")
        #expect(try BeneficiaryAccount.iban("NL91ABNA0417164300") == "NL91ABNA0417164300")
        #expect(try BeneficiaryAccount.iban("FR14 2004 1010 0505 0001 3M02 606") == "FR1420041010050500013M02606")
        #expect(try BeneficiaryAccount.iban(" NO93 8601 1117 947 ") == "NO9386011117947")
        #expect(try BeneficiaryAccount.iban("BE68 5390 0754 7034") == "BE68539007547034")
    }

    @Test func badIBANsAreRefusedWithTheirReason() {
        // One digit changed: the check digits catch it.
        #expect(throws: BeneficiaryAccount.Problem.ibanChecksum) { try BeneficiaryAccount.iban("GB82 WEST 1234 5698 7654 33") }
        #expect(throws: BeneficiaryAccount.Problem.ibanChecksum) { try BeneficiaryAccount.iban("DE89 3704 0044 0532 0130 01") }
        // Two adjacent characters swapped.
        #expect(throws: BeneficiaryAccount.Problem.ibanChecksum) { try BeneficiaryAccount.iban("GB82 WEST 1234 5698 7654 23") }
        #expect(throws: BeneficiaryAccount.Problem.ibanLength(country: "GB", expected: 22, got: 21)) { try BeneficiaryAccount.iban("GB82 WEST 1234 5698 7654 3") }
        #expect(throws: BeneficiaryAccount.Problem.ibanLength(country: "NL", expected: 18, got: 19)) { try BeneficiaryAccount.iban("NL91ABNA04171643001") }
        #expect(throws: BeneficiaryAccount.Problem.ibanCountry("US")) { try BeneficiaryAccount.iban("US12 3456 7890 1234 5678 90") }
        #expect(throws: BeneficiaryAccount.Problem.ibanCharacters) { try BeneficiaryAccount.iban("GB82-WEST-1234-5698-7654-3€") }
        #expect(throws: BeneficiaryAccount.Problem.ibanCharacters) { try BeneficiaryAccount.iban("1234567890") }
        #expect(throws: BeneficiaryAccount.Problem.empty(.bank)) { try BeneficiaryAccount.iban("   ") }
        #expect(BeneficiaryAccount.Problem.ibanChecksum.message.contains("check digits"))
    }

    @Test func phoneNumbersAreE164() throws {
        #expect(try BeneficiaryAccount.phone("+254 712 345 678") == "+254712345678")
        #expect(try BeneficiaryAccount.phone("+1 (415) 555-0100") == "+14155550100")
        #expect(try BeneficiaryAccount.phone("+233.24.123.4567") == "+233241234567")
        #expect(try BeneficiaryAccount.phone("+12345678") == "+12345678", "8 digits: the shortest")
        #expect(try BeneficiaryAccount.phone("+123456789012345") == "+123456789012345", "15 digits: the longest")
        #expect(try BeneficiaryAccount.normalize("+44 20 7946 0958", method: .mobile) == "+442079460958")
    }

    @Test func badPhoneNumbersAreRefusedWithTheirReason() {
        #expect(throws: BeneficiaryAccount.Problem.phoneFormat) { try BeneficiaryAccount.phone("0712 345 678") }
        #expect(throws: BeneficiaryAccount.Problem.phoneFormat) { try BeneficiaryAccount.phone("00254712345678") }
        #expect(throws: BeneficiaryAccount.Problem.phoneFormat) { try BeneficiaryAccount.phone("+0254712345678") }
        #expect(throws: BeneficiaryAccount.Problem.phoneFormat) { try BeneficiaryAccount.phone("+254 712 ABC 678") }
        #expect(throws: BeneficiaryAccount.Problem.phoneFormat) { try BeneficiaryAccount.phone("+254+712345678") }
        #expect(throws: BeneficiaryAccount.Problem.phoneLength(7)) { try BeneficiaryAccount.phone("+1234567") }
        #expect(throws: BeneficiaryAccount.Problem.phoneLength(16)) { try BeneficiaryAccount.phone("+1234567890123456") }
        #expect(throws: BeneficiaryAccount.Problem.empty(.mobile)) { try BeneficiaryAccount.phone("") }
        // An IBAN is not a phone number, nor the reverse.
        #expect(throws: BeneficiaryAccount.Problem.phoneFormat) { try BeneficiaryAccount.normalize("GB82WEST12345698765432", method: .mobile) }
        #expect(throws: BeneficiaryAccount.Problem.ibanCharacters) { try BeneficiaryAccount.normalize("+254712345678", method: .bank) }
    }
}
