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
