/// The organization bar of this portal: every feature's sections, each declared beside the
/// feature's routes. A new feature with pages in an organization adds its `menu` here.
extension OrgMenu {
    static let portal = OrgMenu(OrganizationsController.menu + DashboardController.menu + TeamController.menu + AuditLogController.menu
        + PayoutsController.menu + ReportsController.menu + APIKeysController.menu + AppsController.menu + WebhooksController.menu + APILogsController.menu + APIReferenceController.menu)
}
