import Foundation
import HTTP
import Mustache
import Synchronization

/// The site's Mustache templates, loaded once at start-up, and page rendering.
///
/// Every `*.mustache` file under the directory is registered under its relative path
/// without the extension: `Templates/orgs/show.mustache` is `orgs/show`, and any
/// template can include another as a partial by that name (`{{> _layout/nav}}`).
/// Mustache's template inheritance (`{{< parent}}{{$block}}…{{/block}}{{/parent}}`) also
/// works. Values are HTML-escaped (`{{name}}`); `{{{name}}}` is raw and must only be used
/// for HTML the code built itself.
///
/// `render(page:context:request:)` renders the page, then the layout (by default
/// `_layout/layout`) with the page's HTML in `{{{content}}}`. Both see, besides the view
/// model's own values:
/// - `requestId`;
/// - `flash`: the flash messages carried to this request (see ``FlashMiddleware``),
///   each with `kind`, `text` and `isSuccess`/`isInfo`/`isWarning`/`isError`;
/// - whatever middleware put in `request.templateValues` (e.g. `csrfToken`).
/// The view model wins when a name exists in both.
///
/// View models: swift-mustache finds a struct's properties with `Mirror`, which is slow
/// for large pages. Prefer dictionaries (`[String: Any]`) or conform view models to
/// ``ViewModel`` (swift-mustache's `MustacheParent`: `func child(named:) -> Any?`).
public struct Templates: Sendable {
    public static let defaultLayout = "_layout/layout"

    public let library: MustacheLibrary
    private let fragments = FragmentCache()
    private var coded: [String: any CodedLayout] = [:]

    /// A missing template (a 500 when a handler asks for it) or a parse error at start-up.
    public enum Error: Swift.Error, CustomStringConvertible {
        case notFound(String)
        case parse(file: String, message: String)
        public var description: String {
            switch self {
            case .notFound(let name): "template not found: \(name)"
            case .parse(let file, let message): "template \(file): \(message)"
            }
        }
    }

    /// Loads and parses every `*.mustache` file under `directory` (recursively).
    /// Throws on a parse error, naming the file.
    public init(directory: String) throws {
        var sources: [String: String] = [:]
        let base = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(atPath: base.path) else {
            throw Error.notFound(directory)
        }
        for case let relative as String in enumerator where relative.hasSuffix(".mustache") {
            let url = base.appendingPathComponent(relative)
            let text = try String(contentsOf: url, encoding: .utf8)
            sources[String(relative.dropLast(".mustache".count))] = text
        }
        try self.init(sources: sources)
    }

    /// Templates from strings, by name (handy in tests).
    public init(sources: [String: String]) throws {
        MustacheContentTypes.register(FastHTMLContentType(), named: FastHTMLContentType.name)
        var library = MustacheLibrary()
        for (name, text) in sources.sorted(by: { $0.key < $1.key }) {
            do {
                try library.register(FastHTMLContentType.pragma + text, named: name)
            } catch {
                throw Error.parse(file: name + ".mustache", message: String(describing: error))
            }
        }
        self.library = library
    }

    /// Whether a template (or a layout made in code) called `name` exists.
    public func contains(_ name: String) -> Bool {
        coded[name] != nil || library.getTemplate(named: name) != nil
    }

    /// Renders the layout `name` with `layout` instead of a template from now on.
    public mutating func use(_ layout: any CodedLayout, as name: String = Templates.defaultLayout) {
        coded[name] = layout
    }

    /// Renders `page` (and the layout around it, unless `layout` is nil) into a string.
    ///
    /// Each template is rendered with one context object, ``RenderContext``, that answers
    /// from the view model first and the request's globals second: swift-mustache then finds
    /// every name at the top of its stack with one cast, instead of walking a stack of
    /// wrappers, which roughly halves a page's render time.
    public func renderString(page: String, context: Any, request: Request? = nil, layout: String? = Templates.defaultLayout) throws -> String {
        switch try renderParts(page: page, context: context, request: request, layout: layout) {
        case .whole(let html): html
        case .wrapped(let before, let html, let after): before.string + html + after
        }
    }

    /// A rendered page: whole, or a coded layout's parts around the page's HTML, joined only
    /// where they are sent (``bytes(_:)``), so a large page is copied once, not three times.
    private enum Rendered {
        case whole(String)
        case wrapped(before: HTMLWriter, html: String, after: String)
    }

    private func renderParts(page: String, context: Any, request: Request?, layout: String?) throws -> Rendered {
        guard let pageTemplate = library.getTemplate(named: page) else { throw Error.notFound(page) }
        let codedLayout = layout.flatMap { coded[$0] }
        var layoutTemplate: MustacheTemplate?
        if let layout, codedLayout == nil {
            guard let t = library.getTemplate(named: layout) else { throw Error.notFound(layout) }
            layoutTemplate = t
        }
        let root = RenderContext(viewModel: context, request: request)
        let html: String
        if let fixed = context as? FixedViewModel {
            // The page's own HTML depends on nothing but the view model: render it once.
            let key = page + "\u{0}" + fixed.fragmentKey
            if let cached = fragments.cache.withLock({ $0[key] }) {
                html = cached
            } else {
                html = pageTemplate.render(root, library: library)
                fragments.cache.withLock { $0[key] = html }
            }
        } else {
            html = pageTemplate.render(root, library: library)
        }
        root.content = html
        if let codedLayout {
            let (before, after) = codedLayout.parts(value: root.child(named:))
            return .wrapped(before: before, html: html, after: after)
        }
        guard let layoutTemplate else { return .whole(html) }
        return .whole(layoutTemplate.render(root, library: library))
    }

    private static func bytes(_ rendered: Rendered) -> [UInt8] {
        switch rendered {
        case .whole(let html): return Array(html.utf8)
        case .wrapped(let before, var html, let after): return html.withUTF8 { page in before.withBytes { joined($0, page, after) } }
        }
    }

    /// A coded layout's parts around a page's bytes, copied once into the response's.
    private static func joined(_ before: UnsafeBufferPointer<UInt8>, _ page: UnsafeBufferPointer<UInt8>, _ after: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(before.count + page.count + after.utf8.count)
        out.append(contentsOf: before)
        out.append(contentsOf: page)
        out.append(contentsOf: after.utf8)
        return out
    }

    /// The layout alone around `content`, HTML the caller rendered (and may have kept) itself:
    /// `context` answers the layout's own names (`title`), the request its globals.
    public func render(content: String, context: some ViewModel, request: Request, status: HTTPStatus = .ok,
                       layout: String = Templates.defaultLayout) throws -> HTTPResponse {
        let root = RenderContext(parent: context, request: request)
        root.content = content
        let rendered: Rendered
        if let codedLayout = coded[layout] {
            let (before, after) = codedLayout.parts(value: root.child(named:))
            rendered = .wrapped(before: before, html: content, after: after)
        } else {
            guard let layoutTemplate = library.getTemplate(named: layout) else { throw Error.notFound(layout) }
            rendered = .whole(layoutTemplate.render(root, library: library))
        }
        return HTTPResponse(status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: .bytes(Self.bytes(rendered)))
    }

    /// The layout around a page written in code (``HTMLWriter``), for pages too hot for a
    /// template: `context` answers the layout's own names (`title`), the request its globals.
    /// With a coded layout the page's bytes are copied once, into the response.
    public func render(written page: HTMLWriter, context: some ViewModel, request: Request, status: HTTPStatus = .ok,
                       layout: String = Templates.defaultLayout) throws -> HTTPResponse {
        guard let codedLayout = coded[layout] else {
            return try render(content: page.string, context: context, request: request, status: status, layout: layout)
        }
        let root = RenderContext(parent: context, request: request)
        let (before, after) = codedLayout.parts(value: root.child(named:))
        return HTTPResponse(status: status, headers: ["Content-Type": "text/html; charset=utf-8"],
                            body: .bytes(page.withBytes { p in before.withBytes { Self.joined($0, p, after) } }))
    }

    /// Renders a page as a `text/html; charset=utf-8` response.
    public func render(
        page: String, context: Any, request: Request? = nil, status: HTTPStatus = .ok,
        layout: String? = Templates.defaultLayout
    ) throws -> HTTPResponse {
        let rendered = try renderParts(page: page, context: context, request: request, layout: layout)
        return HTTPResponse(status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: .bytes(Self.bytes(rendered)))
    }

}

/// A layout made in code instead of a template: every page of a site goes through its layout,
/// and through swift-mustache each of its values costs a dynamic cast or more (a fifth of a
/// cached dashboard view's time). It renders what the template would, from the same values.
public protocol CodedLayout: Sendable {
    /// Writes what goes before the page's HTML into `before` and returns what goes after it.
    /// `value` answers names as a template layout sees them (the view model first, then the
    /// request's globals: `requestId`, `flash`, and what middleware put in `templateValues`).
    /// The part before stays bytes until it is sent: made a `String`, its UTF-8 was validated
    /// again (25,000 instructions for the site's header).
    func write(value: (String) -> Any?, into before: inout HTMLWriter) -> String
}

extension CodedLayout {
    /// Both parts as text.
    public func wrap(value: (String) -> Any?) -> (before: String, after: String) {
        let (before, after) = parts(value: value)
        return (before.string, after)
    }

    /// The part before the page, written, and the part after it.
    func parts(value: (String) -> Any?) -> (before: HTMLWriter, after: String) {
        var before = HTMLWriter(capacity: 4096)
        let after = write(value: value, into: &before)
        return (before, after)
    }
}

/// A view model whose values are found by name without `Mirror` reflection: implement
/// `func child(named: String) -> Any?`. (This is swift-mustache's `MustacheParent`; feature
/// code uses this name and need not import Mustache.) Dictionaries with `String` keys
/// already conform.
///
/// ```swift
/// struct KeyRow: ViewModel {
///     let name: String, prefix: String, createdAt: String
///     func child(named: String) -> Any? {
///         switch named {
///         case "name": name
///         case "prefix": prefix
///         case "createdAt": createdAt
///         default: nil
///         }
///     }
/// }
/// ```
public typealias ViewModel = MustacheParent

/// HTML escaping for every template, the same five characters as swift-mustache's own but
/// done on bytes, and free for strings that need none. swift-mustache's escaper looks each
/// Character up in a dictionary, which was a fifth of a page render's time under load.
/// Each template starts with this content-type pragma, which partials inherit.
struct FastHTMLContentType: MustacheContentType {
    static let name = "PORTAL_HTML"
    static let pragma = "{{% CONTENT_TYPE: PORTAL_HTML}}"
    func escapeText(_ text: String) -> String { htmlEscape(text) }
}

/// The one object a page and its layout are rendered with: the view model's values first,
/// then the request's globals (`requestId`, `flash`, what middleware added), then the page's
/// HTML as `content` for the layout.
final class RenderContext: MustacheParent {
    private let lookup: (String) -> Any?
    /// The request's globals, read where they lie: merged into one dictionary, the request's
    /// values were copied and the copy grown twice for `requestId` and `flash`, ~7,000
    /// instructions a page for the half-dozen names a layout asks.
    private let templateValues: [String: Any]
    private let requestID: String?
    private let flash: [FlashMessage]?
    var content: String?

    /// `request` nil: no globals. The flash is read now, as the page is rendered, whether or
    /// not a template shows it (reading it is what clears it from the session).
    private init(request: Request?, lookup: @escaping (String) -> Any?) {
        templateValues = request?.templateValues ?? [:]
        requestID = request?.id
        flash = request?.flashMessages
        self.lookup = lookup
    }

    /// A view model known to be a ``ViewModel`` where it is passed: asked as `Any` whether it
    /// is one, the dynamic cast cost ~1,700 instructions a page.
    convenience init(parent: some MustacheParent, request: Request?) {
        self.init(request: request) { parent.child(named: $0) }
    }

    convenience init(viewModel: Any, request: Request?) {
        // Dictionaries with `String` keys are parents too (`child(named:)` is their subscript).
        // Asked first, a cast to `[String: Any]` cost a page written in code a microsecond to fail.
        if let parent = viewModel as? MustacheParent {
            self.init(parent: parent, request: request)
        } else {
            // A plain struct: swift-mustache's own reflection, once per name.
            let mirror = Mirror(reflecting: viewModel)
            self.init(request: request) { name in
                guard let value = mirror.children.first(where: { $0.label == name })?.value else { return nil }
                let m = Mirror(reflecting: value)
                guard m.displayStyle == .optional else { return value }
                return m.children.first?.value // nil for .none
            }
        }
    }

    func child(named name: String) -> Any? {
        if let v = lookup(name) { return v }
        if name == "content", let content { return content }
        if let requestID {
            if name == "flash" { return flash }
            if name == "requestId" { return requestID }
        }
        return templateValues[name]
    }
}

/// A template value computed only if a template uses it, and then once: e.g. the CSRF
/// token of a visitor without a session, whose cookie is set only for pages with a form.
public final class LazyTemplateValue: MustacheCustomRenderable, @unchecked Sendable {
    // Used by one request on one worker thread at a time.
    private let make: () -> String
    private var value: String?

    public init(_ make: @escaping () -> String) { self.make = make }

    /// Whether a template (or code) has asked for the value.
    public var wasUsed: Bool { value != nil }

    public var text: String {
        if let value { return value }
        let v = make()
        value = v
        return v
    }

    public var renderText: String { text }
    public var isNull: Bool { false }
}

/// A view model whose page renders to the same HTML every time, whoever asks: its page
/// is rendered once and kept (the layout around it, with the flash messages and who is
/// signed in, is still rendered per request). Its page template must use only the view
/// model's values, never request values such as `csrfToken`, and `fragmentKey` must change
/// whenever the values do.
public protocol FixedViewModel {
    var fragmentKey: String { get }
}

/// Rendered pages of ``FixedViewModel``s, by template and key.
final class FragmentCache: Sendable {
    let cache = Mutex<[String: String]>([:])
}
