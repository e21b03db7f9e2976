import Testing
@testable import Security

@Suite struct PasswordPolicyTests {
    let policy = PasswordPolicy()

    @Test func length() {
        #expect(policy.check("") == .tooShort(minimum: 8))
        #expect(policy.check("Xq7#pL2") == .tooShort(minimum: 8))
        #expect(policy.check("Xq7#pL2v") == nil)
        #expect(policy.check(String(repeating: "Xq7#pL2v", count: 16)) == nil) // 128
        #expect(policy.check(String(repeating: "Xq7#pL2v", count: 16) + "z") == .tooLong(maximum: 128))
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
        #expect(policy.check("  spaced   out  words  ") == nil)
    }

    @Test func commonPasswordsAreRejected() {
        // The leaked-password lists know what a word list did not: password123 (issue 8 §8).
        for password in ["password", "PASSWORD", "Password", "football", "sunshine", "iloveyou", "password123", "Password1!",
                         "qwerty123", "letmein!!", "trustno1", "dragon!x", "p@ssw0rd"] {
            #expect(policy.check(password) == .common, "\(password)")
        }
        #expect(PasswordProblem.common.message == "This is one of the most commonly used passwords: choose another.")
        // "dragon" is common but too short for the default policy; a 6-character minimum
        // shows zxcvbn refuses it.
        #expect(policy.check("dragon") == .tooShort(minimum: 8))
        let six = PasswordPolicy(minimumLength: 6)
        #expect(six.check("dragon") == .common)
        #expect(six.check("Dragon") == .common)
    }

    @Test func guessablePatternsAreRejectedWithTheirReason() {
        #expect(policy.check("        x") == .repeated)
        #expect(policy.check(String(repeating: "z", count: 128)) == .repeated)
        #expect(policy.check("abcdefghijk") == .sequence)
        #expect(policy.check("zxcvbnm,./") == .keyboardPattern)
        #expect(policy.check("1984-05-06") == .dates)
        for problem in [PasswordProblem.repeated, .sequence, .keyboardPattern, .dates, .guessable] {
            #expect(problem.message.contains("add another word"))
        }
    }

    @Test func theThresholdIsTenToTheEighthGuesses() {
        // zxcvbn's score 3 starts at 10^8 guesses.
        #expect(policy.minimumGuessesLog10 == 8)
        #expect(policy.guessesLog10("password123") < 2)
        #expect(policy.guessesLog10("Xq7#pL2v") > 8)
        #expect(policy.guessesLog10("correct horse battery staple") > 10)
        // Everything the other tests and the demo use as a good password passes.
        for good in ["correct horse battery staple", "another long passphrase", "bulk sign up passphrase", "a brand new passphrase",
                     "patience is a virtue", "demo portal passphrase", "ünïcode pass phrase ✓"] {
            #expect(policy.check(good, context: ["ada+1234@example.com", "Ada Lovelace"]) == nil, "\(good)")
        }
    }

    @Test func contextIsRejected() {
        let context = ["alexander.smith@example.com", "Alexander Smith"]
        #expect(policy.check("alexander.smith@example.com", context: context) == .matchesPersonalInformation)
        #expect(policy.check("ALEXANDER.SMITH@EXAMPLE.COM", context: context) == .matchesPersonalInformation)
        #expect(policy.check("alexander smith", context: context) == .matchesPersonalInformation)
        #expect(policy.check("Alexander.Smith", context: context) == .matchesPersonalInformation)
        #expect(policy.check("anything long enough to pass", context: ["", "  "]) == nil)
        #expect(PasswordProblem.matchesPersonalInformation.message == "Don't use your name or e-mail address in your password.")
    }

    @Test func containingTheNameOrAddressIsRejected() {
        let context = ["alexander.smith@example.com", "Alexander Smith"]
        // Strong by themselves, but they hold the name or the address.
        #expect(policy.check("alexander smith 1984!", context: context) == .matchesPersonalInformation)
        #expect(policy.check("my name is Alexander  Smith, hello", context: context) == .matchesPersonalInformation)
        #expect(policy.check("purple alexander.smith@example.com", context: context) == .matchesPersonalInformation)
        #expect(policy.check("zebra AlexanderSmith kettle", context: context) == .matchesPersonalInformation)
        #expect(policy.check("alexander.smith tango", context: context) == .matchesPersonalInformation)
        // zxcvbn's user dictionary catches l33t and partial uses that leave it weak.
        #expect(policy.check("4lex4nder1", context: context) == .matchesPersonalInformation)
        #expect(policy.check("smith2024!", context: context) != nil)
        // Without the context the same strong phrases pass; a short local part ("al") is
        // only compared whole, since it is inside too many words.
        #expect(policy.check("alexander smith 1984! and friends") != .matchesPersonalInformation)
        #expect(policy.check("always a smiling walrus", context: ["al@example.com", "Al"]) == nil)
        #expect(policy.check("al@example.com", context: ["al@example.com", "Al"]) == .matchesPersonalInformation)
    }

    @Test func checkingIsFastAndNeedsNoFile() {
        // The dictionaries are compiled into libzxcvbn: nothing to load.
        let start = ContinuousClock.now
        for i in 0..<200 { _ = policy.check("some pass phrase \(i)", context: ["ada@example.com", "Ada Lovelace"]) }
        _ = policy.check(String(repeating: "Xq7#pL2v", count: 16))
        // Generous bound for a debug build on a busy 2-core machine.
        #expect(ContinuousClock.now - start < .seconds(3))
    }
}
