import HTTP
import Testing
import Web

struct RowModel {
    var name: String
    var amount: Int
}

struct PageModel {
    var title: String
    var rows: [RowModel]
    var userName: String?
}

struct FastRow: ViewModel {
    var name: String
    var amount: Int
    func child(named: String) -> Any? {
        switch named {
        case "name": name
        case "amount": amount
        default: nil
        }
    }
}

/// Counts how often the page asks it for values.
final class CountingFixedPage: ViewModel, FixedViewModel, @unchecked Sendable {
    var lookups = 0
    let fragmentKey: String
    init(key: String) { fragmentKey = key }
    func child(named name: String) -> Any? {
        guard name == "word" else { return nil } // the layout asks for other names
        lookups += 1
        return "fixed <copy>"
    }
}

@Suite struct TemplateTests {
    @Test func fixedViewModelsRenderTheirPageOnceButTheLayoutEveryTime() throws {
        let templates = try Templates(sources: [
            "_layout/layout": "<title>{{requestId}}</title><main>{{{content}}}</main>",
            "home": "<p>{{word}}</p>",
        ])
        let model = CountingFixedPage(key: "v1")
        let a = try templates.renderString(page: "home", context: model, request: Request(HTTPRequest(head: HTTPRequestHead(method: .GET, target: "/")), id: "first"))
        let lookupsAfterFirst = model.lookups
        let b = try templates.renderString(page: "home", context: model, request: Request(HTTPRequest(head: HTTPRequestHead(method: .GET, target: "/")), id: "second"))
        #expect(a == "<title>first</title><main><p>fixed &lt;copy&gt;</p></main>")
        #expect(b == "<title>second</title><main><p>fixed &lt;copy&gt;</p></main>")
        #expect(model.lookups == lookupsAfterFirst) // the page was not rendered again
        // A new key renders again.
        let other = CountingFixedPage(key: "v2")
        _ = try templates.renderString(page: "home", context: other)
        #expect(other.lookups > 0)
    }

    struct BracketLayout: CodedLayout {
        func write(value: (String) -> Any?, into before: inout HTMLWriter) -> String {
            before.raw(trusted: "[\(value("title") as? String ?? "-")|\(value("requestId") as? String ?? "-")|")
            return "]"
        }
    }

    /// A layout made in code replaces the template of its name, and sees what a template
    /// layout would: the view model's values, the request's globals, the page's HTML.
    @Test func aCodedLayoutRendersInsteadOfTheTemplateWithTheSameValues() throws {
        var templates = try Templates(sources: ["_layout/layout": "<template>{{{content}}}</template>", "home": "<p>{{title}}</p>"])
        templates.use(BracketLayout())
        let req = Request(HTTPRequest(head: HTTPRequestHead(method: .GET, target: "/")), id: "r1")
        #expect(try templates.renderString(page: "home", context: ["title": "Hi"], request: req) == "[Hi|r1|<p>Hi</p>]")
        #expect(try templates.render(content: "<b>kept</b>", context: ["title": "K"], request: req).bodyText == "[K|r1|<b>kept</b>]")
        #expect(try templates.render(page: "home", context: ["title": "P"], request: req).bodyText == "[P|r1|<p>P</p>]")
        // Without any template of that name, too.
        var bare = try Templates(sources: ["home": "<p>{{title}}</p>"])
        bare.use(BracketLayout(), as: "plain")
        #expect(bare.contains("plain"))
        #expect(try bare.renderString(page: "home", context: ["title": "B"], request: nil, layout: "plain") == "[B|-|<p>B</p>]")
    }

    @Test func loadsDirectoryWithSubfoldersAndPartials() throws {
        let dir = TempDir()
        dir.write("Templates/_layout/layout.mustache", "<title>{{title}}</title>{{> _layout/nav}}<main>{{{content}}}</main>")
        dir.write("Templates/_layout/nav.mustache", "<nav>{{#userName}}{{userName}}{{/userName}}{{^userName}}guest{{/userName}}</nav>")
        dir.write("Templates/orgs/show.mustache", "<h1>{{title}}</h1>{{#rows}}<p>{{name}}={{amount}}</p>{{/rows}}")
        dir.write("Templates/README.md", "not a template")
        let templates = try Templates(directory: dir.path + "/Templates")
        #expect(templates.contains("orgs/show"))
        #expect(templates.contains("_layout/nav"))
        #expect(!templates.contains("README"))

        let model = PageModel(title: "Acme & <Co>", rows: [RowModel(name: "a", amount: 1), RowModel(name: "<b>", amount: 2)], userName: nil)
        let res = try templates.render(page: "orgs/show", context: model)
        #expect(res.status == .ok)
        #expect(res.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(res.bodyText == "<title>Acme &amp; &lt;Co&gt;</title><nav>guest</nav><main><h1>Acme &amp; &lt;Co&gt;</h1><p>a=1</p><p>&lt;b&gt;=2</p></main>")
        let bare = try templates.renderString(page: "orgs/show", context: ["title": "T", "rows": [FastRow(name: "x", amount: 3)]], layout: nil)
        #expect(bare == "<h1>T</h1><p>x=3</p>")
    }

    @Test func requestValuesAreVisibleButViewModelWins() throws {
        let templates = try Templates(sources: [
            "p": "{{csrfToken}}|{{requestId}}|{{userName}}|{{#flash}}x{{/flash}}{{^flash}}none{{/flash}}",
        ])
        let req = Request(request("/"), id: "req123")
        req.templateValues["csrfToken"] = "tok\"en"
        req.templateValues["userName"] = "global"
        #expect(try templates.renderString(page: "p", context: ["userName": "page"], request: req, layout: nil) == "tok&quot;en|req123|page|none")
        #expect(try templates.renderString(page: "p", context: [String: Any](), request: req, layout: nil) == "tok&quot;en|req123|global|none")
    }

    @Test func templateInheritanceWorks() throws {
        let templates = try Templates(sources: [
            "base": "<title>{{$title}}Portal{{/title}}</title><body>{{$body}}{{/body}}</body>",
            "page": "{{<base}}{{$title}}Keys – {{org}}{{/title}}{{$body}}<p>{{org}}</p>{{/body}}{{/base}}",
        ])
        #expect(try templates.renderString(page: "page", context: ["org": "A&B"], layout: nil)
            == "<title>Keys – A&amp;B</title><body><p>A&amp;B</p></body>")
    }

    @Test func missingTemplatesAndParseErrorsThrow() throws {
        let templates = try Templates(sources: ["a": "x"])
        #expect(throws: Templates.Error.self) { try templates.render(page: "nope", context: [:]) }
        #expect(throws: Templates.Error.self) { try templates.render(page: "a", context: [:], layout: "missing/layout") }
        #expect(throws: Templates.Error.self) { try Templates(sources: ["broken": "{{#open}}never closed"]) }
    }
}
