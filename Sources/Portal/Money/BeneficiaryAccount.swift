/// Checks and normalizes the account a payout is sent to, per method: a bank account is an
/// IBAN (ISO 13616: the country's length from the SWIFT registry, and the mod-97 check digits),
/// a mobile-money number is an E.164 number (`+`, then 8 to 15 digits, no leading zero).
/// What a person types ("gb82 west 1234 5698 7654 32", "+254 712-345-678") becomes the one
/// stored form ("GB82WEST12345698765432", "+254712345678"), so two spellings of one account
/// are one account and the last 4 shown are always the same characters.
enum BeneficiaryAccount {
    /// Why typed text is not an account of the method; `message` goes beside the field.
    enum Problem: Error, Equatable {
        case empty(PaymentMethod)
        case ibanCharacters
        case ibanCountry(String)
        case ibanLength(country: String, expected: Int, got: Int)
        case ibanChecksum
        case phoneFormat
        case phoneLength(Int)

        var message: String {
            switch self {
            case .empty(.bank): "Enter the beneficiary's IBAN."
            case .empty(.mobile): "Enter the beneficiary's mobile-money number."
            case .ibanCharacters: "An IBAN has only letters and digits, starting with a two-letter country code, like GB82 WEST 1234 5698 7654 32."
            case .ibanCountry(let c): "\(c) is not a country that uses IBANs. Check the first two letters, or send to a mobile-money number."
            case .ibanLength(let c, let expected, let got): "IBANs of \(c) have \(expected) characters; this one has \(got). Check for a missing or extra character."
            case .ibanChecksum: "This IBAN's check digits do not match: a character is probably mistyped. Copy it again from the beneficiary's details."
            case .phoneFormat: "Enter the number in international format: + and the country code, like +254 712 345 678."
            case .phoneLength(let n): "An international number has 8 to 15 digits after the +; this one has \(n)."
            }
        }
    }

    /// The normalized account, or the reason it is not one.
    static func normalize(_ raw: String, method: PaymentMethod) throws(Problem) -> String {
        switch method {
        case .bank: try iban(raw)
        case .mobile: try phone(raw)
        }
    }

    /// An IBAN without its spaces, in capitals, if its country, length and check digits hold.
    static func iban(_ raw: String) throws(Problem) -> String {
        let s = String(raw.filter { !$0.isWhitespace && $0 != "-" }).uppercased()
        if s.isEmpty { throw .empty(.bank) }
        guard s.count >= 4, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
              s.prefix(2).allSatisfy(\.isLetter), s.dropFirst(2).prefix(2).allSatisfy(\.isNumber) else { throw .ibanCharacters }
        let country = String(s.prefix(2))
        guard let expected = ibanLengths[country] else { throw .ibanCountry(country) }
        guard s.count == expected else { throw .ibanLength(country: country, expected: expected, got: s.count) }
        guard mod97(String(s.dropFirst(4) + s.prefix(4))) == 1 else { throw .ibanChecksum }
        return s
    }

    /// ISO 7064 MOD 97-10 of the rearranged IBAN, letters as 10…35, a digit at a time (the
    /// number has up to 70 digits: never built whole).
    static func mod97(_ s: String) -> Int {
        var r = 0
        for ch in s.unicodeScalars {
            let v = ch.value <= 57 ? Int(ch.value) - 48 : Int(ch.value) - 55
            r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97
        }
        return r
    }

    /// An E.164 number: `+` and 8 to 15 digits, the first not 0. Spaces, dashes, dots and
    /// brackets people write between groups are dropped.
    static func phone(_ raw: String) throws(Problem) -> String {
        let s = raw.filter { !$0.isWhitespace && !"-.()".contains($0) }
        if s.isEmpty { throw .empty(.mobile) }
        guard s.hasPrefix("+") else { throw .phoneFormat }
        let digits = s.dropFirst()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.first != "0" else { throw .phoneFormat }
        guard (8...15).contains(digits.count) else { throw .phoneLength(digits.count) }
        return String(s)
    }

    /// The IBAN length of each country that issues them (SWIFT IBAN registry).
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29, "BY": 28,
        "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
        "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
        "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
        "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
        "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
        "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29,
        "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    ]
}
