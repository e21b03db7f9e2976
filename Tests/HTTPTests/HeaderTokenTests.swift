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
}
