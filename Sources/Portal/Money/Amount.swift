import Foundation
import Web

/// An amount of money: integer minor units of one currency. Parsed from what a person typed
/// in major units ("1,234.50"), written back in major units with the currency's exponent
/// ("1234.50" in CSV and JSON-adjacent text, "€1,234.50" on pages). Never a float.
struct Amount: Sendable, Hashable {
    let minor: Int64
    let currency: Currency

    init(minor: Int64, currency: Currency) {
        self.minor = minor
        self.currency = currency
    }

    /// The largest amount anything accepts: 10^15 minor units (ten trillion of a two-digit
    /// currency) leaves every sum of a statement far inside Int64.
    static let maximumMinor: Int64 = 1_000_000_000_000_000

    /// Parses an amount typed in major units: digits, an optional decimal point followed by at
    /// most the currency's exponent of digits, thousands separators (`,`, thin or plain
    /// spaces, `_`) between groups. Zero and negative amounts are refused: a movement's
    /// direction is its type, never its sign.
    static func parse(_ text: String, currency: Currency) throws(AmountProblem) -> Amount {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if s.isEmpty { throw .empty }
        if s.hasPrefix("-") { throw .notPositive }
        if s.hasPrefix("+") { s.removeFirst() }
        // Separators between digit groups only: "1,234.5" yes, ",5" or "1,,2" no.
        var cleaned = ""
        var previous: Character = " "
        for ch in s {
            if ch == "," || ch == "_" || ch == " " || ch == "\u{202F}" || ch == "\u{00A0}" || ch == "'" {
                guard previous.isASCII, previous.isNumber else { throw .malformed }
                previous = ","
                continue
            }
            if previous == "," && !(ch.isASCII && ch.isNumber) { throw .malformed }
            cleaned.append(ch)
            previous = ch
        }
        if previous == "," { throw .malformed }
        let parts = cleaned.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first else { throw .malformed }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty) else { throw .malformed }
        guard whole.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .malformed }
        if parts.count == 2 && fraction.isEmpty { throw .malformed }
        if fraction.count > currency.exponent { throw .tooPrecise(currency) }
        let digits = String(whole.drop { $0 == "0" }) + fraction + String(repeating: "0", count: currency.exponent - fraction.count)
        let trimmed = digits.drop { $0 == "0" }
        guard trimmed.count <= 16, let minor = Int64(trimmed.isEmpty ? "0" : String(trimmed)) else { throw .tooLarge(currency) }
        if minor == 0 { throw .notPositive }
        if minor > maximumMinor { throw .tooLarge(currency) }
        return Amount(minor: minor, currency: currency)
    }

    /// Major units with the currency's exponent and no grouping: `1234.50`, `1500` (JPY),
    /// `12.345` (KWD). What CSV files and the API's decimal strings carry.
    var major: String { Amount.major(minor, currency) }

    /// For pages: grouped, with the symbol if it has one, else the code: `€1,234.50`,
    /// `12.345 KWD`. A negative amount (a ledger debit) reads `−€5.00`.
    var display: String { Amount.display(minor, currency) }

    static func major(_ minor: Int64, _ currency: Currency) -> String {
        let negative = minor < 0
        let m = minor.magnitude
        let scale = UInt64(currency.scale)
        var text = String(m / scale)
        if currency.exponent > 0 {
            let frac = String(m % scale)
            text += "." + String(repeating: "0", count: currency.exponent - frac.count) + frac
        }
        return negative ? "-" + text : text
    }

    static func display(_ minor: Int64, _ currency: Currency) -> String {
        var w = HTMLWriter(capacity: 32)
        display(minor, currency, into: &w)
        return w.string
    }

    /// ``display`` written into a page (symbols and codes are ours: nothing to escape).
    static func display(_ minor: Int64, _ currency: Currency, into w: inout HTMLWriter) {
        if minor < 0 { w.raw("−") }
        if let symbol = currency.symbol { w.raw(trusted: symbol) }
        let m = minor.magnitude, scale = UInt64(currency.scale)
        // The whole units in groups of three: the first as it is, the others zero-padded.
        var whole = m / scale, group: UInt64 = 1
        while whole / group >= 1000 { group *= 1000 }
        w.integer(Int64(whole / group))
        while group > 1 {
            whole %= group
            group /= 1000
            w.byte(UInt8(ascii: ","))
            w.integer(Int64(whole / group), width: 3)
        }
        if currency.exponent > 0 {
            w.byte(UInt8(ascii: "."))
            w.integer(Int64(m % scale), width: currency.exponent)
        }
        if currency.symbol == nil {
            w.byte(UInt8(ascii: " "))
            w.raw(trusted: currency.code)
        }
    }
}

/// Why typed text is not an amount; `message` is what the form says beside the field.
enum AmountProblem: Error, Equatable {
    case empty, malformed, notPositive
    case tooPrecise(Currency)
    case tooLarge(Currency)

    var message: String {
        switch self {
        case .empty: "Enter an amount."
        case .malformed: "Enter an amount in numbers, like 1250.00."
        case .notPositive: "Enter an amount greater than zero."
        case .tooPrecise(let c):
            c.exponent == 0 ? "\(c.code) has no minor units: enter a whole number."
                : "\(c.code) has \(c.exponent) decimal places: enter at most \(c.exponent) digits after the point."
        case .tooLarge(let c): "That amount is larger than the portal accepts in \(c.code)."
        }
    }
}
