import Foundation

/// An ISO 4217 currency the portal holds money in, with its exponent (how many digits of
/// minor units follow the decimal point: JPY 0, EUR 2, KWD 3). Amounts are integers of minor
/// units everywhere; the exponent comes from this table, never from a float.
struct Currency: Sendable, Hashable, Comparable {
    let code: String
    let exponent: Int
    let name: String
    /// The symbol written before an amount on pages, when it is unambiguous; else the code.
    let symbol: String?

    /// The currency of an ISO 4217 code (case-insensitive), if the portal knows it.
    init?(code raw: String) {
        // Stored codes are already canonical: one lookup, no trimming (rows decode thousands).
        if let c = Currency.table[raw] {
            self = c
            return
        }
        let code = raw.trimmingCharacters(in: .whitespaces).uppercased()
        guard let c = Currency.table[code] else { return nil }
        self = c
    }

    private init(_ code: String, _ exponent: Int, _ name: String, _ symbol: String? = nil) {
        self.code = code
        self.exponent = exponent
        self.name = name
        self.symbol = symbol
    }

    static func < (a: Currency, b: Currency) -> Bool { a.code < b.code }

    /// 10^exponent: minor units in one major unit.
    var scale: Int64 {
        var s: Int64 = 1
        for _ in 0..<exponent { s *= 10 }
        return s
    }

    /// The currencies of the portal's corridors (TransferZero's and ClickPesa's markets, and
    /// the majors), with the exponents of ISO 4217.
    static let all: [Currency] = [
        Currency("AED", 2, "UAE dirham"), Currency("AUD", 2, "Australian dollar", "A$"),
        Currency("BHD", 3, "Bahraini dinar"), Currency("BWP", 2, "Botswana pula"),
        Currency("CAD", 2, "Canadian dollar", "CA$"), Currency("CHF", 2, "Swiss franc"),
        Currency("CNY", 2, "Chinese yuan"), Currency("CZK", 2, "Czech koruna"),
        Currency("DKK", 2, "Danish krone"), Currency("EGP", 2, "Egyptian pound"),
        Currency("ETB", 2, "Ethiopian birr"), Currency("EUR", 2, "Euro", "€"),
        Currency("GBP", 2, "Pound sterling", "£"), Currency("GHS", 2, "Ghanaian cedi", "GH₵"),
        Currency("HKD", 2, "Hong Kong dollar"), Currency("INR", 2, "Indian rupee", "₹"),
        Currency("JOD", 3, "Jordanian dinar"), Currency("JPY", 0, "Japanese yen", "¥"),
        Currency("KES", 2, "Kenyan shilling", "KSh"), Currency("KRW", 0, "South Korean won", "₩"),
        Currency("KWD", 3, "Kuwaiti dinar"), Currency("MAD", 2, "Moroccan dirham"),
        Currency("MWK", 2, "Malawian kwacha"), Currency("MXN", 2, "Mexican peso"),
        Currency("MZN", 2, "Mozambican metical"), Currency("NGN", 2, "Nigerian naira", "₦"),
        Currency("NOK", 2, "Norwegian krone"), Currency("NZD", 2, "New Zealand dollar"),
        Currency("OMR", 3, "Omani rial"), Currency("PHP", 2, "Philippine peso"),
        Currency("PLN", 2, "Polish złoty"), Currency("RWF", 0, "Rwandan franc"),
        Currency("SEK", 2, "Swedish krona"), Currency("SGD", 2, "Singapore dollar"),
        Currency("TND", 3, "Tunisian dinar"), Currency("TRY", 2, "Turkish lira"),
        Currency("TZS", 2, "Tanzanian shilling", "TSh"), Currency("UGX", 0, "Ugandan shilling", "USh"),
        Currency("USD", 2, "US dollar", "$"), Currency("XAF", 0, "Central African CFA franc"),
        Currency("XOF", 0, "West African CFA franc"), Currency("ZAR", 2, "South African rand", "R"),
        Currency("ZMW", 2, "Zambian kwacha"),
    ]

    private static let table: [String: Currency] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// The currency of a stored code (canonical: three upper-case letters), read from its bytes
    /// in place: a page of rows looks a code up per row, and a string for each cost more than the look-up.
    init?(storedCode b: UnsafeBufferPointer<UInt8>) {
        guard b.count == 3, let c = Currency.byPackedCode[UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])] else { return nil }
        self = c
    }

    private static let byPackedCode: [UInt32: Currency] = Dictionary(uniqueKeysWithValues: all.map { c in
        let u = Array(c.code.utf8)
        return (UInt32(u[0]) << 16 | UInt32(u[1]) << 8 | UInt32(u[2]), c)
    })
}
