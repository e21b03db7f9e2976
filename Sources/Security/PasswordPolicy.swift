/// Why a proposed password was refused, with a message to show next to the field.
public enum PasswordProblem: Equatable, Sendable, CustomStringConvertible {
    case tooShort(minimum: Int)
    case tooLong(maximum: Int)
    case common
    case matchesPersonalInformation

    /// A sentence for the user.
    public var message: String {
        switch self {
        case .tooShort(let minimum): "Use at least \(minimum) characters."
        case .tooLong(let maximum): "Use at most \(maximum) characters."
        case .common: "This password is on a list of commonly used passwords; choose another."
        case .matchesPersonalInformation: "Don't use your e-mail address or name as your password."
        }
    }

    public var description: String { message }
}

/// Errors creating a `PasswordPolicy`.
public enum PasswordPolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The common-password list could not be read.
    case cannotReadList(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotReadList(let path, let reason): "cannot read the common-password list \(path): \(reason)"
        }
    }
}

/// The rules for new passwords, after NIST SP 800-63B §5.1.1.2:
/// - length 8...128, counted in Unicode scalars (code points) — not bytes, so non-Latin
///   passwords are not penalised, and not grapheme clusters, so the upper bound also bounds the
///   UTF-8 size (≤ 512 bytes) that is hashed. Nothing is ever truncated;
/// - any Unicode, spaces included (pass phrases are welcome);
/// - no composition rules (they push people towards predictable `Password1!` patterns);
/// - refused if it appears, case-insensitively, in a list of common passwords (loaded once,
///   at start-up, into a set of lower-cased lines; the portal passes Debian's
///   `/usr/share/dict/cracklib-small`);
/// - refused if it equals, case-insensitively, one of the `context` strings (the user's
///   e-mail address, name…) or the local part of a context string that is an e-mail address.
public struct PasswordPolicy: Sendable {
    public let minimumLength: Int
    public let maximumLength: Int
    private let common: Set<String>

    /// Loads the common-password list at `commonPasswordsFile` (one password per line).
    /// Throws `PasswordPolicyError.cannotReadList` if the file cannot be read.
    public init(commonPasswordsFile path: String, minimumLength: Int = 8, maximumLength: Int = 128) throws(PasswordPolicyError) {
        precondition(minimumLength >= 1 && maximumLength >= minimumLength)
        let bytes: [UInt8]
        do throws(FileIO.Failure) {
            bytes = try FileIO.readAll(path: path)
        } catch {
            throw .cannotReadList(path: path, reason: error.message)
        }
        self.init(commonPasswords: bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) },
                  minimumLength: minimumLength, maximumLength: maximumLength)
    }

    /// A policy with an explicit list of common passwords.
    public init(commonPasswords: [String], minimumLength: Int = 8, maximumLength: Int = 128) {
        precondition(minimumLength >= 1 && maximumLength >= minimumLength)
        self.minimumLength = minimumLength
        self.maximumLength = maximumLength
        var set = Set<String>(minimumCapacity: commonPasswords.count)
        for line in commonPasswords {
            let entry = line.trimmingASCIIWhitespace()
            if !entry.isEmpty { set.insert(entry.lowercased()) }
        }
        self.common = set
    }

    /// How many entries the common-password list holds.
    public var commonPasswordCount: Int { common.count }

    /// The first problem with `password`, or `nil` if it is acceptable.
    public func check(_ password: String, context: [String] = []) -> PasswordProblem? {
        let length = password.unicodeScalars.count
        if length < minimumLength { return .tooShort(minimum: minimumLength) }
        if length > maximumLength { return .tooLong(maximum: maximumLength) }
        let lowered = password.lowercased()
        for item in context {
            let candidate = item.trimmingASCIIWhitespace().lowercased()
            guard !candidate.isEmpty else { continue }
            if lowered == candidate { return .matchesPersonalInformation }
            if let at = candidate.lastIndex(of: "@"), at != candidate.startIndex,
               lowered == candidate[..<at] {
                return .matchesPersonalInformation
            }
        }
        if common.contains(lowered) { return .common }
        return nil
    }
}
