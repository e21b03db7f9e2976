import CQRencode
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from `QRCode`.
public enum QRCodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text contains a NUL byte, which a C string cannot carry.
    case containsNUL
    /// `moduleSize` below 1, `border` below 0, or either absurdly large.
    case invalidDimensions
    /// libqrencode could not encode the text (too long for a QR code, or out of memory).
    case encodingFailed(Int32)

    public var description: String {
        switch self {
        case .containsNUL: "QR code text contains a NUL byte"
        case .invalidDimensions: "QR code module size or border out of range"
        case .encodingFailed(let code): "QR encoding failed (errno \(code))"
        }
    }
}

/// QR codes as inline SVG, for the TOTP enrolment page, made with libqrencode.
///
/// The SVG is rendered on the server so the page works without JavaScript and needs no image
/// request (the code holds the TOTP secret, so it should not leave the page in a URL or be
/// cached as a separate resource). The output is self-contained and inert: no scripts, no
/// external references, no text from the input (the `aria-label` is a fixed, escaped
/// caption, never the secret-bearing URL). Error correction level M, byte mode.
public enum QRCode {
    /// The modules of the symbol for `text`: `true` is dark. Rows top to bottom.
    public static func modules(for text: String) throws(QRCodeError) -> [[Bool]] {
        guard !text.utf8.contains(0) else { throw .containsNUL }
        errno = 0
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw .encodingFailed(errno)
        }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        guard width > 0, let data = code.pointee.data else { throw .encodingFailed(0) }
        var rows: [[Bool]] = []
        rows.reserveCapacity(width)
        for y in 0..<width {
            var row = [Bool](repeating: false, count: width)
            for x in 0..<width {
                // Bit 0 of each byte is the module's colour; other bits are encoder metadata.
                row[x] = data[y * width + x] & 1 == 1
            }
            rows.append(row)
        }
        return rows
    }

    /// A standalone SVG of the QR code for `text`: `moduleSize` pixels per module and a quiet
    /// zone of `border` modules (4 is what the standard asks for), a white background and one
    /// `<path>` holding every dark module (horizontal runs merged).
    public static func svg(for text: String, moduleSize: Int = 4, border: Int = 4, label: String = "QR code") throws(QRCodeError) -> String {
        guard (1...100).contains(moduleSize), (0...100).contains(border) else { throw .invalidDimensions }
        let grid = try modules(for: text)
        let size = (grid.count + 2 * border) * moduleSize
        var path = ""
        for (y, row) in grid.enumerated() {
            var x = 0
            while x < row.count {
                guard row[x] else { x += 1; continue }
                let start = x
                while x < row.count && row[x] { x += 1 }
                let px = (start + border) * moduleSize
                let py = (y + border) * moduleSize
                let run = (x - start) * moduleSize
                path += "M\(px) \(py)h\(run)v\(moduleSize)h-\(run)z"
            }
        }
        return """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(size) \(size)" width="\(size)" height="\(size)" \
        shape-rendering="crispEdges" role="img" aria-label="\(escapeXML(label))">\
        <rect width="\(size)" height="\(size)" fill="#fff"/>\
        <path fill="#000" d="\(path)"/></svg>
        """
    }

    static func escapeXML(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters are not allowed in XML 1.0; drop them.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
