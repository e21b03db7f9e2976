import Foundation

/// What the demo organization's traffic looks like: which currencies, how large the amounts,
/// who pays and who is paid, how often things fail and how long they take. Everything is drawn
/// from a ``SeededRandom``, so one seed always gives the same traffic.
///
/// The proportions are those of a small payments business in TransferZero's and ClickPesa's
/// corridors: mostly pay-ins, a third payouts (larger, fewer), a few fees and refunds; about
/// 92 % paid, 5–6 % failed, 1–2 % cancelled. Outcomes follow the Sandbox simulator's magic
/// endings (``SandboxSimulator``), so a seeded failure has the amount that would have failed.
struct DemoTraffic {
    struct Profile {
        let currency: Currency
        /// Share of the transactions.
        let weight: Double
        /// Median pay-in, in major units.
        let median: Double
        let countries: [String]
        /// Share of parties paying or paid by mobile money.
        let mobileShare: Double
        /// Calling code and local digits of a mobile number (for payouts' beneficiaries).
        let phonePrefix: String
    }

    static let profiles: [Profile] = [
        Profile(currency: Currency(code: "EUR")!, weight: 0.20, median: 85, countries: ["DE", "FR", "NL", "ES", "IT", "IE", "BE", "PT"], mobileShare: 0, phonePrefix: "+3361"),
        Profile(currency: Currency(code: "USD")!, weight: 0.18, median: 120, countries: ["US"], mobileShare: 0, phonePrefix: "+1415"),
        Profile(currency: Currency(code: "NGN")!, weight: 0.20, median: 38_000, countries: ["NG"], mobileShare: 0.35, phonePrefix: "+23480"),
        Profile(currency: Currency(code: "KES")!, weight: 0.14, median: 2_800, countries: ["KE"], mobileShare: 0.85, phonePrefix: "+25471"),
        Profile(currency: Currency(code: "GHS")!, weight: 0.09, median: 650, countries: ["GH"], mobileShare: 0.6, phonePrefix: "+23324"),
        Profile(currency: Currency(code: "GBP")!, weight: 0.06, median: 90, countries: ["GB"], mobileShare: 0, phonePrefix: "+447"),
        Profile(currency: Currency(code: "ZAR")!, weight: 0.07, median: 1_400, countries: ["ZA"], mobileShare: 0.05, phonePrefix: "+2782"),
        Profile(currency: Currency(code: "JPY")!, weight: 0.06, median: 12_000, countries: ["JP"], mobileShare: 0, phonePrefix: "+8190"),
    ]
    static let weights = profiles.map(\.weight)

    /// The organization's own party: who receives pay-ins and sends payouts.
    static let merchant = Party(name: "Demo Payments Ltd", country: "GB", method: .bank, last4: "4821")

    /// What became of a transaction (the simulator's outcomes, by amount ending).
    enum Outcome {
        case paid, accountInvalid, insufficientFunds, cancelled, staysProcessing

        /// The last two digits of the amount in minor units that make the simulator choose it.
        var ending: Int64? {
            switch self {
            case .paid: nil
            case .accountInvalid: 13
            case .insufficientFunds: 14
            case .cancelled: 15
            case .staysProcessing: 16
            }
        }

        var final: TransactionStatus {
            switch self {
            case .paid: .paid
            case .accountInvalid, .insufficientFunds: .failed
            case .cancelled: .cancelled
            case .staysProcessing: .processing
            }
        }

        var error: (code: String, note: String)? {
            if case .failed(let code, let note) = SandboxSimulator.outcome(minor: ending ?? 0) { return (code, note) }
            return nil
        }
    }

    static let type: [TransactionType] = [.payin, .payout, .fee, .refund]
    static let typeWeights: [Double] = [0.62, 0.30, 0.05, 0.03]

    static func outcome(_ type: TransactionType, recent: Bool, _ r: inout SeededRandom) -> Outcome {
        if type == .fee { return .paid }
        let u = r.unit()
        switch u {
        case ..<0.925: return .paid
        case ..<0.98:
            // A pay-in fails mostly for want of money; a payout mostly on a wrong account.
            let invalid = type == .payin ? 0.4 : 0.8
            return r.chance(invalid) ? .accountInvalid : .insufficientFunds
        case ..<0.995: return .cancelled
        default: return recent ? .staysProcessing : .paid
        }
    }

    /// An amount in minor units: log-normal around the currency's median (payouts larger, fees
    /// small), often round, its last two digits those of its outcome (never a magic ending
    /// for one that was paid).
    static func amount(_ p: Profile, _ type: TransactionType, _ outcome: Outcome, _ r: inout SeededRandom) -> Int64 {
        let factor: Double = switch type {
        case .payin: 1
        case .payout: 1.4
        case .fee: 0.02
        case .refund: 0.9
        }
        let major = r.logNormal(median: p.median * factor, sigma: 1.0, in: (p.median * 0.01)...(p.median * 400))
        var minor = max(Int64(major * Double(p.currency.scale)), 100)
        minor -= minor % 100
        if let ending = outcome.ending {
            minor += ending
        } else if !r.chance(0.45) || type == .fee {
            var ending = r.int(0...99)
            if (13...16).contains(ending) { ending += 4 }
            minor += ending
        }
        return minor
    }

    static let firstNames: [String: [String]] = [
        "NG": ["Adaeze", "Chinedu", "Ngozi", "Emeka", "Funmilayo", "Tunde", "Amaka", "Ibrahim", "Yetunde", "Oluwaseun"],
        "KE": ["Wanjiru", "Otieno", "Akinyi", "Kamau", "Njeri", "Mwangi", "Achieng", "Kiprono", "Wambui", "Omondi"],
        "GH": ["Kwame", "Ama", "Kofi", "Akosua", "Yaw", "Efua", "Kwabena", "Abena", "Kojo", "Adwoa"],
        "ZA": ["Thandiwe", "Sipho", "Lerato", "Pieter", "Nomvula", "Johan", "Ayanda", "Thabo"],
        "JP": ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Kaito", "Sakura"],
        "US": ["Emily", "James", "Maria", "David", "Ashley", "Michael", "Jessica", "Daniel"],
        "GB": ["Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Sophie"],
        "EU": ["Lukas", "Camille", "Sofia", "Matteo", "Lucía", "Daan", "Emma", "Aoife", "João", "Léa"],
    ]
    static let lastNames: [String: [String]] = [
        "NG": ["Okafor", "Adeyemi", "Balogun", "Eze", "Nwosu", "Bello", "Okonkwo", "Abubakar"],
        "KE": ["Mutua", "Odhiambo", "Kariuki", "Wekesa", "Chebet", "Njoroge", "Ochieng", "Kimani"],
        "GH": ["Mensah", "Asante", "Boateng", "Owusu", "Appiah", "Osei", "Darko", "Agyeman"],
        "ZA": ["Nkosi", "van der Merwe", "Dlamini", "Botha", "Mokoena", "Naidoo", "Khumalo"],
        "JP": ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto"],
        "US": ["Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Wilson", "Martinez"],
        "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Evans", "Patel"],
        "EU": ["Müller", "Dubois", "Rossi", "García", "de Vries", "Murphy", "Silva", "Janssens", "Schmidt"],
    ]
    static let businesses = ["Logistics", "Traders", "Foods", "Textiles", "Electronics", "Pharmacy", "Agro Supplies", "Motors", "Printing", "Hardware"]

    static func personName(country: String, _ r: inout SeededRandom) -> String {
        let region = firstNames[country] == nil ? "EU" : country
        return r.pick(firstNames[region]!) + " " + r.pick(lastNames[region]!)
    }

    /// A customer or beneficiary: a person (or, for payouts, sometimes a business) of the
    /// currency's countries, their account kept as its last 4 digits.
    static func party(_ p: Profile, business: Bool, _ r: inout SeededRandom) -> Party {
        let country = r.pick(p.countries)
        let name = business ? r.pick(lastNames[firstNames[country] == nil ? "EU" : country]!) + " " + r.pick(businesses) + " Ltd"
            : personName(country: country, &r)
        let method: PaymentMethod = r.chance(p.mobileShare) ? .mobile : .bank
        return Party(name: name, country: country, method: method, last4: pad(r.int(0...9999), 4))
    }

    static let channels = ["checkout", "checkout", "mobile_app", "invoice", "pos"]
    static let purposes = ["supplier", "salary", "marketplace_settlement", "supplier", "commission"]
    static let refundReasons = ["customer_request", "duplicate", "damaged_goods", "not_delivered"]

    /// The integrator's small JSON map (string values, sorted keys, plain ASCII: written as
    /// text, not encoded, a million times).
    static func metadata(_ type: TransactionType, sequence: Int, at time: Int64, _ r: inout SeededRandom) -> String {
        switch type {
        case .payin: "{\"channel\":\"\(r.pick(channels))\",\"customer_id\":\"cus_\(100_000 + r.int(0...899_999))\"}"
        case .payout: "{\"invoice\":\"INV-\(10_000 + sequence % 90_000)\",\"purpose\":\"\(r.pick(purposes))\"}"
        case .fee: "{\"kind\":\"transaction_fee\",\"period\":\"\(month(time))\"}"
        case .refund: "{\"original_order\":\"ORD-\(pad(r.int(1...max(Int64(sequence), 1)), 7))\",\"reason\":\"\(r.pick(refundReasons))\"}"
        }
    }

    /// The integrator's own id: most transactions carry one, a few (created by hand) none.
    static func externalID(_ type: TransactionType, sequence: Int, _ r: inout SeededRandom) -> String? {
        if r.chance(0.03) { return nil }
        let prefix = switch type {
        case .payin: "ORD"
        case .payout: "PO"
        case .fee: "FEE"
        case .refund: "RF"
        }
        return prefix + "-" + pad(Int64(sequence), 7)
    }

    /// `n` in decimal, zero-padded to `width` digits (String(format:) is slow a million times).
    static func pad(_ n: Int64, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    static func month(_ time: Int64) -> String {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        let d = c.dateComponents([.year, .month], from: Date(timeIntervalSince1970: TimeInterval(time)))
        return String(format: "%04d-%02d", d.year ?? 1970, d.month ?? 1)
    }

    /// How busy an hour is: weekdays over weekends, office hours over nights (the corridors
    /// span UTC to UTC+3), salary days at the end of the month, and a business that grows
    /// (`progress` 0 → 1 over the history).
    static func hourWeight(_ time: Int64, progress: Double, dayNoise: Double) -> Double {
        let hourOfDay = Int((time % 86_400) / 3600)
        let day = time / 86_400
        let weekday = Int((day + 3) % 7)   // 1970-01-01 was a Thursday: 0 = Monday
        let daily: [Double] = [0.15, 0.1, 0.08, 0.08, 0.12, 0.25, 0.45, 0.75, 1.0, 1.2, 1.3, 1.3,
                               1.25, 1.2, 1.2, 1.15, 1.1, 1.0, 0.9, 0.8, 0.65, 0.5, 0.35, 0.22]
        let week: Double = weekday == 5 ? 0.65 : weekday == 6 ? 0.5 : 1
        let dayOfMonth = Calendar.utcDay(Date(timeIntervalSince1970: TimeInterval(time)))
        let payday: Double = (25...28).contains(dayOfMonth) ? 1.3 : 1
        return daily[hourOfDay] * week * payday * (0.6 + 0.8 * progress) * dayNoise
    }

    /// Seconds from one status to the next: pay-ins settle in minutes, bank payouts in an hour
    /// or so (sometimes a day), mobile money in a minute or two, failures faster.
    static func delays(_ type: TransactionType, _ party: Party, _ outcome: Outcome, _ r: inout SeededRandom) -> (toProcessing: Int64, toFinal: Int64) {
        if type == .fee { return (1, 1) }
        let first = r.int(type == .payin ? 2...60 : 5...120)
        let median: Double, upper: Double
        switch (outcome, type, party.method) {
        case (.accountInvalid, _, _), (.insufficientFunds, _, _): (median, upper) = (60, 3600)
        case (.cancelled, _, _): (median, upper) = (600, 86_400)
        case (_, .payin, _): (median, upper) = (180, 6 * 3600)
        case (_, _, .mobile): (median, upper) = (90, 3600)
        default: (median, upper) = (2400, 36 * 3600)
        }
        return (first, Int64(r.logNormal(median: median, sigma: 1.0, in: 5...upper)))
    }
}

extension Calendar {
    /// The day of the month of `date` in UTC.
    static func utcDay(_ date: Date) -> Int {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c.component(.day, from: date)
    }
}
