import HTTP
import Testing
@testable import Web

@Suite struct URLEncodedFormTests {
    @Test func decodesPlusPercentRepeatedAndEmpty() throws {
        let form = try URLEncodedForm.parse(Array("a=1+2&b=%20x%2By&c=&d&a=3&&e=%C3%A9".utf8))
        #expect(form["a"] == "1 2")
        #expect(form.values("a") == ["1 2", "3"])
        #expect(form["b"] == " x+y")
        #expect(form["c"] == "")
        #expect(form["d"] == "")
        #expect(form["e"] == "é")
        #expect(form["missing"] == nil)
        #expect(form.count == 6)
    }

    @Test(arguments: ["a=%zz", "a=%", "a=%4", "%G1=x", "a=%FF"])
    func malformedEncodingThrows(_ body: String) {
        #expect(throws: FormError.malformedEncoding) { try URLEncodedForm.parse(Array(body.utf8)) }
    }

    @Test func limits() {
        let many = (0..<11).map { "f\($0)=v" }.joined(separator: "&")
        #expect(throws: FormError.tooManyFields) {
            try URLEncodedForm.parse(Array(many.utf8), limits: FormLimits(maxFields: 10))
        }
        #expect(throws: FormError.fieldTooLarge) {
            try URLEncodedForm.parse(Array("a=\(String(repeating: "x", count: 101))".utf8), limits: FormLimits(maxValueBytes: 100))
        }
        #expect(throws: FormError.fieldTooLarge) {
            try URLEncodedForm.parse(Array("\(String(repeating: "n", count: 300))=1".utf8))
        }
    }

    func app() -> WebApplication {
        var router = Router()
        router.post("/form") { req in
            let form = try req.form(limits: FormLimits(maxFields: 5))
            return .text(form.map { "\($0.name)=\($0.value)" }.joined(separator: ";"))
        }
        return WebApplication(router: router, templates: try? testTemplates(), logger: LogCapture().logger)
    }

    @Test func formErrorsBecome4xxPages() {
        let app = app()
        #expect(app.respond(to: formRequest("/form", "name=Ada+L&x=%2F")).bodyText == "name=Ada L;x=/")
        let bad = app.respond(to: formRequest("/form", "name=%zz"))
        #expect(bad.status == .badRequest)
        #expect(bad.bodyText.contains("The form data could not be read."))
        #expect(app.respond(to: formRequest("/form", "a&b&c&d&e&f")).status == .payloadTooLarge)
        let json = request(.POST, "/form", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(app.respond(to: json).status == .unsupportedMediaType)
        // Content-Type parameters and case are accepted.
        let withCharset = request(
            .POST, "/form", headers: [("Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8")],
            body: Array("k=v".utf8))
        #expect(app.respond(to: withCharset).bodyText == "k=v")
    }

    @Test func lenientQueryKeepsMalformedEscapes() {
        let q = URLEncodedForm.parseQuery("a=%zz&b=%41&c")
        #expect(q["a"] == "%zz")
        #expect(q["b"] == "A")
        #expect(q["c"] == "")
    }

    @Test func theQueryParsedOnBytesIsTheOneParsedThroughTheUTF8View() {
        // Pieces a query is made of, malformed ones included; joined at random, both parsers
        // must give the same pairs in the same order, and honour the field limit alike.
        let pieces = ["a=1", "external_id=RF-0500000", "from=2026-06-01", "b=%41%42", "c=%zz", "d=%4", "e=%", "f",
                      "=v", "g=", "h=1+2", "i==x", "j=a=b", "%C3%A9=%C3%A9", "k=%FF%FE", "l=\u{e9}t\u{e9}", "", "m=+", "n=%2B%26%3D"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let n = Int.random(in: 0...8, using: &rng)
            var query = (0..<n).map { _ in pieces.randomElement(using: &rng)! }.joined(separator: "&")
            if Bool.random(using: &rng) { query += "&" }
            if Bool.random(using: &rng) { query = "&" + query }
            let limit = Int.random(in: 1...10, using: &rng)
            let bytes = URLEncodedForm.parseQuery(query, maxFields: limit).pairs
            let view = Self.parseQueryThroughView(query, maxFields: limit)
            #expect(bytes.map(\.name) == view.map(\.name), "\(query)")
            #expect(bytes.map(\.value) == view.map(\.value), "\(query)")
        }
        let form = URLEncodedForm.parseQuery("external_id=RF%2D1&from=2026-06-01&to=&x")
        #expect(form.pairs.map(\.name) == ["external_id", "from", "to", "x"])
        #expect(form.pairs.map(\.value) == ["RF-1", "2026-06-01", "", ""])
    }

    /// The query parse as it was before it read bytes where they lie, over the string's
    /// UTF-8 view with the generic `split`: what the byte parser is compared with.
    static func parseQueryThroughView(_ query: String, maxFields: Int) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        for piece in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if pairs.count >= maxFields { break }
            let eq = piece.firstIndex(of: UInt8(ascii: "="))
            let rawName = piece[piece.startIndex..<(eq ?? piece.endIndex)]
            let rawValue = eq.map { piece[piece.index(after: $0)...] } ?? piece[piece.endIndex...]
            pairs.append((name: PercentDecoding.decodeLeniently(rawName, plusAsSpace: true),
                          value: PercentDecoding.decodeLeniently(rawValue, plusAsSpace: true)))
        }
        return pairs
    }
}

@Suite struct MultipartTests {
    static let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    static let contentType = "multipart/form-data; boundary=\(boundary)"

    static func body(_ parts: [String], close: Bool = true) -> [UInt8] {
        var s = "preamble is ignored\r\n"
        for p in parts { s += "--\(boundary)\r\n\(p)\r\n" }
        if close { s += "--\(boundary)--\r\n" }
        return Array(s.utf8)
    }

    @Test func twoFieldsAndAFile() throws {
        let fileContent = "line one\r\n--not-the-boundary\r\nline three\r\n"
        let body = Self.body([
            "Content-Disposition: form-data; name=\"title\"\r\n\r\nHello, world",
            "Content-Disposition: form-data; name=\"note\"\r\n\r\nsecond\r\nline",
            "Content-Disposition: form-data; name=\"cert\"; filename=\"my \\\"cert\\\";.pem\"\r\nContent-Type: application/x-pem-file\r\n\r\n\(fileContent)",
        ])
        let form = try MultipartForm.parse(body: body, contentType: Self.contentType)
        #expect(form.parts.count == 3)
        #expect(form["title"] == "Hello, world")
        #expect(form["note"] == "second\r\nline")
        let file = try #require(form.file("cert"))
        #expect(file.filename == "my \"cert\";.pem")
        #expect(file.contentType == "application/x-pem-file")
        #expect(file.body == Array(fileContent.utf8))
        #expect(form["cert"] == nil)  // files are not text fields
    }

    @Test func quotedBoundaryAndBinaryContent() throws {
        let bytes: [UInt8] = [0, 1, 2, 13, 10, 45, 45, 255, 13]
        var body = Array("--xyz\r\nContent-Disposition: form-data; name=\"bin\"; filename=\"b.bin\"\r\n\r\n".utf8)
        body += bytes
        body += Array("\r\n--xyz--".utf8)
        let form = try MultipartForm.parse(body: body, contentType: "multipart/form-data; boundary=\"xyz\"")
        #expect(form.file("bin")?.body == bytes)
    }

    @Test func missingBoundary() {
        #expect(throws: MultipartError.missingBoundary) {
            try MultipartForm.parse(body: Self.body(["Content-Disposition: form-data; name=\"a\"\r\n\r\nx"]), contentType: "multipart/form-data")
        }
        #expect(throws: MultipartError.unsupportedContentType) {
            try MultipartForm.parse(body: [], contentType: "text/plain")
        }
    }

    @Test func truncatedBody() {
        let full = Self.body(["Content-Disposition: form-data; name=\"a\"\r\n\r\nvalue"])
        for cut in [10, 40, 60, full.count - 30, full.count - 4] {
            #expect(throws: MultipartError.self) {
                try MultipartForm.parse(body: Array(full[0..<cut]), contentType: Self.contentType)
            }
        }
        // Without the closing delimiter.
        #expect(throws: MultipartError.malformed) {
            try MultipartForm.parse(body: Self.body(["Content-Disposition: form-data; name=\"a\"\r\n\r\nvalue"], close: false), contentType: Self.contentType)
        }
    }

    @Test func malformedParts() {
        // No Content-Disposition name.
        #expect(throws: MultipartError.malformed) {
            try MultipartForm.parse(body: Self.body(["Content-Type: text/plain\r\n\r\nx"]), contentType: Self.contentType)
        }
        // Header line without a colon.
        #expect(throws: MultipartError.malformed) {
            try MultipartForm.parse(body: Self.body(["Content-Disposition form-data\r\n\r\nx"]), contentType: Self.contentType)
        }
        // Boundary never appears.
        #expect(throws: MultipartError.malformed) {
            try MultipartForm.parse(body: Array("hello".utf8), contentType: Self.contentType)
        }
    }

    @Test func tooManyPartsAndTooLargePart() {
        let parts = (0..<5).map { "Content-Disposition: form-data; name=\"f\($0)\"\r\n\r\nv" }
        #expect(throws: MultipartError.tooManyParts) {
            try MultipartForm.parse(body: Self.body(parts), contentType: Self.contentType, limits: MultipartLimits(maxParts: 4))
        }
        #expect(throws: MultipartError.partTooLarge) {
            try MultipartForm.parse(
                body: Self.body(["Content-Disposition: form-data; name=\"a\"\r\n\r\n" + String(repeating: "x", count: 11)]),
                contentType: Self.contentType, limits: MultipartLimits(maxPartBytes: 10))
        }
    }

    @Test func throughTheApp() {
        var router = Router()
        router.post("/upload", bodyLimit: 1 << 20) { req in
            let form = try req.multipart(limits: MultipartLimits(maxParts: 2))
            return .text("\(form["title"] ?? "-"):\(form.file("doc")?.body.count ?? -1)")
        }
        let app = WebApplication(router: router, templates: try? testTemplates(), logger: LogCapture().logger)
        let ok = Self.body([
            "Content-Disposition: form-data; name=\"title\"\r\n\r\nT",
            "Content-Disposition: form-data; name=\"doc\"; filename=\"d.txt\"\r\n\r\n12345",
        ])
        let headers = [("Content-Type", Self.contentType)]
        #expect(app.respond(to: request(.POST, "/upload", headers: headers, body: ok)).bodyText == "T:5")
        #expect(app.respond(to: request(.POST, "/upload", headers: headers, body: Array(ok.dropLast(10)))).status == .badRequest)
        let three = Self.body((0..<3).map { "Content-Disposition: form-data; name=\"f\($0)\"\r\n\r\nv" })
        #expect(app.respond(to: request(.POST, "/upload", headers: headers, body: three)).status == .payloadTooLarge)
        #expect(app.respond(to: request(.POST, "/upload", headers: [("Content-Type", "multipart/form-data")], body: ok)).status == .badRequest)
    }
}
