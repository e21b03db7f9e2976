import Testing
@testable import Security

@Suite struct PasswordPolicyTests {
    static let listPath = "/usr/share/dict/cracklib-small"
    let policy: PasswordPolicy

    init() throws {
        policy = try PasswordPolicy(commonPasswordsFile: Self.listPath)
    }

    @Test func listIsLoaded() {
        #expect(policy.commonPasswordCount > 50_000)
    }

    @Test func length() {
        #expect(policy.check("") == .tooShort(minimum: 8))
        #expect(policy.check("Xq7#pL2") == .tooShort(minimum: 8))
        #expect(policy.check("Xq7#pL2v") == nil)
        #expect(policy.check(String(repeating: "z", count: 128)) == nil)
        #expect(policy.check(String(repeating: "z", count: 129)) == .tooLong(maximum: 128))
        #expect(PasswordProblem.tooShort(minimum: 8).message == "Use at least 8 characters.")
    }

    @Test func lengthCountsUnicodeScalars() {
        // 8 scalars, more bytes: fine. 7 emoji: too short. 128 two-byte letters: fine.
        #expect(policy.check("пароль12") == nil)
        #expect(policy.check(String(repeating: "🔑", count: 7)) == .tooShort(minimum: 8))
        #expect(policy.check(String(repeating: "🔑", count: 8)) == nil)
        #expect(policy.check(String(repeating: "é", count: 128)) == nil)
        #expect(policy.check(String(repeating: "é", count: 129)) == .tooLong(maximum: 128))
    }

    @Test func anyUnicodeAndSpacesWithoutCompositionRules() {
        #expect(policy.check("correct horse battery staple") == nil)
        #expect(policy.check("sehr geheimes Passwort ÄÖÜ") == nil)
        #expect(policy.check("ябл ок ичко") == nil)
        #expect(policy.check("zzqqxxwwvv") == nil) // lower case only
        #expect(policy.check("        x") == nil)
    }

    @Test func commonPasswordsAreRejected() throws {
        for password in ["password", "PASSWORD", "Password", "football", "sunshine", "iloveyou"] {
            #expect(policy.check(password) == .common, "\(password)")
        }
        #expect(PasswordProblem.common.message == "This password is on a list of commonly used passwords; choose another.")
        // "dragon" is on the list but too short for the default policy; a 6-character
        // minimum shows the list rejects it.
        #expect(policy.check("dragon") == .tooShort(minimum: 8))
        let six = try PasswordPolicy(commonPasswordsFile: Self.listPath, minimumLength: 6)
        #expect(six.check("dragon") == .common)
        #expect(six.check("Dragon") == .common)
        #expect(six.check("dragon!x") == nil)
    }

    @Test func contextIsRejected() {
        let context = ["alexander.smith@example.com", "Alexander Smith"]
        #expect(policy.check("alexander.smith@example.com", context: context) == .matchesPersonalInformation)
        #expect(policy.check("ALEXANDER.SMITH@EXAMPLE.COM", context: context) == .matchesPersonalInformation)
        #expect(policy.check("alexander smith", context: context) == .matchesPersonalInformation)
        #expect(policy.check("Alexander.Smith", context: context) == .matchesPersonalInformation)
        #expect(policy.check("alexander smith 1984!", context: context) == nil)
        #expect(policy.check("alexander smith", context: []) == nil)
        #expect(policy.check("anything long", context: ["", "  "]) == nil)
    }

    @Test func missingListIsAClearError() {
        #expect(throws: PasswordPolicyError.self) {
            try PasswordPolicy(commonPasswordsFile: "/nonexistent/common-passwords.txt")
        }
        do {
            _ = try PasswordPolicy(commonPasswordsFile: "/nonexistent/common-passwords.txt")
        } catch {
            #expect(error.description.contains("/nonexistent/common-passwords.txt"))
            #expect(error.description.contains("No such file"))
        }
    }

    @Test func loadingIsFast() throws {
        let start = ContinuousClock.now
        _ = try PasswordPolicy(commonPasswordsFile: Self.listPath)
        // Generous bound for a debug build on a busy 2-core machine.
        #expect(ContinuousClock.now - start < .seconds(3))
    }
}
