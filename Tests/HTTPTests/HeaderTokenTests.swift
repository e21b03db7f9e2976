import Testing
@testable import HTTP

/// `hasToken`: an element of a comma-separated header list (`Connection`, `Vary`,
/// `Cache-Control`), compared without case, spaces and tabs around it ignored, over every
/// field of that name.
@Suite struct HeaderTokenTests {
    @Test func findsWholeElementsOnly() {
        let h: HTTPHeaders = ["Cache-Control": "private,\tNo-Transform , max-age=0", "Vary": "Cookie", "vary": " accept-encoding"]
        #expect(h.hasToken("no-transform", in: "cache-control"))
        #expect(h.hasToken("max-age=0", in: "Cache-Control"))
        #expect(h.hasToken("PRIVATE", in: "Cache-Control"))
        #expect(h.hasToken("Accept-Encoding", in: "Vary"))  // in the second Vary field
        #expect(!h.hasToken("no-transformx", in: "Cache-Control"))
        #expect(!h.hasToken("transform", in: "Cache-Control"))
        #expect(!h.hasToken("max-age", in: "Cache-Control"))
        #expect(!h.hasToken("Cookie", in: "Cache-Control"))
        #expect(!h.hasToken("close", in: "Connection"))
    }

    @Test func emptyElementsAndEdges() {
        #expect(HTTPHeaders.list("", contains: "a") == false)
        #expect(HTTPHeaders.list(",,", contains: "a") == false)
        #expect(HTTPHeaders.list(", a ,", contains: "a"))
        #expect(HTTPHeaders.list("a", contains: "a"))
        #expect(HTTPHeaders.list("b,a", contains: "A"))
        #expect(HTTPHeaders.list("ab", contains: "a") == false)
        #expect(HTTPHeaders.list(" \t ", contains: "a") == false)
        // Case folds letters only: `[` is not `{`.
        #expect(HTTPHeaders.list("x[", contains: "x{") == false)
    }
}

/// `firstValues(of:)`: many names in one pass, each answered as the subscript would.
@Suite struct HeaderFirstValuesTests {
    @Test func answersEachNameAsTheSubscriptDoesInTheNamesOrder() {
        let h: HTTPHeaders = ["x-b": "1", "Content-Type": "a/b", "X-A": "2", "x-b": "3", "X-[": "bracket", "X-Long-Name": "4"]
        let names = HTTPHeaders.Names(["X-A", "x-{", "X-B", "Missing", "CONTENT-TYPE", "X-A"])
        var got: [(Int, String)] = []
        h.firstValues(of: names) { got.append(($0, $1)) }
        #expect(got.map(\.0) == [0, 2, 4])
        #expect(got.map(\.1) == ["2", "1", "a/b"])
        for (n, v) in got { #expect(h[names.names[n]] == v) }
        // A name asked twice is answered once; none present, nothing called.
        var none = 0
        HTTPHeaders().firstValues(of: names) { _, _ in none += 1 }
        #expect(none == 0)
    }

    /// Random fields, repeated ones among them, and names of equal lengths whose first bytes
    /// differ only in the bit that folds case (`[` and `{`, `@` and `` ` ``, which are not
    /// letters and must not match): each name gets the first field of that name regardless of
    /// its letters' case, in the names' order. The expected answer is worked out here, not
    /// with the comparison the code under test uses.
    @Test func randomFieldsAndNamesAreAnsweredAsTheSubscriptAnswersThem() {
        let pool = ["X-A", "x-a", "X-B", "[-A", "{-A", "@-A", "`-A", "Content-Type", "content-type", "Retry-After", "RETRY-AFTER",
                    "RateLimit-Limit", "RateLimit-Reset", "ratelimit-reset", "A", "a", "B", "Ab", "aB", "X-Long-Name-1", "X-Long-Name-2"]
        var rng = SystemRandomNumberGenerator()
        for round in 0..<3_000 {
            var h = HTTPHeaders()
            for i in 0..<Int.random(in: 0...10, using: &rng) { h.add(pool.randomElement(using: &rng)!, "v\(i)") }
            // Names asked once each (a middleware's list; asking one twice is the test above).
            var asked: [String] = []
            for _ in 0..<Int.random(in: 0...8, using: &rng) {
                let name = pool.randomElement(using: &rng)!
                if !asked.contains(where: { $0.lowercased() == name.lowercased() }) { asked.append(name) }
            }
            var got: [(Int, String)] = []
            h.firstValues(of: HTTPHeaders.Names(asked)) { got.append(($0, $1)) }
            var expected: [(Int, String)] = []
            // The pool is ASCII: `lowercased()` folds letters and nothing else.
            for (n, name) in asked.enumerated() {
                if let v = h.first(where: { $0.name.lowercased() == name.lowercased() })?.value { expected.append((n, v)) }
            }
            #expect(got.map(\.0) == expected.map(\.0) && got.map(\.1) == expected.map(\.1), "round \(round): \(h) asked \(asked)")
            if got.map(\.0) != expected.map(\.0) { return }
        }
    }
}
