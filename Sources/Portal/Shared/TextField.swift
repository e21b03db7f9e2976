import Mail

/// The one rule for text a person types into a form: how long it may be, and which
/// characters it may hold. Every service that accepts a name, an organization detail, a note
/// or a reason asks it, so a field cannot be forgotten and the words stay the same.
///
/// Length is counted three ways, because each one alone can be fooled:
/// - characters as a person sees them (grapheme clusters): the limit the form promises;
/// - Unicode scalars: one "character" can carry any number of combining marks (40 letters
///   with 1,000 marks each are 40 characters, 40,040 scalars, 80 KB), which swells pages,
///   mails and CSV exports and draws over the text around it. A field takes at most three
///   scalars per promised character, and one character at most ten (the longest emoji
///   sequences people use have about that many);
/// - UTF-8 bytes: what is stored and sent, at most six per promised character.
///
/// One-line fields (names, organization details, subjects…) refuse C0 and C1 control
/// characters (NUL, escape sequences such as `\u{1B}[2J`, tabs, line breaks), the Unicode
/// line and paragraph separators, and the bidirectional controls: embeddings and overrides
/// (U+202A–202E), isolates (U+2066–2069) and the invisible marks (U+200E, U+200F, U+061C).
/// They come back raw in pages, mails, `logs.csv` and terminals, where they can reorder what
/// a reader sees ("gnp.exe") or make two names that look the same. Names in right-to-left
/// scripts need none of them: the page already isolates each value.
///
/// Multi-line fields (notes, reasons, addresses) also take line breaks and tabs, and the
/// three invisible marks, which right-to-left prose pasted from elsewhere legitimately holds
/// and which cannot reorder anything beyond their own line; overrides and isolates stay out.
struct TextField: Sendable {
    /// The most characters (grapheme clusters) the field takes.
    let maximumCharacters: Int
    var multiline = false

    static let maximumScalarsPerCharacter = 3
    static let maximumBytesPerCharacter = 6
    static let maximumScalarsInOneCharacter = 10

    /// A person's name (account, invitation, staff).
    static let personName = TextField(maximumCharacters: 100)
    /// A note or reason for support: several lines.
    static let note = TextField(maximumCharacters: 2000, multiline: true)

    /// What is wrong with `value` (already trimmed by the caller), in words for the person
    /// at the form, or nil. Emptiness is the caller's to judge: its words depend on the field.
    func problem(_ value: String) -> String? {
        for scalar in value.unicodeScalars {
            if let problem = Self.problem(with: scalar, multiline: multiline) { return problem }
        }
        if value.count > maximumCharacters { return "Use at most \(Self.format(maximumCharacters)) characters." }
        if value.unicodeScalars.count > maximumCharacters * Self.maximumScalarsPerCharacter
            || value.utf8.count > maximumCharacters * Self.maximumBytesPerCharacter
            || value.contains(where: { $0.unicodeScalars.count > Self.maximumScalarsInOneCharacter }) {
            return "This holds too many accents or combining marks. Use at most \(Self.format(maximumCharacters)) plain characters."
        }
        return nil
    }

    private static func problem(with scalar: Unicode.Scalar, multiline: Bool) -> String? {
        switch scalar.value {
        case 0x0A, 0x0D, 0x09:
            return multiline ? nil : "Use a single line, without line breaks or tabs."
        case 0x00...0x1F, 0x7F...0x9F:
            return "Remove the control characters (such as NUL or escape); they cannot be shown."
        case 0x2028, 0x2029:
            return multiline ? nil : "Use a single line, without line breaks or tabs."
        case 0x202A...0x202E, 0x2066...0x2069:
            return "Remove the invisible text-direction characters: they can disguise what the text says."
        case 0x200E, 0x200F, 0x061C:
            return multiline ? nil : "Remove the invisible text-direction marks: they can disguise what the text says."
        default:
            return nil
        }
    }

    /// "2,000" as the forms write it.
    static func format(_ n: Int) -> String {
        n >= 1000 ? "\(n / 1000),\(String(n % 1000).leftPadded(to: 3))" : "\(n)"
    }
}

/// The one rule for e-mail addresses typed into any form: the mailer's own
/// (``MailAddress/validate(_:)``, plain ASCII `local@domain`, what SMTP can deliver without
/// extensions), plus a dot in the domain, since people's addresses have one. An address the
/// form accepts can therefore always be queued: no sign-up or invitation meets a refusal
/// from the mailer half-way through its transaction.
enum EmailField {
    static let maximumLength = MailAddress.maximumLength

    /// What is wrong with `email` (trimmed), or nil.
    static func problem(_ email: String, empty: String = "Enter your e-mail address.") -> String? {
        if email.isEmpty { return empty }
        if email.utf8.count > maximumLength { return "That address is too long." }
        if email.unicodeScalars.contains(where: { !$0.isASCII }) {
            return "Enter a valid e-mail address with only Latin letters, digits and . _ - + (addresses with accents or other scripts can't receive our mail yet)."
        }
        guard MailAddress.isValid(email), let at = email.lastIndex(of: "@"), email[email.index(after: at)...].contains(".") else {
            return "Enter a valid e-mail address, like name@example.com."
        }
        return nil
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
