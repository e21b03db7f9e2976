import HTTP
import Web

/// A report file as a pulled body that counts the data rows it wrote (the header not counted).
protocol ReportBody: BodyProducer {
    var rows: Int { get }
}

/// The two reports of a month, their files' columns, and what each column holds. The same
/// words are on the Reports page and in the README: finance teams read these files with
/// their own tools, so the columns are a contract (add new ones at the end only).
enum ReportKind: String, CaseIterable, Sendable {
    case transactions
    case accounts

    var title: String { self == .transactions ? "Transaction report" : "Account report" }

    /// `acme-sandbox-transactions-2026-11.csv`
    func filename(organization name: String, environment: Environment, month: ReportMonth) -> String {
        "\(Self.slug(name))-\(environment.rawValue)-\(rawValue)-\(month.key).csv"
    }

    var columns: [(name: String, meaning: String)] {
        switch self {
        case .transactions: [
            ("transaction_id", "The transaction's id (txn_…)."),
            ("external_id", "Your own id for it, as sent to the API (empty if none)."),
            ("created_at", "When it was created: ISO 8601 with the organization's offset."),
            ("type", "payin, payout, fee or refund."),
            ("amount", "Major units with the currency's decimals (1234.50; 1500 for JPY; 12.345 for KWD), never grouped."),
            ("currency", "ISO 4217 code."),
            ("status", "Its status at the end of the month (for the current month: when the file was made), not today's."),
            ("status_at", "When it reached that status."),
            ("error_code", "Why it failed, for a failed status (e.g. recipient_account_invalid)."),
            ("status_note", "The note of that status: the failure explained, or the reason of a cancellation."),
            ("sender_name", "The sender's name."),
            ("sender_country", "ISO 3166-1 alpha-2 code."),
            ("sender_method", "bank or mobile."),
            ("sender_account_last4", "The last 4 characters of the sender's account or number."),
            ("recipient_name", "The recipient's name."),
            ("recipient_country", "ISO 3166-1 alpha-2 code."),
            ("recipient_method", "bank or mobile."),
            ("recipient_account_last4", "The last 4 characters of the recipient's account or number."),
        ]
        case .accounts: [
            ("account_id", "The account's id (acct_…): one account per currency."),
            ("currency", "ISO 4217 code."),
            ("line", "opening (the balances when the month began), entry (one ledger entry) or closing (the balances when it ended)."),
            ("time", "ISO 8601 with the organization's offset: the month's first instant for opening, the entry's time, the month's end (or when the file was made, for the current month) for closing."),
            ("bucket", "available or pending: the balance the entry moves."),
            ("reason", "What moved the money, e.g. payin.pending, payin.paid, payout.hold."),
            ("credit", "Money into the bucket, in major units (entries only)."),
            ("debit", "Money out of the bucket, in major units (entries only)."),
            ("available", "The available balance after the line."),
            ("pending", "The pending balance after the line."),
            ("transaction_id", "The transaction that caused the entry (txn_…), if any."),
            ("payout_id", "The payout that caused the entry (po_…), if any."),
        ]
        }
    }

    /// The header row, CRLF included.
    var header: [UInt8] { Array((columns.map(\.name).joined(separator: ",") + "\r\n").utf8) }

    /// A file name part from a trading name: lower-case ASCII letters and digits, words joined
    /// by `-` ("Acme Payments B.V." → `acme-payments-b-v`), `organization` if nothing is left.
    static func slug(_ name: String) -> String {
        var out = ""
        var dash = false
        for s in name.lowercased().unicodeScalars {
            if (s >= "a" && s <= "z") || (s >= "0" && s <= "9") {
                if dash && !out.isEmpty { out.append("-") }
                out.unicodeScalars.append(s)
                dash = false
            } else {
                dash = true
            }
        }
        return out.isEmpty ? "organization" : String(out.prefix(60))
    }

    /// Appends a text cell: escaped per RFC 4180 and defused against formula injection
    /// (a leading `=`, `+`, `-`, `@`, tab or CR gets an apostrophe).
    static func text(_ value: String, _ out: inout [UInt8]) {
        CSVWriter.appendField(value, to: &out)
    }

    /// Appends a cell we made ourselves from digits (amounts, which are never negative in
    /// these files): nothing to escape, nothing to defuse.
    static func plain(_ value: String, _ out: inout [UInt8]) {
        var v = value
        v.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Appends a non-negative amount of minor units as major units with `exponent` decimals
    /// (`123450`, 2 → `1234.50`; `1500`, 0 → `1500`), as ``Amount/major`` writes it, without
    /// making strings: a month's file has one or three per row.
    static func amount(_ minor: Int64, exponent: Int, _ out: inout [UInt8]) {
        var digits: [UInt8] = []
        var v = minor.magnitude
        repeat {
            digits.append(UInt8(48 + v % 10))
            v /= 10
        } while v > 0
        while digits.count <= exponent { digits.append(48) } // at least one digit before the point
        if minor < 0 { out.append(0x2D) }
        for i in stride(from: digits.count - 1, through: 0, by: -1) {
            if i == exponent - 1 { out.append(0x2E) }
            out.append(digits[i])
        }
    }

    static let comma: UInt8 = 0x2C
    static let crlf: [UInt8] = [0x0D, 0x0A]
    /// About this many bytes per pulled chunk.
    static let chunkBytes = 64 * 1024
    /// Rows per read: one short read transaction each.
    static let batchRows = 512
}
