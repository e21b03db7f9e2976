import Synchronization
import Web

/// One entry of an organization's navigation, declared by the feature that owns the pages
/// (`TeamController.menu`, `AuditLogController.menu`…), so a new feature adds its entry beside
/// its routes and no central switch grows.
struct OrgSection: Sendable {
    /// What scope the section's pages live in.
    enum Scope: Sendable {
        /// `/orgs/:org/<path>`: the organization as a whole (team, logs, settings).
        case organization
        /// `/orgs/:org/<environment>/<path>`: one environment's data (keys, webhooks, payouts…).
        case environment
    }

    let title: String
    /// The path below the organization (or below the environment): "" for its root, no
    /// leading or trailing slash.
    let path: String
    /// The permission a member needs to see the entry (nil: every member). The page itself
    /// checks it again in its service; hiding the link is only a courtesy.
    let permission: Permission?
    /// Or: any one of these permissions shows the entry (a section several permissions open).
    var anyOf: [Permission] = []
    let scope: Scope
    /// Where the entry sits in the bar, lowest first (ties keep declaration order).
    let order: Int

    init(_ title: String, path: String, permission: Permission? = nil, scope: Scope = .organization, order: Int) {
        self.title = title
        self.path = path
        self.permission = permission
        self.scope = scope
        self.order = order
    }

    init(_ title: String, path: String, anyOf: [Permission], scope: Scope = .organization, order: Int) {
        self.init(title, path: path, permission: nil, scope: scope, order: order)
        self.anyOf = anyOf
    }

    /// Whether a member who `can` hold these permissions sees the entry.
    func isVisible(_ can: (Permission) -> Bool) -> Bool {
        if let permission { return can(permission) }
        return anyOf.isEmpty || anyOf.contains(where: can)
    }
}

/// The sections of the organization bar, and the two questions asked of them on each page:
/// which entries does this member see, and where does the Sandbox/Production switch lead.
struct OrgMenu: Sendable {
    let sections: [OrgSection]
    /// The bars made from this menu (``OrgNav``), kept by what each was made from.
    let bars = OrgNav.Kept()
    /// The environment sections below an environment's root, split into segments once,
    /// longest first: what ``switchPath(_:base:to:)`` looks for on every page.
    private let environmentPaths: [(segments: [Substring], path: String)]

    init(_ sections: [OrgSection]) {
        precondition(sections.count <= 64, "OrgNav keeps which sections a member sees in 64 bits")
        self.sections = sections.enumerated().sorted { ($0.element.order, $0.offset) < ($1.element.order, $1.offset) }.map(\.element)
        self.environmentPaths = self.sections.filter { $0.scope == .environment && !$0.path.isEmpty }
            .map { (segments: $0.path.split(separator: "/"), path: $0.path) }
            .enumerated().sorted { ($1.element.segments.count, $0.offset) < ($0.element.segments.count, $1.offset) }.map(\.element)
    }

    /// The environment of a path under `base` (`/orgs/org_…`), if it is an environment's page:
    /// the segment after `base` names it.
    static func environment(of path: String, base: String) -> Environment? {
        guard path.hasPrefix(base), path.utf8.dropFirst(base.utf8.count).first == UInt8(ascii: "/") else { return nil }
        let rest = path.utf8.dropFirst(base.utf8.count + 1)
        return Environment(rawValue: String(Substring(rest.prefix { $0 != UInt8(ascii: "/") })))
    }

    /// The same page in the other environment. Objects have their own ids in each environment,
    /// so the switch keeps the section (`/sandbox/webhooks/wh_1` → `/production/webhooks`), not
    /// the object: the longest declared environment section the path is in, or else the
    /// path's first segment. From a page outside the environments, the environment's overview.
    func switchPath(_ path: String, base: String, to target: Environment) -> String {
        let root = "\(base)/\(target.rawValue)"
        guard let current = Self.environment(of: path, base: base) else { return root }
        let rest = Substring(path.utf8.dropFirst(base.utf8.count + 1 + current.rawValue.utf8.count)).split(separator: "/")
        guard let first = rest.first else { return root }
        return root + "/" + (environmentPaths.first { rest.starts(with: $0.segments) }?.path ?? String(first))
    }

    struct Entry: Equatable {
        let title: String
        let url: String
        let current: Bool
    }

    /// The entries a member who `can` hold these permissions sees on `path`. Environment
    /// sections lead into the environment of the page, Sandbox elsewhere.
    func entries(path: String, base: String, can: (Permission) -> Bool) -> [Entry] {
        let envRoot = "\(base)/\((Self.environment(of: path, base: base) ?? .sandbox).rawValue)"
        var entries: [Entry] = []
        entries.reserveCapacity(sections.count)
        for s in sections where s.isVisible(can) {
            let root = s.scope == .environment ? envRoot : base
            let url = s.path.isEmpty ? root : root + "/" + s.path
            let current = path == url || (!s.path.isEmpty && path.hasPrefix(url) && path.utf8.dropFirst(url.utf8.count).first == UInt8(ascii: "/"))
            entries.append(Entry(title: s.title, url: url, current: current))
        }
        return entries
    }
}

/// The organization bar above an organization's pages: its name with a switcher to the
/// member's other organizations (only when there are others), the member's role apart from
/// the name, the sections the member may open, and the Sandbox/Production switch.
///
/// Made once per member's view of a page and kept: it is on every page of an organization, and
/// building its links (a dozen sections, the environment switch) and their markup was a tenth
/// of a search's time. The key holds everything the markup is made from.
struct OrgNav: Sendable {
    /// The bar's markup. No final newline: the layout's line gives it.
    let html: String

    init(access: OrgAccess, others: [(OrganizationRecord, MembershipRecord)], path: String, menu: OrgMenu) {
        // The membership alone is asked: `access.can` passed as a function copied the whole
        // access (organization, membership, user) into a context for every section.
        let member = access.member
        var visible: UInt64 = 0
        for (i, s) in menu.sections.enumerated() where s.isVisible({ member.holds($0) }) { visible |= 1 << UInt64(i) }
        let org = access.org
        let key = Key(organizationID: org.id, publicID: org.publicID, name: org.displayName,
                      hasProduction: org.hasProduction, role: member.role.title, visible: visible,
                      others: others.isEmpty ? [] : others.filter { $0.0.id != org.id }.map { $0.0.publicID + " " + $0.0.displayName }, path: path)
        if let kept = menu.bars.html(key) {
            html = kept
            return
        }
        html = Self.make(access: access, others: others, path: path, menu: menu)
        menu.bars.keep(key, html)
    }

    struct Key: Hashable, Sendable {
        let organizationID: Int64
        let publicID: String
        let name: String
        let hasProduction: Bool
        let role: String
        /// Which of the menu's sections the member sees, one bit each.
        let visible: UInt64
        /// The member's other organizations, id and name.
        let others: [String]
        let path: String
    }

    /// Bars made from one menu, at most ``limit`` (a few KB each); beyond it they are made
    /// afresh, so memory stays bounded whatever the number of pages and members in view.
    final class Kept: Sendable {
        static let limit = 1_000
        private let bars = Mutex<[Key: String]>([:])

        func html(_ key: Key) -> String? { bars.withLock { $0[key] } }

        func keep(_ key: Key, _ html: String) {
            bars.withLock { bars in
                if bars.count >= Self.limit && bars[key] == nil { bars.removeAll(keepingCapacity: true) }
                bars[key] = html
            }
        }
    }

    /// A link of the bar: a section, an organization, an environment.
    private struct Link {
        let title: String
        let url: String
        var current = false
        /// Production before support has enabled it: the link still leads to the page that
        /// says so.
        var locked = false
    }

    /// Names are escaped; the rest is ours.
    private static func make(access: OrgAccess, others: [(OrganizationRecord, MembershipRecord)], path: String, menu: OrgMenu) -> String {
        let base = "/orgs/\(access.org.publicID)"
        let others = others.filter { $0.0.id != access.org.id }.map { Link(title: $0.0.displayName, url: "/orgs/\($0.0.publicID)") }
        let sections = menu.entries(path: path, base: base, can: access.can).map { Link(title: $0.title, url: $0.url, current: $0.current) }
        let here = OrgMenu.environment(of: path, base: base)
        let environments = Environment.allCases.map { env in
            Link(title: env.title, url: menu.switchPath(path, base: base, to: env), current: env == here,
                 locked: env == .production && !access.org.hasProduction)
        }
        let name = htmlEscape(access.org.displayName)
        let role = htmlEscape(access.member.role.title)
        var s = "  <div class=\"org-bar\">\n    <div class=\"bar\">\n      <div class=\"org-id\">\n"
        if others.isEmpty {
            s += "        <a class=\"org-name\" href=\"\(htmlEscape(base))\">\(name)</a>\n"
            s += "        <span class=\"role\" title=\"Your role in \(name)\">Your role: \(role)</span>\n"
        } else {
            s += "        <details class=\"org-switcher\">\n"
            s += "          <summary><span class=\"org-name\">\(name)</span><span class=\"visually-hidden\">: switch organization</span> "
            s += "<span class=\"role\" title=\"Your role in \(name)\">Your role: \(role)</span></summary>\n"
            s += "          <div class=\"menu\">\n            <p class=\"hint\">Switch to</p>\n            <ul>\n"
            for o in others { s += "              <li><a href=\"\(htmlEscape(o.url))\">\(htmlEscape(o.title))</a></li>\n" }
            s += "            </ul>\n            <a href=\"/orgs\">All organizations</a> · <a href=\"/orgs/new\">New organization</a>\n"
            s += "          </div>\n        </details>\n"
        }
        s += "      </div>\n      <nav class=\"org-nav\" aria-label=\"Organization\">\n"
        for l in sections {
            s += "        <a href=\"\(htmlEscape(l.url))\"\(l.current ? " aria-current=\"page\"" : "")>\(htmlEscape(l.title))</a>\n"
        }
        s += "      </nav>\n      <nav class=\"env-switch\" aria-label=\"Environment\">\n"
        for l in environments {
            s += "        <a href=\"\(htmlEscape(l.url))\"\(l.current ? " aria-current=\"page\"" : "")"
            s += l.locked ? " class=\"locked\" title=\"Not enabled yet\">\(htmlEscape(l.title))<span class=\"visually-hidden\"> (not enabled yet)</span></a>\n"
                : ">\(htmlEscape(l.title))</a>\n"
        }
        s += "      </nav>\n    </div>\n  </div>"
        return s
    }
}
