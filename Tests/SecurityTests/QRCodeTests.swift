import Testing
@testable import Security

@Suite struct QRCodeTests {
    static let url = TOTP.otpauthURL(secret: bytes("12345678901234567890"), account: "alice@example.com", issuer: "Acme Pay")

    /// Whether the 7×7 finder pattern (dark ring, light ring, dark 3×3 core) sits at (row, col),
    /// with its light separator on the inner sides.
    func finderPattern(_ m: [[Bool]], row: Int, col: Int) -> Bool {
        for y in 0..<7 {
            for x in 0..<7 {
                let ring = max(abs(y - 3), abs(x - 3))
                let expected = ring != 2
                if m[row + y][col + x] != expected { return false }
            }
        }
        return true
    }

    @Test func modulesHaveFinderPatterns() throws {
        let m = try QRCode.modules(for: Self.url)
        let width = m.count
        #expect(width >= 21 && (width - 21) % 4 == 0)
        #expect(m.allSatisfy { $0.count == width })
        #expect(finderPattern(m, row: 0, col: 0))
        #expect(finderPattern(m, row: 0, col: width - 7))
        #expect(finderPattern(m, row: width - 7, col: 0))
        #expect(!finderPattern(m, row: width - 7, col: width - 7))
        // Separators: row and column 7 next to the top-left pattern are light.
        #expect((0..<8).allSatisfy { !m[7][$0] && !m[$0][7] })
        // Timing pattern on row 6 alternates between the finder patterns.
        #expect((8..<(width - 8)).allSatisfy { m[6][$0] == ($0 % 2 == 0) })
        #expect((8..<(width - 8)).allSatisfy { m[$0][6] == ($0 % 2 == 0) })
        // Masking keeps the dark share near half; reading other bits than bit 0 would not.
        let dark = m.joined().filter { $0 }.count
        #expect((0.35...0.65).contains(Double(dark) / Double(width * width)), "\(dark) of \(width * width)")
    }

    @Test func smallestSymbolForShortText() throws {
        #expect(try QRCode.modules(for: "hi").count == 21)
    }

    @Test func svgIsCompactAndMatchesTheModules() throws {
        let m = try QRCode.modules(for: Self.url)
        let svg = try QRCode.svg(for: Self.url, moduleSize: 4, border: 4)
        let size = (m.count + 8) * 4
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains("viewBox=\"0 0 \(size) \(size)\""))
        #expect(svg.contains("shape-rendering=\"crispEdges\""))
        #expect(svg.contains("role=\"img\""))
        #expect(svg.contains("aria-label=\"QR code\""))
        #expect(svg.contains("fill=\"#fff\""))
        #expect(svg.components(separatedBy: "<path").count == 2)
        #expect(!svg.contains("<script") && !svg.contains("href") && !svg.contains("otpauth"))
        #expect(!svg.contains("\n"))

        // Redraw the path: it must paint exactly the dark modules, offset by the border.
        let d = svg.components(separatedBy: " d=\"")[1].components(separatedBy: "\"")[0]
        var painted = Set<[Int]>()
        for command in d.split(separator: "M") {
            // "x yhRUNv4h-RUNz"
            let parts = command.split(whereSeparator: { "hvz ".contains($0) }).map { Int($0)! }
            let (x, y, run) = (parts[0], parts[1], parts[2])
            #expect(parts[3] == 4 && parts[4] == -run)
            #expect(x % 4 == 0 && y % 4 == 0 && run % 4 == 0)
            for i in 0..<(run / 4) { painted.insert([y / 4 - 4, x / 4 - 4 + i]) }
        }
        var dark = Set<[Int]>()
        for (y, row) in m.enumerated() { for (x, on) in row.enumerated() where on { dark.insert([y, x]) } }
        #expect(painted == dark)
        // Runs are merged: fewer path commands than dark modules.
        #expect(d.split(separator: "M").count < dark.count)
    }

    @Test func svgDimensions() throws {
        let width = try QRCode.modules(for: "hi").count
        let svg = try QRCode.svg(for: "hi", moduleSize: 3, border: 2, label: "Scan <me> & \"enrol\"")
        let size = (width + 4) * 3
        #expect(svg.contains("viewBox=\"0 0 \(size) \(size)\""))
        #expect(svg.contains("aria-label=\"Scan &lt;me&gt; &amp; &quot;enrol&quot;\""))
    }

    @Test func badInputThrows() {
        #expect(throws: QRCodeError.containsNUL) { try QRCode.modules(for: "a\u{0}b") }
        #expect(throws: QRCodeError.invalidDimensions) { try QRCode.svg(for: "a", moduleSize: 0) }
        #expect(throws: QRCodeError.invalidDimensions) { try QRCode.svg(for: "a", border: -1) }
        #expect(throws: QRCodeError.self) { try QRCode.modules(for: String(repeating: "x", count: 5000)) }
    }
}
