import Testing
@testable import HTTP

/// A request target becomes a path and a query: at the first `?`, in both forms.
@Suite struct SplitTargetTests {
    @Test(arguments: [
        ("/", "/", nil),
        ("/a/b", "/a/b", nil),
        ("/a?", "/a", ""),
        ("/a?b=1&c=2", "/a", "b=1&c=2"),
        ("/a?b=?&c", "/a", "b=?&c"),
        ("/?x", "/", "x"),
        ("/%3F?q=%3F", "/%3F", "q=%3F"),
        ("http://h.example/p?q=1", "/p", "q=1"),
        ("http://h.example?q", "/", "q"),
        ("http://h.example", "/", nil),
        ("*", "*", nil),
    ] as [(String, String, String?)])
    func splits(target: String, path: String, query: String?) {
        let r = splitTarget(target)
        #expect(r.path == path)
        #expect(r.query == query)
    }
}
