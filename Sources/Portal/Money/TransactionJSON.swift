import Database
import Foundation
import Web

/// A transaction as programs see it: the API's responses and the `data` of its events. Amounts
/// are integers of minor units (`amount`) with the currency's exponent beside them, and the
/// same amount as a decimal string (`amount_decimal`) for people reading a log.
///
/// Written with a ``JSONWriter`` (keys in sorted order, absent optionals left out: what
/// `JSONEncoder` with `.sortedKeys` gave before, which `MoneyJSONTests` checks byte for byte):
/// a `/v1/transactions` page of 25 spent most of its time in the encoder.
struct TransactionJSON: JSONWritable, Sendable {
    let record: TransactionRecord

    init(_ t: TransactionRecord) { record = t }

    func write(to w: inout JSONWriter) {
        let t = record
        w.object { w in
            w.key("amount"); w.integer(t.amount.minor)
            w.key("amount_decimal"); w.string(t.amount.major)
            w.key("created_at"); w.utcTime(t.createdAt)
            w.key("currency"); w.string(t.amount.currency.code)
            w.key("currency_exponent"); w.integer(t.amount.currency.exponent)
            w.key("environment"); w.string(t.scope.environment.rawValue)
            if let code = t.errorCode {
                w.key("error")
                w.object { w in
                    w.key("code"); w.string(code)
                    w.key("message"); w.string(t.errorNote ?? "")
                }
            }
            if let e = t.externalID { w.key("external_id"); w.string(e) }
            w.key("id"); w.string(t.publicID)
            w.key("metadata"); Self.writeMetadata(stored: t.metadataJSON, to: &w)
            w.key("object"); w.string("transaction")
            if !t.recipient.isEmpty { w.key("recipient"); Self.write(t.recipient, to: &w) }
            if !t.sender.isEmpty { w.key("sender"); Self.write(t.sender, to: &w) }
            if let s = t.settledAt { w.key("settled_at"); w.utcTime(s) }
            w.key("status"); w.string(t.status.rawValue)
            w.key("type"); w.string(t.type.rawValue)
            w.key("updated_at"); w.utcTime(t.updatedAt)
        }
    }

    typealias Column = MoneyStore.TransactionColumn

    /// The object of a row of ``MoneyStore/transactionColumns`` read in place: the same bytes
    /// as `TransactionJSON(MoneyStore.transaction(row))` (`MoneyJSONTests` checks), with every
    /// text copied (and escaped) from SQLite's memory into the writer, and no record, `String`
    /// or metadata map built on the way.
    static func write(row r: RowView, to w: inout JSONWriter) throws {
        let minor = try r.int64(Column.amount)
        var currency: Currency?
        try text(r, Column.currency) { currency = Currency(code: String(decoding: $0, as: UTF8.self)) }
        guard let currency else { throw MoneyStoreError("unknown currency \(try r.string(Column.currency)) in transactions") }
        let environment = try enumValue(r, Column.environment, environments) ?? .sandbox
        let type = try enumValue(r, Column.type, types) ?? .payin
        let status = try enumValue(r, Column.status, statuses) ?? .pending
        let createdAt = try r.int64(Column.createdAt), updatedAt = try r.int64(Column.updatedAt)
        let settledAt = try r.optionalInt64(Column.settledAt)
        try w.object { w in
            w.key("amount"); w.integer(minor)
            w.key("amount_decimal"); w.decimalString(minor, exponent: currency.exponent)
            w.key("created_at"); w.utcTime(createdAt)
            w.key("currency"); w.string(currency.code)
            w.key("currency_exponent"); w.integer(currency.exponent)
            w.key("environment"); w.string(environment.rawValue)
            _ = try r.withUTF8(Column.errorCode) { code in
                w.key("error")
                try w.object { w in
                    w.key("code"); w.string(utf8: code)
                    w.key("message")
                    if try !r.withUTF8(Column.errorNote, { w.string(utf8: $0) }) { w.string("") }
                }
            }
            _ = try r.withUTF8(Column.externalID) { w.key("external_id"); w.string(utf8: $0) }
            try text(r, Column.publicID) { w.key("id"); w.string(utf8: $0) }
            try text(r, Column.metadata) { m in
                w.key("metadata")
                if isCanonicalMetadata(utf8: m) { w.raw(m) } else { write(MoneyStore.decodeMetadata(String(decoding: m, as: UTF8.self)), to: &w) }
            }
            w.key("object"); w.string("transaction")
            try writeParty(r, name: Column.recipientName, country: Column.recipientCountry, method: Column.recipientMethod,
                           last4: Column.recipientLast4, key: "recipient", to: &w)
            try writeParty(r, name: Column.senderName, country: Column.senderCountry, method: Column.senderMethod,
                           last4: Column.senderLast4, key: "sender", to: &w)
            if let s = settledAt { w.key("settled_at"); w.utcTime(s) }
            w.key("status"); w.string(status.rawValue)
            w.key("type"); w.string(type.rawValue)
            w.key("updated_at"); w.utcTime(updatedAt)
        }
    }

    /// A party's member, left out when the party is empty (as ``write(_:to:)`` leaves it). Each
    /// column is read once: the bytes stay valid while the row is current.
    private static func writeParty(_ r: RowView, name: Int, country: Int, method: Int, last4: Int, key: StaticString,
                                   to w: inout JSONWriter) throws {
        let m = try enumValue(r, method, methods)
        try text(r, name) { name in
            try text(r, country) { country in
                try text(r, last4) { last4 in
                    guard !name.isEmpty || !country.isEmpty || m != nil || !last4.isEmpty else { return }
                    w.key(key)
                    w.object { w in
                        if !last4.isEmpty { w.key("account_last4"); w.string(utf8: last4) }
                        if !country.isEmpty { w.key("country"); w.string(utf8: country) }
                        if let m { w.key("method"); w.string(m.rawValue) }
                        w.key("name"); w.string(utf8: name)
                    }
                }
            }
        }
    }

    /// Calls `body` with the bytes of a NOT NULL text column; NULL throws, as reading the column
    /// as a `String` would.
    private static func text(_ r: RowView, _ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        if try !r.withUTF8(i, body) { _ = try r.string(i) }
    }

    /// A column holding an enum's raw value: nil for NULL or a value the enum does not know,
    /// as `E(rawValue:)` of the column read as a `String`, but matched on the bytes.
    private static func enumValue<E>(_ r: RowView, _ i: Int, _ cases: [(utf8: [UInt8], value: E)]) throws -> E? {
        var found: E?
        _ = try r.withUTF8(i) { b in
            for c in cases where c.utf8.count == b.count {
                if c.utf8.withUnsafeBufferPointer({ memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }) { found = c.value; return }
            }
        }
        return found
    }

    private static func cases<E: RawRepresentable & CaseIterable>(_: E.Type) -> [(utf8: [UInt8], value: E)] where E.RawValue == String {
        E.allCases.map { (Array($0.rawValue.utf8), $0) }
    }
    private static let environments = cases(Environment.self)
    private static let types = cases(TransactionType.self)
    private static let statuses = cases(TransactionStatus.self)
    private static let methods = cases(PaymentMethod.self)

    /// A sender, recipient or beneficiary: only the last 4 of the account.
    static func write(_ p: Party, to w: inout JSONWriter) {
        w.object { w in
            if !p.last4.isEmpty { w.key("account_last4"); w.string(p.last4) }
            if !p.country.isEmpty { w.key("country"); w.string(p.country) }
            if let m = p.method { w.key("method"); w.string(m.rawValue) }
            w.key("name"); w.string(p.name)
        }
    }

    /// The metadata as stored: every writer of the column stores the encoder's own form
    /// (``MoneyStore/encodeMetadata(_:)``, or the seeder's text in that same form, which
    /// `MoneyJSONTests` checks), so the text is copied, not decoded and encoded again — decoding
    /// it was a third of a `/v1/transactions` page. Anything else is decoded and rewritten.
    static func writeMetadata(stored json: String, to w: inout JSONWriter) {
        if isCanonicalMetadata(json) {
            w.raw(Array(json.utf8))
        } else {
            write(MoneyStore.decodeMetadata(json), to: &w)
        }
    }

    /// Whether `json` is exactly what ``write(_:to:)`` would write for the map it holds: a flat
    /// object of strings, no whitespace, keys without escapes in strictly increasing byte
    /// order, values escaped only as the writer escapes (`\"`, `\\`, `\b\f\n\r\t`,
    /// `\u00xx` for other controls). One pass over the bytes, no allocation.
    static func isCanonicalMetadata(_ json: String) -> Bool {
        var json = json
        return json.withUTF8 { isCanonicalMetadata(utf8: $0) }
    }

    static func isCanonicalMetadata(utf8 b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        guard n >= 2, b[0] == 0x7B, b[n - 1] == 0x7D else { return false }
        if n == 2 { return true }
        var i = 1
        var previousKey: Range<Int>? = nil
        func isHexLower(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x61...0x66).contains(c) }
        // Scans a string starting at the quote at `i`; returns the index after its closing quote.
        func scanString(allowEscapes: Bool) -> Int? {
            guard i < n, b[i] == 0x22 else { return nil }
            var j = i + 1
            while j < n {
                let c = b[j]
                if c == 0x22 { return j + 1 }
                if c < 0x20 { return nil }
                if c == 0x5C {
                    guard allowEscapes, j + 1 < n else { return nil }
                    switch b[j + 1] {
                    case 0x22, 0x5C, 0x62, 0x66, 0x6E, 0x72, 0x74: j += 2
                    case 0x75:
                        // Only controls other than \b \f \n \r \t come as \u00xx.
                        guard j + 5 < n, b[j + 2] == 0x30, b[j + 3] == 0x30, b[j + 4] == 0x30 || b[j + 4] == 0x31,
                              isHexLower(b[j + 5]) else { return nil }
                        let v = (b[j + 4] - 0x30) * 16 + (b[j + 5] <= 0x39 ? b[j + 5] - 0x30 : b[j + 5] - 0x61 + 10)
                        guard ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(v) else { return nil }
                        j += 6
                    default: return nil
                    }
                    continue
                }
                j += 1
            }
            return nil
        }
        while true {
            let keyStart = i + 1
            guard let afterKey = scanString(allowEscapes: false) else { return false }
            let key = keyStart..<(afterKey - 1)
            if let p = previousKey {
                guard UnsafeBufferPointer(rebasing: b[p]).lexicographicallyPrecedes(UnsafeBufferPointer(rebasing: b[key])) else { return false }
            }
            previousKey = key
            i = afterKey
            guard i < n, b[i] == 0x3A else { return false }
            i += 1
            guard let afterValue = scanString(allowEscapes: true) else { return false }
            i = afterValue
            guard i < n else { return false }
            if b[i] == 0x7D { return i == n - 1 }
            guard b[i] == 0x2C else { return false }
            i += 1
        }
    }

    /// The integrator's metadata, keys in the order `JSONEncoder`'s `.sortedKeys` gives.
    static func write(_ map: [String: String], to w: inout JSONWriter) {
        w.object { w in
            for (k, v) in map.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                w.key(escaping: k); w.string(v)
            }
        }
    }

    /// RFC 3339 in UTC: `2026-12-05T07:21:38Z`.
    static func time(_ t: Int64) -> String {
        var w = JSONWriter(capacity: 24)
        w.utcTime(t)
        return String(decoding: w.bytes.dropFirst().dropLast(), as: UTF8.self)
    }
}
