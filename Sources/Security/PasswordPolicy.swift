import CZxcvbn
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a proposed password was refused, with a message to show next to the field.
public enum PasswordProblem: Equatable, Sendable, CustomStringConvertible {
    case tooShort(minimum: Int)
    case tooLong(maximum: Int)
    /// Mostly a password from the leaked-password lists (or a common word).
    case common
    /// Contains the person's name or e-mail address.
    case matchesPersonalInformation
    /// Too easy to guess, mostly because of repeated characters ("aaaa", "abcabc").
    case repeated
    /// … of a sequence ("abcdef", "98765").
    case sequence
    /// … of a run of neighbouring keys ("qwertyuiop", "zxcvbn").
    case keyboardPattern
    /// … of a date or a year.
    case dates
    /// Too easy to guess for no single reason: too few uncommon parts.
    case guessable

    /// A sentence for the user.
    public var message: String {
        switch self {
        case .tooShort(let minimum): "Use at least \(minimum) characters."
        case .tooLong(let maximum): "Use at most \(maximum) characters."
        case .common: "This is one of the most commonly used passwords: choose another."
        case .matchesPersonalInformation: "Don't use your name or e-mail address in your password."
        case .repeated: "Repeated characters like aaa or abcabc are easy to guess: add another word or two."
        case .sequence: "Sequences like abc or 6543 are easy to guess: add another word or two."
        case .keyboardPattern: "Rows of keys like qwerty are easy to guess: add another word or two."
        case .dates: "Dates and years are easy to guess: add another word or two."
        case .guessable: "This password is easy to guess: add another word or two. Uncommon words are better."
        }
    }

    public var description: String { message }
}

/// The rules for new passwords, after NIST SP 800-63B §5.1.1.2 and OWASP's guidance:
/// - length 8...128, counted in Unicode scalars (code points) — not bytes, so non-Latin
///   passwords are not penalised, and not grapheme clusters, so the upper bound also bounds the
///   UTF-8 size (≤ 512 bytes) that is hashed. Nothing is ever truncated;
/// - any Unicode, spaces included (pass phrases are welcome);
/// - no composition rules (they push people towards predictable `Password1!` patterns);
/// - refused when zxcvbn (Debian's `libzxcvbn-dev`, zxcvbn-c: frequency lists of leaked
///   passwords, names and words, keyboard patterns, sequences, repeats, dates, l33t) estimates
///   fewer than 10^8 guesses — zxcvbn's score 3, "safely unguessable: moderate protection from
///   an offline slow-hash scenario", which our scrypt hashes are. A list of words (as
///   cracklib's was) misses `password123`; the leaked-password frequency lists do not;
/// - refused when it contains the person's name or e-mail address (or the part before the @),
///   case-insensitively: checked directly, and given to zxcvbn as its user dictionary so that
///   `Ada1815` or `l0velace` count as cheap too.
///
/// The dictionaries are compiled into the library (no file to load, nothing to fail at
/// start-up) and only read, so `check` may run on any number of threads at once. It costs
/// well under a millisecond for a short password and a few for 128 characters: CPU only,
/// run on the worker that handles the request, never on the event loop.
public struct PasswordPolicy: Sendable {
    public let minimumLength: Int
    public let maximumLength: Int
    /// log10 of the fewest estimated guesses accepted: 8, i.e. 10^8 (zxcvbn's score ≥ 3).
    public let minimumGuessesLog10: Double

    /// Context words shorter than this are not looked for inside a password ("al" is in
    /// too many), only compared whole.
    static let shortestContainedWord = 4

    public init(minimumLength: Int = 8, maximumLength: Int = 128, minimumGuessesLog10: Double = 8) {
        precondition(minimumLength >= 1 && maximumLength >= minimumLength)
        self.minimumLength = minimumLength
        self.maximumLength = maximumLength
        self.minimumGuessesLog10 = minimumGuessesLog10
    }

    /// The first problem with `password`, or `nil` if it is acceptable. `context` holds what
    /// the portal knows of the person (e-mail address, name), which the password must not
    /// contain.
    public func check(_ password: String, context: [String] = []) -> PasswordProblem? {
        let length = password.unicodeScalars.count
        if length < minimumLength { return .tooShort(minimum: minimumLength) }
        if length > maximumLength { return .tooLong(maximum: maximumLength) }
        let words = Self.contextWords(context)
        // Compared as the context words are: lower case, runs of white space as one space.
        let lowered = password.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
        for whole in words.whole where lowered == whole { return .matchesPersonalInformation }
        for part in words.contained where lowered.contains(part) { return .matchesPersonalInformation }
        let estimate = Self.estimate(password, userWords: words.dictionary)
        guard estimate.guessesLog10 < minimumGuessesLog10 else { return nil }
        return estimate.weakness
    }

    /// log10 of zxcvbn's estimate of the guesses `password` needs (with `context` as user
    /// words); for tests and for tuning.
    public func guessesLog10(_ password: String, context: [String] = []) -> Double {
        Self.estimate(password, userWords: Self.contextWords(context).dictionary).guessesLog10
    }

    // MARK: - context

    /// What the password is compared with: `whole` must not equal it, `contained` must not
    /// appear in it, `dictionary` goes to zxcvbn (which also finds l33t and partial uses).
    struct ContextWords {
        var whole: Set<String> = []
        var contained: Set<String> = []
        var dictionary: Set<String> = []
    }

    static func contextWords(_ context: [String]) -> ContextWords {
        var words = ContextWords()
        func add(_ raw: Substring, contained: Bool) {
            let word = raw.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
            guard !word.isEmpty else { return }
            words.whole.insert(word)
            if word.unicodeScalars.count >= 3 { words.dictionary.insert(word) }
            if contained && word.unicodeScalars.count >= shortestContainedWord { words.contained.insert(word) }
        }
        for item in context {
            let item = Substring(item)
            add(item, contained: true)
            if let at = item.lastIndex(of: "@"), at != item.startIndex {
                // The address, its part before the @ and that part's pieces ("ada.lovelace").
                let local = item[..<at]
                add(local, contained: true)
                for piece in local.split(whereSeparator: { ".-_+".contains($0) }) where piece != local { add(piece, contained: false) }
            } else {
                // A name: the whole name, and each of its words for zxcvbn.
                let parts = item.split(whereSeparator: { $0.isWhitespace })
                if parts.count > 1 {
                    add(Substring(parts.joined()), contained: true) // "adalovelace"
                    for part in parts { add(part, contained: false) }
                }
            }
        }
        return words
    }

    // MARK: - zxcvbn

    struct Estimate {
        var guessesLog10: Double
        var weakness: PasswordProblem
    }

    /// zxcvbn's estimate and the reason it gives most weight to. zxcvbn-c works on the UTF-8
    /// bytes of a C string (a NUL ends it early, which can only lower the estimate).
    static func estimate(_ password: String, userWords: Set<String>) -> Estimate {
        let dictionary = userWords.sorted().map { strdup($0) }
        defer { dictionary.forEach { free($0) } }
        var userDict: [UnsafePointer<CChar>?] = dictionary.map { $0.map { UnsafePointer($0) } } + [nil]
        var info: UnsafeMutablePointer<ZxcMatch_t>?
        let bits = password.withCString { ZxcvbnMatch($0, &userDict, &info) }
        defer { ZxcvbnFreeInfo(info) }

        // The reason: a user word anywhere; else the kind of the longest recognised part.
        var longest: (length: Int32, type: UInt32)?
        var node = info
        while let match = node?.pointee {
            let type = match.Type.rawValue & ~MULTIPLE_MATCH.rawValue
            if type == USER_MATCH.rawValue || type == USER_LEET_MATCH.rawValue {
                return Estimate(guessesLog10: bits * log10of2, weakness: .matchesPersonalInformation)
            }
            if type != BRUTE_MATCH.rawValue && type != LONG_PWD_MATCH.rawValue && match.Length > (longest?.length ?? 0) {
                longest = (match.Length, type)
            }
            node = match.Next
        }
        let weakness: PasswordProblem = switch longest?.type {
        case DICTIONARY_MATCH.rawValue?, DICT_LEET_MATCH.rawValue?: .common
        case REPEATS_MATCH.rawValue?: .repeated
        case SEQUENCE_MATCH.rawValue?: .sequence
        case SPATIAL_MATCH.rawValue?: .keyboardPattern
        case DATE_MATCH.rawValue?, YEAR_MATCH.rawValue?: .dates
        default: .guessable
        }
        return Estimate(guessesLog10: bits * log10of2, weakness: weakness)
    }

    private static let log10of2 = 0.301_029_995_663_981_2
}
