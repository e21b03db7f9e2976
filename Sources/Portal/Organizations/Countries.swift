import Foundation

/// The ISO 3166-1 countries, read once at start-up from Debian's iso-codes JSON
/// (`/usr/share/iso-codes/json/iso_3166-1.json`), sorted by the name people use.
struct Countries: Sendable {
    struct Country: Sendable {
        let code: String
        let name: String
    }

    let all: [Country]
    private let byCode: [String: String]

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LoadError(description: "cannot read the country list \(file) (Debian package iso-codes; `make deps` installs it)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = root["3166-1"] as? [[String: Any]] else {
            throw LoadError(description: "\(file) is not an iso-codes 3166-1 list")
        }
        let countries: [Country] = entries.compactMap { e in
            guard let code = e["alpha_2"] as? String, code.count == 2,
                  let name = (e["common_name"] as? String) ?? (e["name"] as? String) else { return nil }
            return Country(code: code, name: name)
        }
        guard countries.count > 200 else { throw LoadError(description: "\(file) lists only \(countries.count) countries") }
        self.init(countries)
    }

    init(_ countries: [Country]) {
        all = countries.sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
        byCode = Dictionary(countries.map { ($0.code, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    func name(_ code: String) -> String? { byCode[code] }
    func contains(_ code: String) -> Bool { byCode[code] != nil }
}

/// The industries an organization chooses from.
enum Industries {
    static let all = [
        "E-commerce", "Marketplace", "Software and SaaS", "Financial services", "Remittances", "Payroll and HR",
        "Travel and hospitality", "Education", "Healthcare", "Gaming", "Logistics", "Telecommunications",
        "Non-profit", "Government", "Other",
    ]
}
