import Foundation

/// One e-mail ready to be sent: a recipient, a subject, a plain-text body and, optionally,
/// an HTML alternative.
///
/// A value can be built by hand, but nothing checks it until it is validated: ``Mailer``
/// validates before queueing and ``SMTPTransport`` validates again before building headers,
/// so a recipient or subject carrying CR/LF can never inject a header.
///
/// `messageID` and `date` are set by the outbox (the same on every attempt, so a receiver can
/// recognise a mail sent twice after a crash); a transport invents them when they are `nil`.
public struct OutgoingMail: Sendable, Hashable {
    /// The recipient's address (addr-spec only: `alice@example.com`, no display name).
    public var to: String
    public var subject: String
    /// The plain-text body, with `\n` line ends.
    public var text: String
    /// The HTML alternative, or `nil` for a text-only mail.
    public var html: String?
    /// `<unique@domain>`, or `nil` to let the transport make one.
    public var messageID: String?
    /// When the mail was written (the `Date` header), or `nil` for the time of sending.
    public var date: Date?

    public init(to: String, subject: String, text: String, html: String? = nil, messageID: String? = nil, date: Date? = nil) {
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
    }

    /// Throws ``MailError`` unless the recipient is a valid address and the subject a single
    /// line of reasonable length.
    public func validate() throws {
        try MailAddress.validate(to)
        try MailAddress.validateSubject(subject)
        if let messageID {
            guard messageID.utf8.count <= 250, messageID.hasPrefix("<"), messageID.hasSuffix(">"),
                  messageID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { throw MailError.invalidMessage("malformed Message-ID") }
        }
    }
}

/// Why a mail could not be queued or built. The descriptions never quote the offending value
/// (it may hold control characters), only what is wrong with it.
public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidRecipient(String)
    case invalidSubject(String)
    case invalidSender(String)
    case invalidBaseURL(String)
    case invalidMessage(String)
    /// The `mail/<name>.text` template does not exist.
    case templateNotFound(String)

    public var description: String {
        switch self {
        case .invalidRecipient(let why): "invalid recipient address: \(why)"
        case .invalidSubject(let why): "invalid subject: \(why)"
        case .invalidSender(let why): "invalid sender: \(why)"
        case .invalidBaseURL(let why): "invalid base URL: \(why)"
        case .invalidMessage(let why): "invalid mail: \(why)"
        case .templateNotFound(let name): "mail template not found: \(name)"
        }
    }
}

/// Address checks shared by ``Mailer`` and the transports, and **the** validator for every
/// e-mail field of the portal (sign-up, invitations, address changes): a form that calls
/// ``validate(_:)`` or ``isValid(_:)`` accepts exactly what queueing a mail to it accepts, so
/// no address gets past a form only to be refused by the mailer.
///
/// The accepted form is a deliberately plain subset of RFC 5321: `local@domain`, ASCII only,
/// at most 254 bytes (local part at most 64), the local part made of letters, digits and
/// ``!#$%&'*+/=?^_`{|}~.-`` (no leading, trailing or double dot), the domain made of
/// dot-separated labels of letters, digits and inner hyphens. No quoted local parts, no
/// address literals, no internationalised addresses (they would need SMTPUTF8).
public enum MailAddress {
    public static let maximumLength = 254
    public static let maximumSubjectLength = 250

    /// Whether `address` passes ``validate(_:)``.
    public static func isValid(_ address: String) -> Bool {
        (try? validate(address)) != nil
    }

    /// Throws ``MailError/invalidRecipient(_:)`` explaining what is wrong with `address`; its
    /// value is a short phrase that never quotes the address ("must contain exactly one @",
    /// "the domain is not a valid host name"). Cheap (no I/O): call it before any hashing.
    public static func validate(_ address: String) throws {
        try check(address, error: MailError.invalidRecipient)
    }

    static func check(_ address: String, error: (String) -> MailError) throws {
        let bytes = Array(address.utf8)
        guard !bytes.isEmpty else { throw error("empty") }
        guard bytes.count <= maximumLength else { throw error("longer than \(maximumLength) bytes") }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw error("only printable ASCII without spaces or line breaks is allowed")
        }
        let ats = bytes.indices.filter { bytes[$0] == UInt8(ascii: "@") }
        guard ats.count == 1, let at = ats.first else { throw error("must contain exactly one @") }
        let local = bytes[..<at], domain = bytes[(at + 1)...]
        guard !local.isEmpty, local.count <= 64 else { throw error("the part before @ must have 1 to 64 characters") }
        guard local.allSatisfy(isLocalByte), local.first != dot, local.last != dot, !containsDoubleDot(local) else {
            throw error("the part before @ holds a character that is not allowed")
        }
        guard !domain.isEmpty else { throw error("the domain is empty") }
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.count <= 63,
                  label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
                  label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
            else { throw error("the domain is not a valid host name") }
        }
    }

    /// Throws ``MailError/invalidSubject(_:)`` unless `subject` is one non-empty line of at
    /// most 250 characters with no control characters (CR, LF, NUL, tab, NEL, U+2028/2029…).
    public static func validateSubject(_ subject: String) throws {
        guard !subject.isEmpty else { throw MailError.invalidSubject("empty") }
        guard subject.count <= maximumSubjectLength else {
            throw MailError.invalidSubject("longer than \(maximumSubjectLength) characters")
        }
        for scalar in subject.unicodeScalars {
            switch scalar.value {
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029:
                throw MailError.invalidSubject("must be a single line without control characters")
            default:
                continue
            }
        }
    }

    private static let dot = UInt8(ascii: ".")

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    private static func isLocalByte(_ b: UInt8) -> Bool {
        isAlphanumeric(b) || "!#$%&'*+/=?^_`{|}~.-".utf8.contains(b)
    }

    private static func containsDoubleDot(_ bytes: ArraySlice<UInt8>) -> Bool {
        zip(bytes, bytes.dropFirst()).contains { $0 == dot && $1 == dot }
    }
}

/// A sender: an address and an optional display name, parsed from `no-reply@example.com` or
/// `Portal <no-reply@example.com>` (the name may be quoted).
struct Sender: Sendable, Hashable {
    let name: String?
    let address: String

    init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) || $0.value == 0x2028 || $0.value == 0x2029 }) else {
            throw MailError.invalidSender("must be a single line without control characters")
        }
        if let open = trimmed.lastIndex(of: "<") {
            guard trimmed.hasSuffix(">") else { throw MailError.invalidSender("expected Name <address>") }
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var display = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if display.count >= 2, display.hasPrefix("\""), display.hasSuffix("\"") {
                display = String(display.dropFirst().dropLast())
            }
            guard !display.contains("\""), !display.contains("\\"), display.count <= 100 else {
                throw MailError.invalidSender("the display name may not contain quotes or backslashes")
            }
            name = display.isEmpty ? nil : display
        } else {
            address = trimmed
            name = nil
        }
        try MailAddress.check(address, error: MailError.invalidSender)
    }

    /// The domain of the address, for Message-IDs.
    var domain: Substring { address[address.index(after: address.firstIndex(of: "@")!)...] }
}
