import Foundation

/// An ISO 4217 currency the portal holds money in, with its exponent (how many digits of
/// minor units follow the decimal point: JPY 0, EUR 2, KWD 3). Amounts are integers of minor
/// units everywhere; the exponent comes from this table, never from a float.
struct Currency: Sendable, Hashable, Comparable {
    /// Its place in ``all``, which is all a value holds: an amount copied (every row of every
    /// page has one) copies a byte, not four strings to retain and release.
    private let index: UInt8

    var code: String { Self.table[Int(index)].code }
    var exponent: Int { Self.table[Int(index)].exponent }
    var name: String { Self.table[Int(index)].name }
    /// The symbol written before an amount on pages, when it is unambiguous; else the code.
    var symbol: String? { Self.table[Int(index)].symbol }

    /// The currency of an ISO 4217 code (case-insensitive), if the portal knows it.
    init?(code raw: String) {
        // Stored codes are already canonical: one lookup, no trimming (rows decode thousands).
        if let c = Currency.byCode[raw] {
            self = c
            return
        }
        let code = raw.trimmingCharacters(in: .whitespaces).uppercased()
        guard let c = Currency.byCode[code] else { return nil }
        self = c
    }

    private init(index: Int) {
        self.index = UInt8(index)
    }

    private struct Facts {
        let code: String
        let exponent: Int
        let name: String
        let symbol: String?

        init(_ code: String, _ exponent: Int, _ name: String, _ symbol: String? = nil) {
            self.code = code
            self.exponent = exponent
            self.name = name
            self.symbol = symbol
        }
    }

    /// In the order of their codes (``all`` is kept in that order).
    static func < (a: Currency, b: Currency) -> Bool { a.index < b.index }

    /// 10^exponent: minor units in one major unit.
    var scale: Int64 {
        var s: Int64 = 1
        for _ in 0..<exponent { s *= 10 }
        return s
    }

    /// The currencies of the portal's corridors (TransferZero's and ClickPesa's markets, and
    /// the majors), with the exponents of ISO 4217.
    private static let table: [Facts] = [
        Facts("AED", 2, "UAE dirham"), Facts("AUD", 2, "Australian dollar", "A$"),
        Facts("BHD", 3, "Bahraini dinar"), Facts("BWP", 2, "Botswana pula"),
        Facts("CAD", 2, "Canadian dollar", "CA$"), Facts("CHF", 2, "Swiss franc"),
        Facts("CNY", 2, "Chinese yuan"), Facts("CZK", 2, "Czech koruna"),
        Facts("DKK", 2, "Danish krone"), Facts("EGP", 2, "Egyptian pound"),
        Facts("ETB", 2, "Ethiopian birr"), Facts("EUR", 2, "Euro", "€"),
        Facts("GBP", 2, "Pound sterling", "£"), Facts("GHS", 2, "Ghanaian cedi", "GH₵"),
        Facts("HKD", 2, "Hong Kong dollar"), Facts("INR", 2, "Indian rupee", "₹"),
        Facts("JOD", 3, "Jordanian dinar"), Facts("JPY", 0, "Japanese yen", "¥"),
        Facts("KES", 2, "Kenyan shilling", "KSh"), Facts("KRW", 0, "South Korean won", "₩"),
        Facts("KWD", 3, "Kuwaiti dinar"), Facts("MAD", 2, "Moroccan dirham"),
        Facts("MWK", 2, "Malawian kwacha"), Facts("MXN", 2, "Mexican peso"),
        Facts("MZN", 2, "Mozambican metical"), Facts("NGN", 2, "Nigerian naira", "₦"),
        Facts("NOK", 2, "Norwegian krone"), Facts("NZD", 2, "New Zealand dollar"),
        Facts("OMR", 3, "Omani rial"), Facts("PHP", 2, "Philippine peso"),
        Facts("PLN", 2, "Polish złoty"), Facts("RWF", 0, "Rwandan franc"),
        Facts("SEK", 2, "Swedish krona"), Facts("SGD", 2, "Singapore dollar"),
        Facts("TND", 3, "Tunisian dinar"), Facts("TRY", 2, "Turkish lira"),
        Facts("TZS", 2, "Tanzanian shilling", "TSh"), Facts("UGX", 0, "Ugandan shilling", "USh"),
        Facts("USD", 2, "US dollar", "$"), Facts("XAF", 0, "Central African CFA franc"),
        Facts("XOF", 0, "West African CFA franc"), Facts("ZAR", 2, "South African rand", "R"),
        Facts("ZMW", 2, "Zambian kwacha"),
    ].sorted { $0.code < $1.code }

    /// Every currency, in the order of their codes.
    static let all: [Currency] = table.indices.map { Currency(index: $0) }

    private static let byCode: [String: Currency] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// The currency of a stored code (canonical: three upper-case letters), read from its bytes
    /// in place: a page of rows looks a code up per row, and a string for each cost more than the look-up.
    init?(storedCode b: UnsafeBufferPointer<UInt8>) {
        guard b.count == 3 else { return nil }
        let key = UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])
        // A binary search of the packed codes (in the table's order): hashing them cost more.
        let keys = Currency.packedCodes
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < key { low = mid + 1 } else { high = mid }
        }
        guard low < keys.count, keys[low] == key else { return nil }
        self.init(index: low)
    }

    /// Each code's three bytes packed into one number, in the table's order (ascending).
    private static let packedCodes: [UInt32] = table.map { f in
        let u = Array(f.code.utf8)
        return UInt32(u[0]) << 16 | UInt32(u[1]) << 8 | UInt32(u[2])
    }
}
