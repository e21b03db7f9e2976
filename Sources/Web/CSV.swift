/// Writes CSV as RFC 4180 describes it: records end with CRLF, a field holding a comma, a
/// double quote, CR or LF is enclosed in double quotes, and a double quote inside is doubled.
///
/// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and some a tab or CR
/// before one) as a formula, so text that came from people could run code on the machine of
/// whoever opens the export (CSV or formula injection). With `protectFormulas` on (the
/// default) such a cell gets a leading apostrophe, which spreadsheets show as text and do
/// not evaluate.
///
/// ```swift
/// var csv = CSVWriter()
/// csv.append(["name", "note"])
/// csv.append(["Ada", "=1+1"])   // name,note\r\nAda,'=1+1\r\n
/// let bytes = csv.takeBytes()
/// ```
public struct CSVWriter: Sendable {
    /// The text written so far (since the last ``takeBytes()``).
    public private(set) var text: String = ""
    public let protectFormulas: Bool

    public init(protectFormulas: Bool = true) {
        self.protectFormulas = protectFormulas
    }

    /// Adds one record.
    public mutating func append(_ fields: [String]) {
        var first = true
        for f in fields {
            if !first { text.append(",") }
            first = false
            text.append(Self.field(f, protectFormulas: protectFormulas))
        }
        text.append("\r\n")
    }

    /// The UTF-8 bytes written so far; the writer starts empty again (for streaming in parts).
    public mutating func takeBytes() -> [UInt8] {
        defer { text = "" }
        return Array(text.utf8)
    }

    /// Whether nothing is waiting to be taken.
    public var isEmpty: Bool { text.isEmpty }

    /// The characters that make a spreadsheet read a cell as a formula when they come first.
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// One field, escaped (and, with `protectFormulas`, defused).
    public static func field(_ value: String, protectFormulas: Bool = true) -> String {
        var s = value
        if protectFormulas, let first = s.unicodeScalars.first, formulaStarts.contains(first) {
            s = "'" + s
        }
        let needsQuotes = s.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        guard needsQuotes else { return s }
        return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
    }

    /// Appends one field, escaped (and, with `protectFormulas`, defused) as ``field(_:protectFormulas:)``
    /// does, straight as UTF-8 bytes: for exports of many rows, where a String per field costs
    /// more than the rows' query.
    public static func appendField(_ value: String, to out: inout [UInt8], protectFormulas: Bool = true) {
        var value = value
        value.withUTF8 { b in
            var quote = false
            for x in b where x == 0x2C || x == 0x22 || x == 0x0D || x == 0x0A {
                quote = true
                break
            }
            if quote { out.append(0x22) }
            // = + - @ tab CR: all ASCII, so the first byte is the first scalar.
            if protectFormulas, let f = b.first, f == 0x3D || f == 0x2B || f == 0x2D || f == 0x40 || f == 0x09 || f == 0x0D {
                out.append(0x27)
            }
            if quote {
                for x in b {
                    out.append(x)
                    if x == 0x22 { out.append(0x22) }
                }
                out.append(0x22)
            } else {
                out.append(contentsOf: b)
            }
        }
    }

    /// One whole record with its CRLF.
    public static func record(_ fields: [String], protectFormulas: Bool = true) -> String {
        fields.map { field($0, protectFormulas: protectFormulas) }.joined(separator: ",") + "\r\n"
    }
}

extension String {
    /// Replaces every `target` scalar with `replacement` (no Foundation needed in Web).
    fileprivate func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            if scalar == target { out.append(replacement) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
