import Database
import Foundation
import Testing
import Web
@testable import Portal

/// `/v1` and the events write transactions and payouts by hand (``TransactionJSON``,
/// ``PayoutJSON``). Before that they were `Encodable` structs under `JSONEncoder` with sorted
/// keys; integrators' parsers saw those bytes, so the hand-written ones must be the same. The
/// structs below are the old shapes, kept here as the reference.
@Suite("Money JSON: the hand-written /v1 objects are the encoder's bytes")
struct MoneyJSONTests {
    struct PartyJSON: Encodable { let name: String; let country: String?; let method: String?; let account_last4: String? }
    struct ErrorJSON: Encodable { let code: String; let message: String }
    struct OldTransaction: Encodable {
        let id: String; var object = "transaction"; let environment: String; let external_id: String?; let type: String
        let status: String; let amount: Int64; let amount_decimal: String; let currency: String; let currency_exponent: Int
        let error: ErrorJSON?; let sender: PartyJSON?; let recipient: PartyJSON?; let metadata: [String: String]
        let created_at: String; let updated_at: String; let settled_at: String?
    }
    struct OldPayout: Encodable {
        let id: String; var object = "payout"; let environment: String; let status: String; let amount: Int64
        let amount_decimal: String; let currency: String; let currency_exponent: Int; let beneficiary: PartyJSON?
        let reference: String; let transaction: String?; let reject_reason: String?; let created_at: String
        let expires_at: String; let decided_at: String?
    }

    static func party(_ p: Party) -> PartyJSON? {
        p.isEmpty ? nil : PartyJSON(name: p.name, country: p.country.isEmpty ? nil : p.country, method: p.method?.rawValue,
                                    account_last4: p.last4.isEmpty ? nil : p.last4)
    }

    static func time(_ t: Int64) -> String {
        var tm = tm()
        var seconds = time_t(t)
        gmtime_r(&seconds, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
    }

    static func encoded(_ v: some Encodable) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    static func written(_ v: some JSONWritableForTests) -> String { v.text }

    private static let texts = ["", "Ada Lovelace", "O'Brien \"Bob\"", "line\nbreak\ttab", "back\\slash/slash", "Zoë 日本 🙂", "\u{1}\u{1F}", "\u{2028}"]
    private static func text<G: RandomNumberGenerator>(_ g: inout G) -> String { texts.randomElement(using: &g)! }
    private static func optional<G: RandomNumberGenerator>(_ g: inout G) -> String? { Bool.random(using: &g) ? text(&g) : nil }
    private static func party<G: RandomNumberGenerator>(_ g: inout G) -> Party {
        Bool.random(using: &g) ? Party() : Party(name: text(&g), country: ["", "NL", "KE"].randomElement(using: &g)!,
                                                  method: PaymentMethod.allCases.randomElement(using: &g),
                                                  last4: ["", "1234", "56"].randomElement(using: &g)!)
    }

    @Test("random transactions: the writer and the old encoder agree byte for byte")
    func transactions() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<1_500 {
            let currency = Currency.all.randomElement(using: &g)!
            var metadata: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &g) { metadata[Self.text(&g) + "k"] = Self.text(&g) }
            // As the store writes it (copied as it is), or in a form it never writes (decoded
            // and rewritten): the bytes out must be the same either way.
            let unsorted = JSONEncoder()
            if Bool.random(using: &g) { unsorted.outputFormatting = [.prettyPrinted] }
            let metadataJSON = Bool.random(using: &g) ? MoneyStore.encodeMetadata(metadata)
                : String(decoding: try unsorted.encode(metadata), as: UTF8.self)
            let code = Bool.random(using: &g) ? "recipient_account_invalid" : nil
            let t = TransactionRecord(
                id: 1, publicID: "txn_" + String(Int.random(in: 0...999_999, using: &g)),
                scope: MoneyScope(organizationID: 1, environment: Environment.allCases.randomElement(using: &g)!), accountID: 1,
                externalID: Self.optional(&g), type: TransactionType.allCases.randomElement(using: &g)!,
                status: TransactionStatus.allCases.randomElement(using: &g)!,
                amount: Amount(minor: Int64.random(in: -10_000_000_000...10_000_000_000, using: &g), currency: currency),
                errorCode: code, errorNote: code == nil ? nil : Self.optional(&g), sender: Self.party(&g), recipient: Self.party(&g),
                metadataJSON: metadataJSON, payoutID: nil, createdAt: Int64.random(in: 0...4_000_000_000, using: &g),
                updatedAt: Int64.random(in: 0...4_000_000_000, using: &g),
                settledAt: Bool.random(using: &g) ? Int64.random(in: 0...4_000_000_000, using: &g) : nil)
            let old = OldTransaction(
                id: t.publicID, environment: t.scope.environment.rawValue, external_id: t.externalID, type: t.type.rawValue,
                status: t.status.rawValue, amount: t.amount.minor, amount_decimal: t.amount.major, currency: currency.code,
                currency_exponent: currency.exponent, error: t.errorCode.map { ErrorJSON(code: $0, message: t.errorNote ?? "") },
                sender: Self.party(t.sender), recipient: Self.party(t.recipient), metadata: t.metadata,
                created_at: Self.time(t.createdAt), updated_at: Self.time(t.updatedAt), settled_at: t.settledAt.map(Self.time))
            #expect(TransactionJSON(t).text == (try Self.encoded(old)))
        }
    }

    @Test("stored metadata is copied only when it is exactly the writer's form")
    func canonicalMetadata() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var metadata: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &g) { metadata[Self.text(&g) + String(Int.random(in: 0...99, using: &g))] = Self.text(&g) }
            let stored = MoneyStore.encodeMetadata(metadata)
            // Keys with a quote or a backslash are escaped in the text: those take the slow path.
            let plainKeys = metadata.keys.allSatisfy { k in !k.unicodeScalars.contains { $0.value < 0x20 || $0 == "\"" || $0 == "\\" } }
            #expect(TransactionJSON.isCanonicalMetadata(stored) == plainKeys, "\(stored)")
        }
        // The demo seeder writes its metadata as text: it must be the store's own form.
        var r = SeededRandom(seed: 7)
        for sequence in 0..<400 {
            let type = TransactionType.allCases[sequence % 4]
            let text = DemoTraffic.metadata(type, sequence: sequence, at: 1_790_000_000 + Int64(sequence) * 3_600, &r)
            #expect(TransactionJSON.isCanonicalMetadata(text), "\(text)")
            #expect(text == MoneyStore.encodeMetadata(MoneyStore.decodeMetadata(text)))
        }
        for bad in ["{\"b\":\"1\",\"a\":\"2\"}", "{\"a\": \"1\"}", "{\"a\":1}", "{\"a\":\"1\",}", "{\"a\":\"\\/\"}", "{\"a\":\"\\u000a\"}",
                    "{\"a\":\"1\"}x", "{\"a\":\"1\"", "{\"a\":\"\u{1}\"}", "{\"a\":\"1\",\"a\":\"2\"}", "[]", "{\"a\":\"\\u00E9\"}"] {
            #expect(!TransactionJSON.isCanonicalMetadata(bad), "\(bad)")
        }
    }

    /// `/v1/transactions` writes each row straight from SQLite (``Transactions/writePage``):
    /// its bytes must be those of the record the same row reads as, whatever the row holds.
    @Test("a page written from the rows in place is the records' bytes")
    func pageWrittenInPlace() throws {
        let m = try MoneyBench()
        try Self.randomize(m, count: 120)
        func written(_ q: Transactions.ListQuery, limit: Int, olderThan key: Transactions.ListKey? = nil) throws -> (String, Bool) {
            try m.database.read { db in
                var w = JSONWriter(capacity: 16)
                let more = try m.transactions.writePage(m.scope(), q, olderThan: key, limit: limit, to: &w, on: db)
                return (String(decoding: w.bytes, as: UTF8.self), more)
            }
        }
        func expected(_ q: Transactions.ListQuery, limit: Int, olderThan key: Transactions.ListKey? = nil) throws -> (String, Bool) {
            let rows = try m.database.read { try m.transactions.page(m.scope(), q, olderThan: key, limit: limit + 1, on: $0) }
            return ("[" + rows.prefix(limit).map { TransactionJSON($0).text }.joined(separator: ",") + "]", rows.count > limit)
        }
        let all = try expected(.init(), limit: 500)
        #expect(all.0.contains("\\\"") && all.0.contains("\\u0001") && all.0.contains("日本") && all.0.contains("\\n"))
        #expect(try written(.init(), limit: 500) == all)
        #expect(try written(.init(), limit: 120) == (try expected(.init(), limit: 120)))
        #expect(try written(.init(), limit: 119) == (try expected(.init(), limit: 119)))
        #expect(try written(.init(), limit: 7).1)
        var paid = Transactions.ListQuery()
        paid.status = .paid
        let middle = try m.database.read { try m.transactions.page(m.scope(), .init(), olderThan: nil, limit: 60, on: $0) }.last!
        let key = Transactions.ListKey(createdAt: middle.createdAt, id: middle.id)
        #expect(try written(paid, limit: 10, olderThan: key) == (try expected(paid, limit: 10, olderThan: key)))
        #expect(try written(.init(), limit: 25, olderThan: key) == (try expected(.init(), limit: 25, olderThan: key)))
        #expect(try written(.init(), limit: 10, olderThan: Transactions.ListKey(createdAt: -1, id: 0)) == ("[]", false))
        // A row no record could be read from fails the page the same way.
        try m.database.write { db in try db.execute("UPDATE transactions SET currency = 'XXX' WHERE id = ?", middle.id) }
        #expect(throws: MoneyStoreError.self) { try written(.init(), limit: 500) }
    }

    @Test("a table's rows, read with only the columns they show, are the full records' rows")
    func summariesAreTheRecords() throws {
        let m = try MoneyBench()
        try Self.randomize(m, count: 90)
        let store = TransactionListStore()
        let records = try m.database.read { try m.transactions.page(m.scope(), .init(), olderThan: nil, limit: 200, on: $0) }
        func page(before: TransactionListStore.Key?, after: TransactionListStore.Key?, limit: Int) throws -> [TransactionSummary] {
            var rows: [TransactionSummary] = []
            try m.database.read { db in
                try store.forEachSummary(m.scope(), .init(), before: before, after: after, limit: limit, on: db) { rows.append(TransactionSummary($0)) }
            }
            return rows
        }
        let rows = try page(before: nil, after: nil, limit: 200)
        #expect(rows.count == 90 && records.count == 90)
        for (row, record) in zip(rows, records) {
            #expect(row.id == record.id && row.publicID == record.publicID && row.externalID == record.externalID)
            #expect(row.type == record.type && row.status == record.status && row.amount == record.amount && row.createdAt == record.createdAt)
            // Money coming in names who sent it; every other kind, who receives it.
            #expect(row.counterparty == (record.type == .payin ? record.sender.name : record.recipient.name))
        }
        #expect(Set(rows.map(\.type)) == Set(TransactionType.allCases))
        // A page read upwards (the previous page) comes back newest first, the same rows.
        let key = TransactionListStore.Key(createdAt: records[40].createdAt, id: records[40].id)
        let newer = try page(before: nil, after: key, limit: 25)
        #expect(newer.map(\.id) == records[15..<40].map(\.id))
        #expect(try page(before: key, after: nil, limit: 25).map(\.id) == records[41..<66].map(\.id))
        let recent = try m.database.read { try store.recent(m.scope(), limit: 25, on: $0) }
        #expect(recent.map(\.id) == records.prefix(25).map(\.id))
    }

    /// Gives `count` new transactions random kinds, statuses, parties (awkward text included),
    /// metadata and times.
    private static func randomize(_ m: MoneyBench, count: Int) throws {
        var g = SystemRandomNumberGenerator()
        let codes = ["EUR", "JPY", "KWD", "NGN"]
        for i in 0..<count {
            let t = try m.create(.payin, String(Int.random(in: 1...99_999, using: &g)), codes[i % 4])
            var metadata: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &g) { metadata[Self.text(&g) + "k"] = Self.text(&g) }
            let pretty = JSONEncoder()
            pretty.outputFormatting = [.prettyPrinted]
            let metadataJSON = Bool.random(using: &g) ? MoneyStore.encodeMetadata(metadata)
                : String(decoding: try pretty.encode(metadata), as: UTF8.self)
            let code = Bool.random(using: &g) ? "recipient_account_invalid\"\u{1}é" : nil
            let sender = Self.party(&g), recipient = Self.party(&g)
            try m.database.write { db in
                try db.execute("""
                    UPDATE transactions SET external_id = ?, type = ?, status = ?, error_code = ?, error_note = ?, metadata = ?,
                        sender_name = ?, sender_country = ?, sender_method = ?, sender_last4 = ?,
                        recipient_name = ?, recipient_country = ?, recipient_method = ?, recipient_last4 = ?,
                        created_at = ?, updated_at = ?, settled_at = ? WHERE id = ?
                    """, Bool.random(using: &g) ? "ext \(i) " + Self.text(&g) : nil,
                    TransactionType.allCases[i % 4].rawValue, TransactionStatus.allCases.randomElement(using: &g)!.rawValue,
                    code, code == nil ? nil : Self.optional(&g), metadataJSON,
                    sender.name, sender.country, sender.method?.rawValue, sender.last4,
                    recipient.name, recipient.country, recipient.method?.rawValue, recipient.last4,
                    Int64.random(in: 0...4_000_000_000, using: &g), Int64.random(in: 0...4_000_000_000, using: &g),
                    Bool.random(using: &g) ? Int64.random(in: 0...4_000_000_000, using: &g) : nil, t.id)
            }
        }
    }

    @Test("random payouts: the writer and the old encoder agree byte for byte")
    func payouts() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<1_500 {
            let currency = Currency.all.randomElement(using: &g)!
            let status = PayoutStatus.allCases.randomElement(using: &g)!
            let p = PayoutRecord(
                id: 1, publicID: "po_" + String(Int.random(in: 0...999_999, using: &g)),
                scope: MoneyScope(organizationID: 1, environment: Environment.allCases.randomElement(using: &g)!), accountID: 1,
                status: status, amount: Amount(minor: Int64.random(in: 1...10_000_000_000, using: &g), currency: currency),
                beneficiaryName: Self.text(&g), beneficiaryCountry: ["", "NL"].randomElement(using: &g)!,
                method: PaymentMethod.allCases.randomElement(using: &g)!,
                beneficiaryAccount: ["NL91ABNA0417164300", "+254712345678", ""].randomElement(using: &g)!,
                reference: Self.text(&g), createdBy: 1, createdByName: "A", decidedBy: nil, decidedByName: nil,
                rejectReason: status == .rejected ? Self.text(&g) : nil, transactionID: nil,
                transactionPublicID: status == .authorized ? "txn_1" : nil, createdAt: Int64.random(in: 0...4_000_000_000, using: &g),
                expiresAt: Int64.random(in: 0...4_000_000_000, using: &g),
                decidedAt: status == .pendingAuthorization ? nil : Int64.random(in: 0...4_000_000_000, using: &g),
                updatedAt: 0)
            let old = OldPayout(
                id: p.publicID, environment: p.scope.environment.rawValue, status: p.status.rawValue, amount: p.amount.minor,
                amount_decimal: p.amount.major, currency: currency.code, currency_exponent: currency.exponent,
                beneficiary: Self.party(p.beneficiary), reference: p.reference, transaction: p.transactionPublicID,
                reject_reason: p.rejectReason, created_at: Self.time(p.createdAt), expires_at: Self.time(p.expiresAt),
                decided_at: p.decidedAt.map(Self.time))
            #expect(PayoutJSON(p).text == (try Self.encoded(old)))
        }
    }
}

protocol JSONWritableForTests { var text: String { get } }

extension TransactionJSON: JSONWritableForTests {
    var text: String { var w = JSONWriter(capacity: 64); write(to: &w); return String(decoding: w.bytes, as: UTF8.self) }
}
extension PayoutJSON: JSONWritableForTests {
    var text: String { var w = JSONWriter(capacity: 64); write(to: &w); return String(decoding: w.bytes, as: UTF8.self) }
}
